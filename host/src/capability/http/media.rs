//! The WIT `media` adapter: media files read and sent by the host, so their bytes never enter
//! guest memory.
//!
//! `send-range` is two requests joined by a stream: a ranged `GET` of the media file and the
//! connector's upload request, whose body is that `GET`'s body as it arrives. Each is admitted
//! like an `http.send` request (egress policy, rate buckets, the call's deadline); the host holds
//! one network buffer at a time, charged to the call as a fixed window.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use wasmtime::component::Resource;

use super::HttpState;
use super::host::{Failure, transport_error};
use crate::runtime::wit::http::{HttpError, Method, Request, Response};
use crate::runtime::wit::media::{self, TransferError};

/// What the host holds for one open media file.
#[derive(Debug, Clone)]
pub struct MediaSource {
    url: String,
    size: Option<u64>,
    mime_type: Option<String>,
}

/// Host memory charged per open media file, besides its URL.
const SOURCE_OVERHEAD: usize = 256;

/// Host memory charged while a range streams through: the buffers in flight.
const STREAM_WINDOW: usize = 256 << 10;

type Answer<T> = wasmtime::Result<Result<T, TransferError>>;

impl media::Host for HttpState {}

impl media::HostSource for HttpState {
    async fn open(&mut self, url: String) -> Answer<Resource<MediaSource>> {
        self.memory.charge(url.len() + SOURCE_OVERHEAD)?;
        let (size, mime_type) = match self.probe(&url).await {
            Ok(found) => found,
            Err(refused) => return Ok(Err(refused)),
        };
        let source = MediaSource {
            url,
            size,
            mime_type,
        };
        Ok(Ok(self.sources.push(source)?))
    }

    fn size(&mut self, source: Resource<MediaSource>) -> wasmtime::Result<Option<u64>> {
        Ok(self.sources.get(&source)?.size)
    }

    fn mime_type(&mut self, source: Resource<MediaSource>) -> wasmtime::Result<Option<String>> {
        Ok(self.sources.get(&source)?.mime_type.clone())
    }

    async fn send_range(
        &mut self,
        source: Resource<MediaSource>,
        offset: u64,
        length: u64,
        upload: Request,
    ) -> Answer<Response> {
        let source = self.sources.get(&source)?.clone();
        if let Err(refused) = self.check_range(&source, offset, length, &upload) {
            return Ok(Err(refused));
        }
        self.memory.hold_transient(STREAM_WINDOW)?;
        let answer = self.stream_range(&source, offset, length, upload).await;
        self.memory.hold_transient(0)?;
        match answer {
            Ok(response) => Ok(Ok(response)),
            Err(Streamed::Refused(error)) => Ok(Err(error)),
            Err(Streamed::Memory(exceeded)) => Err(exceeded.into()),
        }
    }

    fn drop(&mut self, source: Resource<MediaSource>) -> wasmtime::Result<()> {
        self.sources.delete(source)?;
        Ok(())
    }
}

/// Why a range was not sent.
enum Streamed {
    Refused(TransferError),
    Memory(crate::capability::memory::MemoryExceeded),
}

impl HttpState {
    /// Learns a media file's size and type: `HEAD`, or a one-byte `GET` when the server
    /// refuses `HEAD` or leaves its length out.
    async fn probe(&mut self, url: &str) -> Result<(Option<u64>, Option<String>), TransferError> {
        let source = TransferError::Source;
        let (checked, timeout) = self.admit(url, None).await.map_err(source)?;
        let head = self
            .builder(Method::Head, checked, timeout, &[])
            .map_err(source)?
            .send()
            .await
            .map_err(|e| source(transport_error(e)))?;
        let mime_type = header(&head, CONTENT_TYPE.as_str());
        let length = header(&head, CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok());
        if head.status().is_success() && length.is_some() {
            return Ok((length, mime_type));
        }
        let (checked, timeout) = self.admit(url, None).await.map_err(source)?;
        let first = self
            .builder(Method::Get, checked, timeout, &[])
            .map_err(source)?
            .header(RANGE, "bytes=0-0")
            .send()
            .await
            .map_err(|e| source(transport_error(e)))?;
        let mime_type = header(&first, CONTENT_TYPE.as_str()).or(mime_type);
        match first.status().as_u16() {
            206 => {
                let total = header(&first, CONTENT_RANGE.as_str())
                    .and_then(|v| v.rsplit_once('/').and_then(|(_, t)| t.parse().ok()));
                Ok((total, mime_type))
            }
            // The whole file in answer to a range: its length is its size. The body is left
            // unread (the connection closes).
            200 => Ok((first.content_length(), mime_type)),
            status => Err(TransferError::SourceStatus(status)),
        }
    }

    fn check_range(
        &self,
        source: &MediaSource,
        offset: u64,
        length: u64,
        upload: &Request,
    ) -> Result<(), TransferError> {
        if length == 0 {
            return Err(TransferError::BadRange("an empty range".into()));
        }
        if length > self.limits.max_transfer {
            return Err(TransferError::BadRange(format!(
                "{length} bytes is over the host's transfer cap of {}",
                self.limits.max_transfer
            )));
        }
        let end = offset
            .checked_add(length)
            .ok_or_else(|| TransferError::BadRange("the range ends past 2^64 bytes".into()))?;
        if let Some(size) = source.size
            && end > size
        {
            return Err(TransferError::BadRange(format!(
                "bytes {offset}-{} of a {size}-byte file",
                end - 1
            )));
        }
        if !upload.body.is_empty() {
            return Err(TransferError::Upload(HttpError::InvalidRequest(
                "the upload's body must be empty: the host sends the range as its body".into(),
            )));
        }
        // Refused before the media file is read (`admit` checks it again, with the budget).
        if let Err(denied) = self.policy.check(&upload.url) {
            return Err(TransferError::Upload(HttpError::Denied(denied.0)));
        }
        Ok(())
    }

    /// The ranged `GET`, then the upload with its body streamed from it.
    async fn stream_range(
        &mut self,
        source: &MediaSource,
        offset: u64,
        length: u64,
        upload: Request,
    ) -> Result<Response, Streamed> {
        let refused = |e: TransferError| Streamed::Refused(e);
        let last = offset + length - 1;
        let (checked, timeout) = self
            .admit(&source.url, None)
            .await
            .map_err(|e| refused(TransferError::Source(e)))?;
        let read = self
            .builder(Method::Get, checked, timeout, &[])
            .map_err(|e| refused(TransferError::Source(e)))?
            .header(RANGE, format!("bytes={offset}-{last}"))
            .send()
            .await
            .map_err(|e| refused(TransferError::Source(transport_error(e))))?;
        // A server that ignores `Range` answers the whole file: the bytes before the range are
        // read and dropped (slower for late parts, still one buffer at a time).
        let whole_file = read.status().as_u16() == 200
            && read
                .content_length()
                .is_none_or(|len| len >= offset + length);
        let ranged = read.status().as_u16() == 206
            && header(&read, CONTENT_RANGE.as_str())
                .is_some_and(|v| v.starts_with(&format!("bytes {offset}-{last}/")));
        if !ranged && !whole_file {
            return Err(refused(TransferError::SourceStatus(read.status().as_u16())));
        }
        let skip = if ranged { 0 } else { offset };

        let (checked, timeout) = self
            .admit(&upload.url, upload.timeout_ms)
            .await
            .map_err(|e| refused(TransferError::Upload(e)))?;
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        // Ends once the range is sent, so a whole-file answer is not read past it.
        let body = read
            .bytes_stream()
            .scan((skip, length), move |(skip, left), chunk| {
                let chunk = match chunk {
                    Err(error) => Some(Err(error)),
                    Ok(_) if *left == 0 => None,
                    Ok(mut chunk) => {
                        let skipped = (*skip).min(chunk.len() as u64);
                        *skip -= skipped;
                        let _ = chunk.split_to(skipped as usize);
                        chunk.truncate((*left).min(chunk.len() as u64) as usize);
                        *left -= chunk.len() as u64;
                        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        Some(Ok::<_, reqwest::Error>(chunk))
                    }
                };
                std::future::ready(chunk)
            });
        let answer = self
            .builder(upload.method, checked, timeout, &upload.headers)
            .map_err(|e| refused(TransferError::Upload(e)))?
            .header(CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await;
        let moved = sent.load(Ordering::Relaxed);
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) if moved < length => {
                return Err(refused(TransferError::SourceShort(moved)));
            }
            Err(error) => return Err(refused(TransferError::Upload(transport_error(error)))),
        };
        match self.read_answer(answer).await {
            Ok(response) => Ok(response),
            Err(Failure::Http(error)) => Err(refused(TransferError::Upload(error))),
            Err(Failure::Memory(exceeded)) => Err(Streamed::Memory(exceeded)),
        }
    }
}

fn header(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

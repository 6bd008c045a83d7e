//! FILE_UPLOAD: one `tt-upload` continuation per chunk. Each reads its byte range of the media
//! through the `http` import (`Range` requests of at most [`FETCH_PIECE`] bytes, so memory
//! holds one chunk, never the file) and `PUT`s it to TikTok's upload URL with `Content-Range`.
//!
//! Resuming: the publish id is the job's recovery point from the moment init answered, and the
//! upload URL sits in the vault. A continuation that runs again (its earlier run failed, or its
//! worker died after TikTok took the chunk but before the host recorded it) first asks TikTok
//! how many bytes it holds (`uploaded_bytes`) and continues from that chunk, so no chunk is sent
//! twice and init is never called again.

use postd_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chunks::ChunkPlan;
use super::status::{self, Poll};
use crate::api;

/// The continuation kind.
pub const TASK: &str = "tt-upload";

/// The most bytes read from the media server in one request (under the host's answer cap).
pub const FETCH_PIECE: u64 = 8 * 1024 * 1024;

/// The chunk size used unless the `chunk-size-mb` setting says otherwise.
pub const DEFAULT_CHUNK_MB: u64 = 10;

/// What an upload continuation carries (no secret: the upload URL stays in the vault).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Upload {
    /// The publish.
    pub publish_id: String,
    /// Where the video's bytes are read from.
    pub media_url: String,
    /// The video's MIME type.
    pub content_type: String,
    /// Total bytes.
    pub video_size: u64,
    /// Bytes per chunk but the last.
    pub chunk_size: u64,
    /// Number of chunks.
    pub total: u64,
    /// The chunk to send (0-based).
    pub next: u64,
    /// The status poll to start once the upload is complete.
    pub poll: Poll,
}

impl Upload {
    fn plan(&self) -> ChunkPlan {
        ChunkPlan {
            video_size: self.video_size,
            chunk_size: self.chunk_size,
            total: self.total,
        }
    }
}

/// The `chunk-size-mb` setting, in bytes.
pub fn preferred_chunk() -> u64 {
    vault::app_setting("chunk-size-mb")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_CHUNK_MB)
        * super::chunks::MB
}

/// The vault name holding the upload URL of `publish_id`.
pub fn url_secret(publish_id: &str) -> String {
    let digest = Sha256::digest(publish_id.as_bytes());
    format!("upload-url:{}", &hex::encode(digest)[..24])
}

/// `bytes first-last/total` of a `Content-Range` answer header, parsed.
fn content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

fn media_error(url: &str, response: &http::Response) -> Error {
    match response.status {
        404 | 410 => Error::invalid_input(format!(
            "the video at {url} is gone (HTTP {})",
            response.status
        )),
        401 | 403 => Error::invalid_input(format!(
            "the video at {url} is not readable (HTTP {})",
            response.status
        )),
        status => match Error::from_status(status, &response.headers, http::now_unix()) {
            Error::AuthExpired(_) | Error::PermissionMissing(_) => Error::invalid_input(format!(
                "the video at {url} is not readable (HTTP {status})"
            )),
            other => other,
        },
    }
}

/// The video's size: from the post when given, else from a one-byte `Range` request.
pub fn probe_size(media: &Media) -> Result<u64> {
    if let Some(size) = media.size_bytes.filter(|s| *s > 0) {
        return Ok(size);
    }
    let response = http::Request::get(&media.url)
        .header("range", "bytes=0-0")
        .send()?;
    match response.status {
        206 => response
            .header("content-range")
            .and_then(content_range)
            .map(|(_, _, total)| total)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "the media server answered a range request for {} without Content-Range",
                    media.url
                ))
            }),
        200 => Ok(response.body.len() as u64),
        _ => Err(media_error(&media.url, &response)),
    }
}

/// Reads bytes `first..=last` of the media, in pieces of at most [`FETCH_PIECE`].
pub fn fetch_range(url: &str, first: u64, last: u64, video_size: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity((last - first + 1) as usize);
    let mut at = first;
    while at <= last {
        let end = (at + FETCH_PIECE - 1).min(last);
        let response = http::Request::get(url)
            .header("range", format!("bytes={at}-{end}"))
            .send()?;
        match response.status {
            206 => {
                let announced = response.header("content-range").and_then(content_range);
                if announced.is_some_and(|(a, b, total)| a != at || b != end || total != video_size)
                    || response.body.len() as u64 != end - at + 1
                {
                    return Err(Error::invalid_input(format!(
                        "the media at {url} changed during the upload (asked for bytes {at}-{end}/{video_size})"
                    )));
                }
                bytes.extend_from_slice(&response.body);
            }
            // A server without range support: acceptable only when the whole file is the chunk.
            200 if at == 0 && end + 1 == video_size && response.body.len() as u64 == video_size => {
                bytes.extend_from_slice(&response.body);
            }
            200 => {
                return Err(Error::invalid_input(format!(
                    "the media server of {url} ignores Range requests; videos over one chunk need them"
                )));
            }
            _ => return Err(media_error(url, &response)),
        }
        at = end + 1;
    }
    Ok(bytes)
}

/// The continuation that sends chunk `upload.next`.
pub fn schedule(upload: &Upload) -> Result<PublishOutcome> {
    let waiting_for = format!("uploading chunk {} of {}", upload.next + 1, upload.total);
    queue::continue_with(TASK, upload, 0, waiting_for)
}

/// Runs one `tt-upload` continuation.
pub fn handle(context: &TaskContext) -> Result<PublishOutcome> {
    let mut upload: Upload = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("bad {TASK} payload: {e}")))?;
    let token = oauth::tokens::access_token()?;
    if context.job.attempt > 1 {
        // This chunk was tried before: TikTok may hold it already.
        if let Some(done) = reconcile(&token, &mut upload)? {
            return Ok(done);
        }
    }
    send_chunk(upload)
}

/// Moves `upload.next` to where TikTok's `uploaded_bytes` says the upload stands; when the upload
/// is already complete, starts the status poll instead.
fn reconcile(token: &str, upload: &mut Upload) -> Result<Option<PublishOutcome>> {
    let status = status::fetch(token, &upload.publish_id)?;
    let held = status.uploaded_bytes.unwrap_or(0);
    if status.status != "PROCESSING_UPLOAD" || held >= upload.video_size {
        return status::after(&mut upload.poll, &status).map(Some);
    }
    match upload.plan().chunk_at(held) {
        Some(chunk) => {
            if chunk != upload.next {
                log::info(
                    "resuming the upload where TikTok stands",
                    &[
                        ("publish_id", upload.publish_id.as_str()),
                        ("chunk", &(chunk + 1).to_string()),
                    ],
                );
            }
            upload.next = chunk;
            Ok(None)
        }
        None => Err(Error::platform(
            "upload-out-of-step",
            format!(
                "TikTok holds {held} bytes of publish {}, not a chunk boundary",
                upload.publish_id
            ),
        )),
    }
}

/// Sends chunk `upload.next`, then schedules the next chunk or the status poll.
fn send_chunk(mut upload: Upload) -> Result<PublishOutcome> {
    let secret = url_secret(&upload.publish_id);
    let upload_url = vault::get(&secret)?.ok_or_else(|| {
        Error::platform(
            "upload-url-lost",
            format!(
                "the upload URL of publish {} is not stored (the worker stopped between init and its commit); replay the post to start a new upload",
                upload.publish_id
            ),
        )
    })?;
    let (first, last) = upload.plan().range(upload.next);
    let bytes = fetch_range(&upload.media_url, first, last, upload.video_size)?;
    let response = http::Request::put(&upload_url)
        .header(
            "content-range",
            format!("bytes {first}-{last}/{}", upload.video_size),
        )
        .body(bytes, &upload.content_type)
        .send()?;
    match response.status {
        206 if upload.next + 1 < upload.total => {
            upload.next += 1;
            schedule(&upload)
        }
        201 | 200 => {
            vault::delete(&secret)?;
            status::schedule(
                &upload.poll,
                status::PROCESSING_BACKOFF_SECS[0],
                "uploaded; TikTok is processing the video".into(),
            )
        }
        // TikTok expects another range: a chunk of an earlier run landed. Reconcile next time.
        416 => Err(Error::transient(format!(
            "TikTok expects another chunk than {} of publish {}",
            upload.next + 1,
            upload.publish_id
        ))),
        _ => Err(crate::errors::data(&response, api::scopes::PUBLISH)
            .err()
            .unwrap_or_else(|| {
                Error::platform(
                    "upload-unexpected",
                    format!("chunk upload answered HTTP {}", response.status),
                )
            })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(
            content_range("bytes 0-0/17825792"),
            Some((0, 0, 17_825_792))
        );
        assert_eq!(content_range("bytes */100"), None);
        assert_eq!(content_range("items 0-1/2"), None);
    }

    #[test]
    fn upload_secrets_are_valid_vault_names_per_publish() {
        let a = url_secret("v_pub_file~v2-1.123");
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:-".contains(&b))
        );
        assert_ne!(a, url_secret("v_pub_file~v2-1.124"));
    }
}

//! FILE_UPLOAD: one `tt-upload` continuation per chunk. Each streams its byte range from the
//! media URL to TikTok's upload URL (`PUT` with `Content-Range`) through the host's
//! `media::Source`: the chunk never enters this component's memory, whatever its size.
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

/// The video's size: the media server's word, else the post's.
pub fn probe_size(media: &Media) -> Result<u64> {
    media::Source::open(&media.url)?.require_size(media.size_bytes.filter(|s| *s > 0))
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
    let video = media::Source::open(&upload.media_url)?;
    if video.size().is_some_and(|size| size != upload.video_size) {
        return Err(Error::invalid_input(format!(
            "the media at {} changed during the upload ({} bytes, was {})",
            upload.media_url,
            video.size().unwrap_or_default(),
            upload.video_size
        )));
    }
    let put = http::Request::put(&upload_url)
        .header(
            "content-range",
            format!("bytes {first}-{last}/{}", upload.video_size),
        )
        .header("content-type", &upload.content_type);
    let response = video.send_range(first, last - first + 1, put)?;
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
    fn upload_secrets_are_valid_vault_names_per_publish() {
        let a = url_secret("v_pub_file~v2-1.123");
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:-".contains(&b))
        );
        assert_ne!(a, url_secret("v_pub_file~v2-1.124"));
    }
}

//! Chunk uploads to the `upload_url` from video init: `PUT` with `Content-Range: bytes first-last/total`,
//! in order, each chunk `chunk_size` bytes except the last (which takes the remainder); 206 for an
//! intermediate chunk, 201 once the file is complete.

use axum::http::StatusCode;
use axum::response::Response;

use super::Source;
use super::errors::TtError;
use crate::http::{self, Req, parse_content_range};
use crate::request_log::lock;
use crate::state::SandboxState;

const VIDEO_TYPES: &[&str] = &["video/mp4", "video/quicktime", "video/webm"];

fn upload_error(message: impl Into<String>) -> TtError {
    TtError::new("invalid_file_upload", message)
}

pub(super) fn put_chunk(state: &SandboxState, req: &Req) -> Response {
    put(state, req).unwrap_or_else(TtError::into_response)
}

fn put(state: &SandboxState, req: &Req) -> Result<Response, TtError> {
    let upload_id = req.q("upload_id").unwrap_or_default();
    let token = req.q("upload_token").unwrap_or_default();
    let content_type = req.header("content-type").unwrap_or_default();
    if !VIDEO_TYPES.iter().any(|t| content_type.starts_with(t)) {
        return Err(upload_error(
            "Content-Type must be video/mp4, video/quicktime or video/webm",
        ));
    }
    let (first, last, total) = req
        .header("content-range")
        .and_then(parse_content_range)
        .ok_or_else(|| upload_error("Content-Range must be `bytes {first}-{last}/{total}`"))?;
    let now = state.clock.now_unix();
    let mut tt = lock(&state.tiktok);
    let publish = tt
        .publishes
        .values_mut()
        .find(|p| matches!(&p.source, Source::File { upload_id: u, .. } if u == upload_id))
        .ok_or_else(|| {
            upload_error("upload_id was not found").with_status(StatusCode::NOT_FOUND)
        })?;
    let Source::File {
        video_size,
        chunk_size,
        total_chunks,
        uploaded,
        upload_token,
        completed_at,
        ..
    } = &mut publish.source
    else {
        return Err(upload_error("not a file upload"));
    };
    if upload_token != token {
        return Err(upload_error("upload_token does not match").with_status(StatusCode::FORBIDDEN));
    }
    if completed_at.is_some() {
        return Err(upload_error("the upload is already complete"));
    }
    if total != *video_size {
        return Err(upload_error(format!(
            "Content-Range total must be video_size ({video_size})"
        )));
    }
    if first != *uploaded {
        return Err(upload_error(format!(
            "chunks are uploaded in order: the next chunk starts at byte {uploaded}"
        ))
        .with_status(StatusCode::RANGE_NOT_SATISFIABLE));
    }
    let index = first / *chunk_size;
    let expected = if index + 1 >= *total_chunks {
        *video_size - first
    } else {
        *chunk_size
    };
    if last < first || last - first + 1 != expected {
        return Err(upload_error(format!(
            "chunk {index} must be {expected} bytes: bytes {first}-{}",
            first + expected - 1
        )));
    }
    if req.body.len() as u64 != expected {
        return Err(upload_error(format!(
            "the body holds {} bytes but Content-Range announces {expected}",
            req.body.len()
        )));
    }
    *uploaded += expected;
    if *uploaded == *video_size {
        *completed_at = Some(now);
        return Ok(http::empty(StatusCode::CREATED));
    }
    Ok(http::empty(StatusCode::PARTIAL_CONTENT))
}

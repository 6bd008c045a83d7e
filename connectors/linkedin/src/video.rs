//! Video posts: the upload (`initializeUpload` with the size, each part `PUT` as LinkedIn's
//! instructions say, `finalizeUpload` with the parts' etags in order), then status polls as
//! continuations until the video is `AVAILABLE` (the post is created) or `PROCESSING_FAILED`.
//!
//! Source: Videos API
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api>).

use postd_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::Author;
use crate::api;
use crate::publish::{self, Initialized, escape_commentary, published};
use crate::recovery::{self, Point, VIDEO};

/// Continuation that follows a video's processing and then creates the post.
pub const VIDEO_TASK: &str = "li-video-status";

/// Wait between video status checks.
const VIDEO_POLL_MS: u64 = 10_000;
/// Status checks (about an hour) before a video still processing counts as a passing failure.
const MAX_VIDEO_POLLS: u32 = 360;

/// Uploads the video (unless `uploaded` names one an earlier attempt finalized), records it as
/// the recovery point and enqueues the first status check.
pub fn publish(
    post: &Post,
    author: &Author,
    media: &Media,
    uploaded: Option<String>,
    token: &str,
) -> Result<PublishOutcome> {
    let urn = match uploaded {
        Some(urn) => urn,
        None => {
            let urn = upload(author, media, token)?;
            VIDEO.checkpoint(&urn)?;
            urn
        }
    };
    let task = VideoTask {
        author: author.urn(),
        video: urn.clone(),
        text: post.text.clone(),
        title: post.option("title").map(str::to_string),
        polls: 0,
    };
    let waiting_for = format!("waiting for LinkedIn to process video {urn}");
    queue::continue_with(VIDEO_TASK, &task, VIDEO_POLL_MS, waiting_for)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoUpload {
    video: String,
    #[serde(default)]
    upload_instructions: Vec<Instruction>,
    #[serde(default)]
    upload_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instruction {
    upload_url: String,
    first_byte: u64,
    last_byte: u64,
}

/// `initializeUpload` with the size, `PUT` each part (collecting its `etag`), `finalizeUpload`
/// with the etags in order; answers the video URN. The parts stream from the media URL to
/// LinkedIn through the host (`media::Source`): the video never enters this component's memory.
fn upload(author: &Author, media: &Media, token: &str) -> Result<String> {
    let video = media::Source::open(&media.url)?;
    let size = video.require_size(media.size_bytes)?;
    let init: Initialized<VideoUpload> = api::send_json(
        http::Request::post(api::url("rest/videos?action=initializeUpload")).json(&json!({
            "initializeUploadRequest": {
                "owner": author.urn(),
                "fileSizeBytes": size,
                "uploadCaptions": false,
                "uploadThumbnail": false
            }
        }))?,
        token,
    )?;
    let mut etags = Vec::new();
    for part in &init.value.upload_instructions {
        let (first, last) = (part.first_byte, part.last_byte);
        if first > last || last >= size {
            return Err(Error::platform(
                "upload-instructions",
                format!("LinkedIn asked for bytes {first}-{last} of a {size} byte video"),
            ));
        }
        let put = http::Request::put(part.upload_url.clone())
            .header("content-type", "application/octet-stream");
        let response = video.send_range(first, last - first + 1, put)?;
        if !response.is_success() {
            return Err(crate::errors::from_response(&response, &api::version()));
        }
        let etag = response.header("etag").ok_or_else(|| {
            Error::platform("missing-etag", "a video part's upload answered no etag")
        })?;
        etags.push(etag.to_string());
    }
    api::send(
        http::Request::post(api::url("rest/videos?action=finalizeUpload")).json(&json!({
            "finalizeUploadRequest": {
                "video": init.value.video,
                "uploadToken": init.value.upload_token,
                "uploadedPartIds": etags
            }
        }))?,
        token,
    )?;
    Ok(init.value.video)
}

/// A video's processing, carried between continuations (no secrets).
#[derive(Serialize, Deserialize)]
struct VideoTask {
    author: String,
    video: String,
    text: String,
    title: Option<String>,
    polls: u32,
}

#[derive(Deserialize)]
struct VideoStatus {
    #[serde(default)]
    status: String,
}

/// One status check: post when `AVAILABLE`, fail on `PROCESSING_FAILED`, check again otherwise.
/// A post already made (or made by a create whose answer was lost) is reported instead.
pub fn handle_video_task(context: TaskContext) -> Result<PublishOutcome> {
    let point = Point::parse(context.job.recovery_point.as_deref());
    if let Point::Post(urn) = &point {
        return Ok(published(urn));
    }
    let mut task: VideoTask = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("malformed video task: {e}")))?;
    let token = oauth::tokens::access_token()?;
    if let Point::Attempted(attempt) = &point {
        let commentary = escape_commentary(&task.text);
        if let Some(urn) = recovery::adopt(&task.author, &commentary, attempt, &token)? {
            return Ok(published(&urn));
        }
    }
    let status: VideoStatus = api::send_json(
        http::Request::get(api::url(&format!(
            "rest/videos/{}",
            http::encode(&task.video)
        ))),
        &token,
    )?;
    match status.status.as_str() {
        "AVAILABLE" => {
            let mut content = json!({ "media": { "id": task.video } });
            if let Some(title) = &task.title {
                content["media"]["title"] = json!(title);
            }
            let urn = publish::create(
                &task.author,
                &task.text,
                Some(content),
                Some(&task.video),
                &token,
            )?;
            Ok(published(&urn))
        }
        "PROCESSING_FAILED" => Err(Error::invalid_input(format!(
            "LinkedIn could not process video {}",
            task.video
        ))),
        other if task.polls >= MAX_VIDEO_POLLS => Err(Error::transient(format!(
            "video {} is still {other} after {MAX_VIDEO_POLLS} checks",
            task.video
        ))),
        other => {
            task.polls += 1;
            let waiting_for = format!("video {} is {other}", task.video);
            queue::continue_with(VIDEO_TASK, &task, VIDEO_POLL_MS, waiting_for)
        }
    }
}

//! Posts: text (with an optional link as an article), images (`initializeUpload`, then `PUT`
//! the bytes), one video (`initializeUpload`, the parts, `finalizeUpload` with their etags, then
//! status polls as continuations), and delete.
//!
//! Recovery points: `li-video:<urn>` once a video is uploaded and finalized (a retry polls that
//! video instead of uploading again), and `li-post:<urn>` once the post exists (a retry or a
//! repeated continuation reports that post instead of posting twice).

use postd_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::accounts::{self, Author};
use crate::api;

/// Continuation that follows a video's processing and then creates the post.
pub const VIDEO_TASK: &str = "li-video-status";

/// Longest commentary LinkedIn accepts.
pub const MAX_TEXT_CHARS: u32 = 3_000;
/// Most images in one (multi-image) post.
pub const MAX_IMAGES: u32 = 20;

const POST_POINT: &str = "li-post:";
const VIDEO_POINT: &str = "li-video:";
/// Wait between video status checks.
const VIDEO_POLL_MS: u64 = 10_000;
/// Status checks (about an hour) before a video still processing counts as a passing failure.
const MAX_VIDEO_POLLS: u32 = 360;

/// Characters LinkedIn's "little text" commentary format reserves; unescaped, they cut a post
/// short or turn into markup. `#` stays as it is so hashtags keep working.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '*', '_', '~',
];

/// The commentary with the reserved characters escaped.
pub fn escape_commentary(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The post's public URL.
fn post_url(urn: &str) -> String {
    format!("https://www.linkedin.com/feed/update/{urn}")
}

fn published(urn: &str) -> PublishOutcome {
    PublishOutcome::Published(Published {
        post_id: urn.to_string(),
        url: Some(post_url(urn)),
        scheduled_for: None,
    })
}

/// What the post will carry, checked before anything is sent.
fn check(post: &Post) -> Result<()> {
    if post.text.chars().count() > MAX_TEXT_CHARS as usize {
        return Err(Error::invalid_input(format!(
            "LinkedIn posts are at most {MAX_TEXT_CHARS} characters"
        )));
    }
    let videos = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Video)
        .count();
    if videos > 0 && post.media.len() > 1 {
        return Err(Error::invalid_input(
            "a LinkedIn video post carries exactly one video and no images",
        ));
    }
    if post.media.len() > MAX_IMAGES as usize {
        return Err(Error::invalid_input(format!(
            "a LinkedIn post holds at most {MAX_IMAGES} images"
        )));
    }
    if post.text.trim().is_empty() && post.media.is_empty() && post.link.is_none() {
        return Err(Error::invalid_input(
            "a LinkedIn post needs text, a link or media",
        ));
    }
    if !post.media.is_empty() && post.link.is_some() {
        return Err(Error::invalid_input(
            "a LinkedIn post carries either media or a link article, not both",
        ));
    }
    Ok(())
}

/// Publishes a post (LinkedIn cannot schedule: the host holds the job until its time).
pub fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
    if let Some(urn) = job
        .recovery_point
        .as_deref()
        .and_then(|p| p.strip_prefix(POST_POINT))
    {
        log::info(
            "post already created by an earlier attempt",
            &[("post", urn)],
        );
        return Ok(published(urn));
    }
    let author = accounts::author(&post.account_id)?;
    check(&post)?;
    let token = api::token()?;
    if let Some(video) = post.media.iter().find(|m| m.kind == MediaKind::Video) {
        let urn = match job
            .recovery_point
            .as_deref()
            .and_then(|p| p.strip_prefix(VIDEO_POINT))
        {
            Some(urn) => urn.to_string(),
            None => {
                let urn = upload_video(&author, video, &token)?;
                queue::checkpoint(&format!("{VIDEO_POINT}{urn}"))?;
                urn
            }
        };
        let task = VideoTask {
            author: author.urn(),
            video: urn.clone(),
            text: post.text.clone(),
            title: option(&post, "title"),
            polls: 0,
        };
        queue::enqueue(
            &Task::new(VIDEO_TASK, serde_json::to_string(&task)?),
            VIDEO_POLL_MS,
        )?;
        return Ok(PublishOutcome::InProgress(format!(
            "waiting for LinkedIn to process video {urn}"
        )));
    }
    let mut images = Vec::new();
    for image in &post.media {
        images.push(upload_image(&author, image, &token)?);
    }
    let content = match images.as_slice() {
        [] => post.link.as_ref().map(|link| {
            json!({ "article": { "source": link, "title": option(&post, "title").unwrap_or_else(|| link.clone()) } })
        }),
        [one] => Some(json!({ "media": { "id": one } })),
        many => Some(json!({ "multiImage": { "images": many.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() } })),
    };
    let urn = create(&author.urn(), &post.text, content, &token)?;
    Ok(published(&urn))
}

fn option(post: &Post, name: &str) -> Option<String> {
    post.options
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.trim().is_empty())
}

/// `POST /rest/posts`; the new post's URN comes back in `x-restli-id`. Records it as the job's
/// recovery point at once.
fn create(author: &str, text: &str, content: Option<Value>, token: &str) -> Result<String> {
    let mut body = json!({
        "author": author,
        "commentary": escape_commentary(text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": []
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false
    });
    if let Some(content) = content {
        body["content"] = content;
    }
    let response = api::send(
        http::Request::post(api::url("rest/posts")).json(&body)?,
        token,
    )?;
    let urn = response
        .header("x-restli-id")
        .or_else(|| response.header("x-linkedin-id"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::platform(
                "missing-post-id",
                "LinkedIn created the post but sent no x-restli-id header",
            )
        })?;
    queue::checkpoint(&format!("{POST_POINT}{urn}"))?;
    log::info("post created", &[("post", &urn)]);
    Ok(urn)
}

/// Fetches a media item's bytes from its URL.
fn fetch(media: &Media) -> Result<(Vec<u8>, String)> {
    let response = http::Request::get(media.url.clone()).send()?;
    if response.status >= 500 {
        return Err(Error::transient(format!(
            "fetching {} answered HTTP {}",
            media.url, response.status
        )));
    }
    if !response.is_success() {
        return Err(Error::invalid_input(format!(
            "fetching {} answered HTTP {}",
            media.url, response.status
        )));
    }
    if response.body.is_empty() {
        return Err(Error::invalid_input(format!("{} is empty", media.url)));
    }
    let content_type = media
        .mime_type
        .clone()
        .or_else(|| response.header("content-type").map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok((response.body, content_type))
}

#[derive(Deserialize)]
struct Initialized<T> {
    value: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageUpload {
    upload_url: String,
    image: String,
}

/// `initializeUpload`, then `PUT` the bytes; answers the image URN.
fn upload_image(author: &Author, media: &Media, token: &str) -> Result<String> {
    let (bytes, content_type) = fetch(media)?;
    let init: Initialized<ImageUpload> = api::send_json(
        http::Request::post(api::url("rest/images?action=initializeUpload"))
            .json(&json!({ "initializeUploadRequest": { "owner": author.urn() } }))?,
        token,
    )?;
    let response = http::Request::put(init.value.upload_url)
        .bearer(token)
        .body(bytes, &content_type)
        .send()?;
    if !response.is_success() {
        return Err(crate::errors::from_response(&response, &api::version()));
    }
    Ok(init.value.image)
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
/// with the etags in order; answers the video URN.
fn upload_video(author: &Author, media: &Media, token: &str) -> Result<String> {
    let (bytes, _) = fetch(media)?;
    let init: Initialized<VideoUpload> = api::send_json(
        http::Request::post(api::url("rest/videos?action=initializeUpload")).json(&json!({
            "initializeUploadRequest": {
                "owner": author.urn(),
                "fileSizeBytes": bytes.len(),
                "uploadCaptions": false,
                "uploadThumbnail": false
            }
        }))?,
        token,
    )?;
    let mut etags = Vec::new();
    for part in &init.value.upload_instructions {
        let (first, last) = (part.first_byte as usize, part.last_byte as usize);
        let slice = bytes.get(first..=last).ok_or_else(|| {
            Error::platform(
                "upload-instructions",
                format!(
                    "LinkedIn asked for bytes {first}-{last} of a {} byte video",
                    bytes.len()
                ),
            )
        })?;
        let response = http::Request::put(part.upload_url.clone())
            .body(slice.to_vec(), "application/octet-stream")
            .send()?;
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
pub fn handle_video_task(context: TaskContext) -> Result<PublishOutcome> {
    if let Some(urn) = context
        .job
        .recovery_point
        .as_deref()
        .and_then(|p| p.strip_prefix(POST_POINT))
    {
        return Ok(published(urn));
    }
    let mut task: VideoTask = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("malformed video task: {e}")))?;
    let token = api::token()?;
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
            let urn = create(&task.author, &task.text, Some(content), &token)?;
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
            queue::enqueue(
                &Task::new(VIDEO_TASK, serde_json::to_string(&task)?),
                VIDEO_POLL_MS,
            )?;
            Ok(PublishOutcome::InProgress(format!(
                "video {} is {other}",
                task.video
            )))
        }
    }
}

/// `DELETE /rest/posts/{urn}` (204). A post that is already gone counts as deleted.
pub fn delete(request: &DeleteRequest) -> Result<()> {
    accounts::author(&request.account_id)?;
    let token = api::token()?;
    let call = http::Request::delete(api::url(&format!(
        "rest/posts/{}",
        http::encode(&request.post_id)
    )));
    match api::send(call, &token) {
        Ok(_) => Ok(()),
        Err(Error::InvalidInput(why)) if why.contains("HTTP 404") || why.contains("NOT_FOUND") => {
            log::info("post already deleted", &[("post", &request.post_id)]);
            Ok(())
        }
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_escaped_and_hashtags_kept() {
        assert_eq!(
            escape_commentary("Hello (world) @you #news_1 [x]"),
            "Hello \\(world\\) \\@you #news\\_1 \\[x\\]"
        );
    }
}

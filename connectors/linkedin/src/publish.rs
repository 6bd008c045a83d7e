//! Posts: text (with an optional link as an article), images (`initializeUpload`, then `PUT`
//! the bytes), one video (see [`crate::video`]), and delete.
//!
//! Recovery points (see [`crate::recovery`]): `li-video:<urn>` once a video is uploaded and
//! finalized, a create attempt recorded just before each `POST /rest/posts`, and `li-post:<urn>`
//! once the post exists. A retry or a repeated continuation reports an existing post, looks for
//! the post an attempt whose answer was lost already made, and creates only when there is none.

use postd_sdk::prelude::*;
use postd_sdk::reconcile::CreateAttempt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::{self, Author};
use crate::recovery::{self, POST, Point};
use crate::{api, errors, video};

pub use crate::video::{VIDEO_TASK, handle_video_task};

/// Longest commentary LinkedIn accepts.
pub const MAX_TEXT_CHARS: u32 = 3_000;
/// Most images in one (multi-image) post.
pub const MAX_IMAGES: u32 = 20;

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

/// The outcome reporting post `urn`.
pub(crate) fn published(urn: &str) -> PublishOutcome {
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
    let point = Point::parse(job.recovery_point.as_deref());
    if let Point::Post(urn) = &point {
        log::info(
            "post already created by an earlier attempt",
            &[("post", urn)],
        );
        return Ok(published(urn));
    }
    let author = accounts::author(&post.account_id)?;
    check(&post)?;
    let token = oauth::tokens::access_token()?;
    let uploaded_video = match point {
        Point::Attempted(attempt) => {
            let commentary = escape_commentary(&post.text);
            if let Some(urn) = recovery::adopt(&author.urn(), &commentary, &attempt, &token)? {
                return Ok(published(&urn));
            }
            Some(attempt.marker).filter(|v| !v.is_empty())
        }
        Point::Video(urn) => Some(urn),
        Point::Start | Point::Post(_) => None,
    };
    if let Some(media) = post.media.iter().find(|m| m.kind == MediaKind::Video) {
        return video::publish(&post, &author, media, uploaded_video, &token);
    }
    let mut images = Vec::new();
    for image in &post.media {
        images.push(upload_image(&author, image, &token)?);
    }
    let content = match images.as_slice() {
        [] => post.link.as_ref().map(|link| {
            json!({ "article": { "source": link, "title": post.option("title").map_or_else(|| link.clone(), str::to_string) } })
        }),
        [one] => Some(json!({ "media": { "id": one } })),
        many => Some(json!({ "multiImage": { "images": many.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() } })),
    };
    let urn = create(&author.urn(), &post.text, content, None, &token)?;
    Ok(published(&urn))
}

/// `POST /rest/posts`; the new post's URN comes back in `x-restli-id` and becomes the job's
/// recovery point at once. `video` is the video the post carries, if any.
///
/// A create attempt is recorded as the recovery point just before the call, so that a retry
/// after a lost answer looks for the post before creating again ([`crate::recovery`]). When
/// LinkedIn answers with a refusal (any 4xx) or the host refuses to send the call, nothing was
/// made: the point goes back to [`Point::settled`] and a retry creates without looking. A 5xx, a
/// reset connection or a timeout may come after LinkedIn acted, so the attempt stays.
pub fn create(
    author: &str,
    text: &str,
    content: Option<Value>,
    video: Option<&str>,
    token: &str,
) -> Result<String> {
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
    let request = http::Request::post(api::url("rest/posts")).json(&body)?;
    let version = api::version();
    CreateAttempt::record(video.unwrap_or(""))?;
    let response = match api::versioned(request, &version).bearer(token).try_send() {
        Ok(response) => response,
        Err(lost @ (http::HttpError::Connection(_) | http::HttpError::Timeout)) => {
            return Err(lost.into());
        }
        Err(refused) => {
            queue::checkpoint(&Point::settled(video))?;
            return Err(refused.into());
        }
    };
    if !response.is_success() {
        if response.status < 500 {
            queue::checkpoint(&Point::settled(video))?;
        }
        return Err(errors::from_response(&response, &version));
    }
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
    POST.checkpoint(&urn)?;
    log::info("post created", &[("post", &urn)]);
    Ok(urn)
}

/// Fetches a media item's bytes from its URL.
pub(crate) fn fetch(media: &Media) -> Result<(Vec<u8>, String)> {
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

/// The `value` wrapper of an `initializeUpload` answer.
#[derive(Deserialize)]
pub(crate) struct Initialized<T> {
    pub(crate) value: T,
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
        return Err(errors::from_response(&response, &api::version()));
    }
    Ok(init.value.image)
}

/// `DELETE /rest/posts/{urn}` (204). A post that is already gone counts as deleted.
pub fn delete(request: &DeleteRequest) -> Result<()> {
    accounts::author(&request.account_id)?;
    let token = oauth::tokens::access_token()?;
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

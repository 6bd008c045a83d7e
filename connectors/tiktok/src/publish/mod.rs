//! Publishing: videos (FILE_UPLOAD in chunks, or PULL_FROM_URL from an operator-verified
//! prefix), photo posts, and drafts to the creator's inbox.
//!
//! 1. Direct posts read `creator_info` first (every time: the creator's options change) and
//!    check the options against it ([`options`]); nothing else is sent when they do not fit.
//! 2. Init answers a `publish_id`, recorded at once as the job's recovery point. A job that runs
//!    again with a recovery point never calls init again: it resumes that publish.
//! 3. A FILE_UPLOAD continues with one [`upload`] continuation per chunk, then [`status`]
//!    polls; pulls and photos go straight to polling.

pub mod chunks;
pub mod options;
pub mod status;
pub mod upload;

use postd_sdk::prelude::*;
use serde_json::{Value, json};

use self::options::{CreatorInfo, Mode, Options};
use self::status::Poll;
use self::upload::Upload;
use crate::api::{self, names, scopes};

/// The most images in one photo post.
pub const MAX_PHOTOS: u32 = 35;
/// The longest video title (and photo description) in characters.
pub const MAX_TEXT_CHARS: u32 = 2200;

/// `creator_info/query`.
pub fn creator_info(token: &str) -> Result<CreatorInfo> {
    let request =
        http::Request::post(api::url("v2/post/publish/creator_info/query/")).json(&json!({}))?;
    api::call_as(request, token, scopes::PUBLISH)
}

/// URL prefixes the operator verified with TikTok (`verified-url-prefixes`, comma-separated):
/// media under them is pulled by TikTok; photos must be under one.
fn verified_prefixes() -> Vec<String> {
    vault::app_setting("verified-url-prefixes")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn verified(url: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| url.starts_with(p.as_str()))
}

/// What a post is made of.
enum Content<'a> {
    Video(&'a Media),
    Photos(Vec<&'a Media>),
}

fn content(post: &Post) -> Result<Content<'_>> {
    let videos: Vec<&Media> = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Video)
        .collect();
    let images: Vec<&Media> = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Image)
        .collect();
    match (videos.as_slice(), images.len()) {
        ([video], 0) => Ok(Content::Video(video)),
        ([], 1..) if images.len() as u32 <= MAX_PHOTOS => Ok(Content::Photos(images)),
        ([], 0) => Err(Error::invalid_input(
            "a TikTok post needs one video or 1 to 35 photos; text alone cannot be posted",
        )),
        ([], _) => Err(Error::invalid_input(format!(
            "a TikTok photo post holds at most {MAX_PHOTOS} photos"
        ))),
        _ => Err(Error::invalid_input(
            "a TikTok post holds one video, or photos, not both or several videos",
        )),
    }
}

/// Publishes `post` (see the module docs).
pub fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
    let token = oauth::tokens::access_token()?;
    let mut options = Options::parse(&post.options)?;
    let content = content(&post)?;
    if let Some(open_id) = vault::get(names::OPEN_ID)?
        && open_id != post.account_id
    {
        return Err(Error::invalid_input(format!(
            "account `{}` is not this connection's creator",
            post.account_id
        )));
    }
    if let Some(publish_id) = &job.recovery_point
        && let Resumed::Continues(outcome) = resume(&token, publish_id, &post, &options)?
    {
        return Ok(outcome);
    }
    let (privacy, username) = match options.mode {
        Mode::Draft => (None, String::new()),
        Mode::Direct => {
            let creator = creator_info(&token)?;
            let level = options.check_against(&creator)?;
            (Some(level), creator.creator_username)
        }
    };
    let poll = |publish_id: &str| Poll {
        publish_id: publish_id.to_string(),
        polls: 0,
        wants_public_id: privacy.as_deref() == Some("PUBLIC_TO_EVERYONE"),
        username: username.clone(),
        completed_at: None,
    };
    match content {
        Content::Photos(images) => {
            let publish_id = init_photos(&token, &post, &images, &options, privacy.as_deref())?;
            status::schedule(
                &poll(&publish_id),
                status::PROCESSING_BACKOFF_SECS[0],
                "TikTok is fetching the photos".into(),
            )
        }
        Content::Video(video) if verified(&video.url, &verified_prefixes()) => {
            let source = json!({"source": "PULL_FROM_URL", "video_url": video.url});
            let (publish_id, _) = init_video(&token, &post, &options, privacy.as_deref(), source)?;
            status::schedule(
                &poll(&publish_id),
                status::PROCESSING_BACKOFF_SECS[0],
                "TikTok is downloading the video".into(),
            )
        }
        Content::Video(video) => {
            let size = upload::probe_size(video)?;
            let plan = chunks::ChunkPlan::new(size, upload::preferred_chunk())
                .map_err(Error::invalid_input)?;
            let source = json!({
                "source": "FILE_UPLOAD",
                "video_size": plan.video_size,
                "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.total,
            });
            let (publish_id, upload_url) =
                init_video(&token, &post, &options, privacy.as_deref(), source)?;
            let upload_url = upload_url.ok_or_else(|| {
                Error::platform("malformed-response", "video init answered no upload_url")
            })?;
            vault::put(&upload::url_secret(&publish_id), &upload_url)?;
            upload::schedule(&Upload {
                poll: poll(&publish_id),
                publish_id,
                media_url: video.url.clone(),
                content_type: video
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "video/mp4".into()),
                video_size: plan.video_size,
                chunk_size: plan.chunk_size,
                total: plan.total,
                next: 0,
            })
        }
    }
}

/// Where an earlier run's publish stands.
enum Resumed {
    /// It goes on: this is the outcome.
    Continues(PublishOutcome),
    /// Its upload can never complete (see [`resume`]): start a new publish.
    Abandoned,
}

/// A job that ran before and got a publish id never calls init again while that publish can
/// still go live: it asks TikTok where the publish stands and continues it — the remaining
/// chunks from `uploaded_bytes` on, or the status poll.
///
/// One case starts over: an upload TikTok still waits for whose upload URL was never committed
/// (the worker stopped between init and the end of its call). Nobody can send its bytes, so it
/// can never be published, and a new init cannot make a duplicate.
fn resume(token: &str, publish_id: &str, post: &Post, options: &Options) -> Result<Resumed> {
    let current = status::fetch(token, publish_id)?;
    let mut poll = Poll {
        publish_id: publish_id.to_string(),
        polls: 0,
        wants_public_id: options.mode == Mode::Direct
            && options.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE"),
        username: String::new(),
        completed_at: None,
    };
    if poll.wants_public_id {
        poll.username = creator_info(token)?.creator_username;
    }
    if let (Content::Video(video), "PROCESSING_UPLOAD") = (content(post)?, current.status.as_str())
    {
        let size = upload::probe_size(video)?;
        let held = current.uploaded_bytes.unwrap_or(0);
        if held < size {
            if vault::get(&upload::url_secret(publish_id))?.is_none() {
                log::warn(
                    "the earlier upload's URL was never stored; it cannot complete, starting a new publish",
                    &[("publish_id", publish_id)],
                );
                return Ok(Resumed::Abandoned);
            }
            let plan = chunks::ChunkPlan::new(size, upload::preferred_chunk())
                .map_err(Error::invalid_input)?;
            let next = plan.chunk_at(held).ok_or_else(|| {
                Error::platform(
                    "upload-out-of-step",
                    format!(
                        "TikTok holds {held} bytes of publish {publish_id}, not a chunk boundary"
                    ),
                )
            })?;
            log::info(
                "resuming an earlier upload instead of starting another",
                &[
                    ("publish_id", publish_id),
                    ("chunk", &(next + 1).to_string()),
                ],
            );
            return upload::schedule(&Upload {
                poll,
                publish_id: publish_id.to_string(),
                media_url: video.url.clone(),
                content_type: video
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "video/mp4".into()),
                video_size: plan.video_size,
                chunk_size: plan.chunk_size,
                total: plan.total,
                next,
            })
            .map(Resumed::Continues);
        }
    }
    log::info(
        "resuming an earlier publish instead of starting another",
        &[("publish_id", publish_id)],
    );
    status::after(&mut poll, &current).map(Resumed::Continues)
}

fn post_info(post: &Post, options: &Options, privacy: &str, title: &str) -> Value {
    let mut info = json!({
        "title": title,
        "privacy_level": privacy,
        "disable_comment": options.disable_comment,
        "disable_duet": options.disable_duet,
        "disable_stitch": options.disable_stitch,
    });
    if let Some(ms) = options.video_cover_timestamp_ms {
        info["video_cover_timestamp_ms"] = json!(ms);
    }
    let _ = post;
    info
}

#[derive(serde::Deserialize)]
struct Init {
    publish_id: String,
    #[serde(default)]
    upload_url: Option<String>,
}

/// Video init (direct or inbox); records the publish id before anything else happens.
fn init_video(
    token: &str,
    post: &Post,
    options: &Options,
    privacy: Option<&str>,
    source: Value,
) -> Result<(String, Option<String>)> {
    let (path, scope, body) = match privacy {
        Some(level) => (
            "v2/post/publish/video/init/",
            scopes::PUBLISH,
            json!({"post_info": post_info(post, options, level, &post.text), "source_info": source}),
        ),
        None => (
            "v2/post/publish/inbox/video/init/",
            scopes::UPLOAD,
            json!({"source_info": source}),
        ),
    };
    let request = http::Request::post(api::url(path)).json(&body)?;
    let init: Init = api::call_as(request, token, scope)?;
    queue::checkpoint(&init.publish_id)?;
    Ok((init.publish_id, init.upload_url))
}

/// Photo init (`content/init`, PULL_FROM_URL only: every photo must be under a verified prefix).
fn init_photos(
    token: &str,
    post: &Post,
    images: &[&Media],
    options: &Options,
    privacy: Option<&str>,
) -> Result<String> {
    let prefixes = verified_prefixes();
    if let Some(unverified) = images.iter().find(|m| !verified(&m.url, &prefixes)) {
        return Err(Error::invalid_input(format!(
            "TikTok pulls photos only from URL prefixes verified for the app; {} is not under the `verified-url-prefixes` setting",
            unverified.url
        )));
    }
    if options.photo_cover_index >= images.len() {
        return Err(Error::invalid_input(format!(
            "option `photo-cover-index` must be below the number of photos ({})",
            images.len()
        )));
    }
    let source = json!({
        "source": "PULL_FROM_URL",
        "photo_images": images.iter().map(|m| m.url.as_str()).collect::<Vec<_>>(),
        "photo_cover_index": options.photo_cover_index,
    });
    let (mode, scope) = match privacy {
        Some(_) => ("DIRECT_POST", scopes::PUBLISH),
        None => ("MEDIA_UPLOAD", scopes::UPLOAD),
    };
    let mut body = json!({"media_type": "PHOTO", "post_mode": mode, "source_info": source});
    let title = options.title.clone().unwrap_or_default();
    let mut info = match privacy {
        Some(level) => post_info(post, options, level, &title),
        None => json!({"title": title}),
    };
    info["description"] = json!(post.text);
    body["post_info"] = info;
    let request = http::Request::post(api::url("v2/post/publish/content/init/")).json(&body)?;
    let init: Init = api::call_as(request, token, scope)?;
    queue::checkpoint(&init.publish_id)?;
    Ok(init.publish_id)
}

//! Content Posting: creator info, video init (FILE_UPLOAD chunk arithmetic or PULL_FROM_URL), photo
//! posts, drafts to the inbox, status with its progression, user info and video queries.
//!
//! Status: a FILE_UPLOAD stays `PROCESSING_UPLOAD` until every chunk is in and then for
//! `TikTokConfig::processing_secs`; a pull or photo post is `PROCESSING_DOWNLOAD` for that long from
//! init. Then `PUBLISH_COMPLETE` (or `SEND_TO_USER_INBOX` for drafts, `FAILED` for a failing source).
//! A `PUBLIC_TO_EVERYONE` post gets its public id `TikTokConfig::moderation_secs` after completing.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::errors::{TtError, ok};
use super::{Caller, PRIVACY_OPTIONS, Publish, Source, body_object, limit};
use crate::config::TikTokConfig;
use crate::http::Req;
use crate::platform::Platform;
use crate::request_log::lock;
use crate::state::SandboxState;

const MB: u64 = 1024 * 1024;
const MIN_CHUNK: u64 = 5 * MB;
const MAX_CHUNK: u64 = 64 * MB;
const MAX_LAST_CHUNK: u64 = 128 * MB;
const MAX_VIDEO: u64 = 4 * 1024 * MB;
const MAX_TITLE: usize = 2200;
const MAX_PENDING_INBOX: usize = 5;
/// URL or title text that makes a publish fail, to exercise error paths (documented in the README).
pub(crate) const FAIL_MARKER: &str = "sandbox-fail";
/// URL text whose domain counts as not verified.
pub(crate) const UNVERIFIED_MARKER: &str = "sandbox-unverified";

fn int(obj: &Map<String, Value>, key: &str) -> Result<u64, TtError> {
    obj.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| TtError::params(format!("source_info.{key} must be a positive integer")))
}

/// Checks FILE_UPLOAD sizes: total_chunk_count = floor(video_size / chunk_size); chunks 5-64 MB, the
/// last up to 128 MB; under 5 MB one chunk of the whole size; 1-1000 chunks.
pub(crate) fn check_chunks(video_size: u64, chunk_size: u64, total: u64) -> Result<(), String> {
    if video_size == 0 || video_size > MAX_VIDEO {
        return Err("video_size must be between 1 byte and 4 GB".into());
    }
    if video_size < MIN_CHUNK {
        if chunk_size != video_size || total != 1 {
            return Err("a video under 5 MB is uploaded as one chunk of its whole size".into());
        }
        return Ok(());
    }
    if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
        return Err("chunk_size must be between 5 MB and 64 MB".into());
    }
    let expected = video_size / chunk_size;
    if total != expected {
        return Err(format!(
            "total_chunk_count must be floor(video_size / chunk_size) = {expected}"
        ));
    }
    if !(1..=1000).contains(&total) {
        return Err("total_chunk_count must be between 1 and 1000".into());
    }
    if video_size - (total - 1) * chunk_size > MAX_LAST_CHUNK {
        return Err("the last chunk may be at most 128 MB".into());
    }
    Ok(())
}

fn check_post_info(
    state: &SandboxState,
    post_info: &Map<String, Value>,
) -> Result<(String, String), TtError> {
    let privacy = post_info
        .get("privacy_level")
        .and_then(Value::as_str)
        .ok_or_else(|| TtError::params("post_info.privacy_level is required"))?;
    if !PRIVACY_OPTIONS.contains(&privacy) {
        return Err(TtError::new(
            "privacy_level_option_mismatch",
            "privacy_level is not one of the creator's privacy_level_options",
        ));
    }
    if state.config.tiktok.unaudited_client && privacy != "SELF_ONLY" {
        return Err(TtError::new(
            "unaudited_client_can_only_post_to_private_accounts",
            "Unaudited clients can only post SELF_ONLY content.",
        ));
    }
    let title = match post_info.get("title") {
        None => String::new(),
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err(TtError::params("post_info.title must be a string")),
    };
    if title.chars().count() > MAX_TITLE {
        return Err(TtError::params(
            "post_info.title may be at most 2200 characters",
        ));
    }
    for flag in [
        "disable_duet",
        "disable_comment",
        "disable_stitch",
        "brand_content_toggle",
        "brand_organic_toggle",
        "auto_add_music",
    ] {
        if post_info.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(TtError::params(format!(
                "post_info.{flag} must be a boolean"
            )));
        }
    }
    if post_info
        .get("video_cover_timestamp_ms")
        .is_some_and(|v| !v.is_u64())
    {
        return Err(TtError::params(
            "post_info.video_cover_timestamp_ms must be a non-negative integer",
        ));
    }
    Ok((privacy.to_string(), title))
}

fn http_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"))
}

fn post_id(state: &SandboxState) -> String {
    format!("{}", 7_400_000_000_000_000_000u64 + state.next_id())
}

/// `POST /v2/post/publish/video/init/` and `/v2/post/publish/inbox/video/init/`.
pub(super) fn video_init(
    state: &SandboxState,
    req: &Req,
    caller: &Caller,
    inbox: bool,
) -> Result<Response, TtError> {
    caller.require(if inbox {
        "video.upload"
    } else {
        "video.publish"
    })?;
    limit(state, caller, "init", 6)?;
    let body = body_object(req)?;
    let (privacy, title) = if inbox {
        (None, String::new())
    } else {
        let post_info = body
            .get("post_info")
            .and_then(Value::as_object)
            .ok_or_else(|| TtError::params("post_info is required"))?;
        let (p, t) = check_post_info(state, post_info)?;
        (Some(p), t)
    };
    let now = state.clock.now_unix();
    if inbox {
        let pending = lock(&state.tiktok)
            .publishes
            .values()
            .filter(|p| p.inbox && p.open_id == caller.info.subject && p.created_at > now - 86_400)
            .count();
        if pending >= MAX_PENDING_INBOX {
            return Err(TtError::new(
                "spam_risk_too_many_pending_share",
                "The user has too many pending shares in the last 24 hours.",
            ));
        }
    }
    let source_info = body
        .get("source_info")
        .and_then(Value::as_object)
        .ok_or_else(|| TtError::params("source_info is required"))?;
    let n = state.next_id();
    let kind = if inbox { "v_inbox" } else { "v_pub" };
    let (id, source, upload_url) = match source_info.get("source").and_then(Value::as_str) {
        Some("FILE_UPLOAD") => {
            let (size, chunk, total) = (
                int(source_info, "video_size")?,
                int(source_info, "chunk_size")?,
                int(source_info, "total_chunk_count")?,
            );
            check_chunks(size, chunk, total).map_err(TtError::params)?;
            let upload_id = state.token("", 20);
            let upload_token = state.token("", 32);
            let url = crate::http::append_query(
                &format!("{}/upload/video/", state.platform_url(Platform::Tiktok)),
                &[("upload_id", &upload_id), ("upload_token", &upload_token)],
            );
            let source = Source::File {
                video_size: size,
                chunk_size: chunk,
                total_chunks: total,
                uploaded: 0,
                upload_id,
                upload_token,
                completed_at: None,
            };
            (format!("{kind}_file~v2-1.{n}"), source, Some(url))
        }
        Some("PULL_FROM_URL") => {
            let url = source_info
                .get("video_url")
                .and_then(Value::as_str)
                .filter(|u| http_url(u))
                .ok_or_else(|| TtError::params("source_info.video_url must be an http(s) URL"))?;
            if url.contains(UNVERIFIED_MARKER) {
                return Err(TtError::new(
                    "url_ownership_unverified",
                    "The domain or URL prefix of video_url has not been verified for this client.",
                ));
            }
            (
                format!("{kind}_url~v2-1.{n}"),
                Source::Pull {
                    fails: url.contains(FAIL_MARKER),
                },
                None,
            )
        }
        _ => {
            return Err(TtError::params(
                "source_info.source must be FILE_UPLOAD or PULL_FROM_URL",
            ));
        }
    };
    let fail_reason = match &source {
        Source::Pull { fails: true } => Some("video_pull_failed"),
        Source::File { .. } if title.contains(FAIL_MARKER) => Some("file_format_check_failed"),
        _ => None,
    };
    let publish = Publish {
        open_id: caller.info.subject.clone(),
        inbox,
        source,
        privacy_level: privacy,
        title,
        created_at: now,
        post_id: post_id(state),
        fail_reason,
    };
    lock(&state.tiktok).publishes.insert(id.clone(), publish);
    let mut data = json!({ "publish_id": id });
    if let Some(u) = upload_url {
        data["upload_url"] = json!(u);
    }
    Ok(ok(data))
}

/// `POST /v2/post/publish/content/init/` with `media_type: "PHOTO"`.
pub(super) fn content_init(
    state: &SandboxState,
    req: &Req,
    caller: &Caller,
) -> Result<Response, TtError> {
    let body = body_object(req)?;
    let mode = body
        .get("post_mode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let inbox = match mode {
        "DIRECT_POST" => false,
        "MEDIA_UPLOAD" => true,
        _ => {
            return Err(TtError::params(
                "post_mode must be DIRECT_POST or MEDIA_UPLOAD",
            ));
        }
    };
    caller.require(if inbox {
        "video.upload"
    } else {
        "video.publish"
    })?;
    limit(state, caller, "init", 6)?;
    if body.get("media_type").and_then(Value::as_str) != Some("PHOTO") {
        return Err(TtError::params("media_type must be PHOTO"));
    }
    let (privacy, title) = if inbox {
        (None, String::new())
    } else {
        let post_info = body
            .get("post_info")
            .and_then(Value::as_object)
            .ok_or_else(|| TtError::params("post_info is required"))?;
        let (p, t) = check_post_info(state, post_info)?;
        (Some(p), t)
    };
    let source_info = body
        .get("source_info")
        .and_then(Value::as_object)
        .ok_or_else(|| TtError::params("source_info is required"))?;
    if source_info.get("source").and_then(Value::as_str) != Some("PULL_FROM_URL") {
        return Err(TtError::params("photo posts take source PULL_FROM_URL"));
    }
    let images: Vec<&str> = source_info
        .get("photo_images")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !(1..=35).contains(&images.len()) || images.iter().any(|u| !http_url(u)) {
        return Err(TtError::params(
            "photo_images must hold 1 to 35 http(s) URLs",
        ));
    }
    if images.iter().any(|u| u.contains(UNVERIFIED_MARKER)) {
        return Err(TtError::new(
            "url_ownership_unverified",
            "The domain or URL prefix of a photo URL has not been verified for this client.",
        ));
    }
    let cover = source_info
        .get("photo_cover_index")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if cover as usize >= images.len() {
        return Err(TtError::params(
            "photo_cover_index must point into photo_images",
        ));
    }
    let id = format!("p_pub_url~v2.{}", state.next_id());
    let fail_reason = images
        .iter()
        .any(|u| u.contains(FAIL_MARKER))
        .then_some("picture_size_check_failed");
    let publish = Publish {
        open_id: caller.info.subject.clone(),
        inbox,
        source: Source::Photos,
        privacy_level: privacy,
        title,
        created_at: state.clock.now_unix(),
        post_id: post_id(state),
        fail_reason,
    };
    lock(&state.tiktok).publishes.insert(id.clone(), publish);
    Ok(ok(json!({ "publish_id": id })))
}

/// Status of a publish at `now`: (status, public post ids, uploaded bytes).
pub(crate) fn status_of(
    p: &Publish,
    now: i64,
    cfg: &TikTokConfig,
) -> (&'static str, Vec<String>, Option<u64>) {
    let (done_at, uploaded) = match &p.source {
        Source::File {
            completed_at: None,
            uploaded,
            ..
        } => return ("PROCESSING_UPLOAD", Vec::new(), Some(*uploaded)),
        Source::File {
            completed_at: Some(t),
            uploaded,
            ..
        } => {
            if now < t + cfg.processing_secs {
                return ("PROCESSING_UPLOAD", Vec::new(), Some(*uploaded));
            }
            (t + cfg.processing_secs, Some(*uploaded))
        }
        Source::Pull { .. } | Source::Photos => {
            if now < p.created_at + cfg.processing_secs {
                return ("PROCESSING_DOWNLOAD", Vec::new(), None);
            }
            (p.created_at + cfg.processing_secs, None)
        }
    };
    if p.fail_reason.is_some() {
        return ("FAILED", Vec::new(), uploaded);
    }
    if p.inbox {
        return ("SEND_TO_USER_INBOX", Vec::new(), uploaded);
    }
    let public = p.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE")
        && now >= done_at + cfg.moderation_secs;
    (
        "PUBLISH_COMPLETE",
        if public {
            vec![p.post_id.clone()]
        } else {
            Vec::new()
        },
        uploaded,
    )
}

/// `POST /v2/post/publish/status/fetch/ {publish_id}`.
pub(super) fn status(
    state: &SandboxState,
    req: &Req,
    caller: &Caller,
) -> Result<Response, TtError> {
    limit(state, caller, "status", 30)?;
    let body = body_object(req)?;
    let id = body
        .get("publish_id")
        .and_then(Value::as_str)
        .ok_or_else(|| TtError::params("publish_id is required"))?;
    let tt = lock(&state.tiktok);
    let p = tt
        .publishes
        .get(id)
        .filter(|p| p.open_id == caller.info.subject)
        .ok_or_else(|| TtError::params("publish_id was not found"))?;
    let (status, public, uploaded) = status_of(p, state.clock.now_unix(), &state.config.tiktok);
    let mut data = json!({"status": status, "publicaly_available_post_id": public});
    if let Some(u) = uploaded {
        data["uploaded_bytes"] = json!(u);
    }
    if status == "FAILED" {
        data["fail_reason"] = json!(p.fail_reason);
    }
    if let Source::Pull { .. } = p.source {
        data["downloaded_bytes"] = json!(if status == "PROCESSING_DOWNLOAD" {
            0
        } else {
            10 * MB
        });
    }
    Ok(ok(data))
}

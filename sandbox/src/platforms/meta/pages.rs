//! Pages: feed posts (text, link, attached photos, scheduled), photos, videos with processing status,
//! scheduled posts, deletes and node reads. Publishing needs the Page's own token with
//! `pages_manage_posts`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::GraphError;
use super::{Caller, Params, Photo, Post, Video, graph_time};
use crate::http;
use crate::request_log::lock;
use crate::state::SandboxState;

/// URL text that makes an upload fail, to exercise error paths (documented in the README).
pub(crate) const FAIL_MARKER: &str = "sandbox-fail";
/// URL text that makes a photo count as over 4 MB.
pub(crate) const LARGE_MARKER: &str = "sandbox-large";

fn require_page_token(
    state: &SandboxState,
    caller: &Caller,
    page_id: &str,
) -> Result<(), GraphError> {
    if lock(&state.meta).page(page_id).is_none() {
        return Err(GraphError::no_object(page_id, "post"));
    }
    if caller.page_id() != Some(page_id) || !caller.has_scope("pages_manage_posts") {
        return Err(GraphError::new(
            200,
            "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission",
        ));
    }
    Ok(())
}

fn valid_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// `POST /{page-id}/feed {message, link?, published?, scheduled_publish_time?, attached_media?}`.
pub(super) fn create_post(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    page_id: &str,
) -> Result<Response, GraphError> {
    require_page_token(state, caller, page_id)?;
    let cfg = &state.config.meta;
    let now = state.clock.now_unix();
    let message = params.str("message");
    let link = params.str("link");
    if let Some(l) = &link
        && !valid_url(l)
    {
        return Err(GraphError::param("link URL is not properly formatted"));
    }
    let mut attached = Vec::new();
    for (i, item) in params
        .list("attached_media")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let id = match item {
            Value::Object(o) => o.get("media_fbid").and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            }),
            Value::String(s) => serde_json::from_str::<Value>(s).ok().and_then(|v| {
                v.get("media_fbid")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            _ => None,
        };
        let ok = id.as_ref().is_some_and(|id| {
            lock(&state.meta)
                .photos
                .get(id)
                .is_some_and(|p| p.page_id == page_id && !p.published && !p.deleted)
        });
        match (ok, id) {
            (true, Some(id)) => attached.push(id),
            _ => {
                return Err(GraphError::param(format_args!(
                    "param attached_media[{i}] has invalid media_fbid"
                )));
            }
        }
    }
    if message.is_none() && link.is_none() && attached.is_empty() {
        return Err(GraphError::param(
            "Either message, link or attached_media must be provided",
        ));
    }
    let published = params.bool("published")?;
    let scheduled = params.i64("scheduled_publish_time")?;
    if let Some(t) = scheduled {
        if published != Some(false) {
            return Err(GraphError::param(
                "Cannot specify a scheduled publish time on a published post; set published=false",
            ));
        }
        if t < now + cfg.min_schedule_secs || t > now + cfg.max_schedule_secs {
            return Err(
                GraphError::param("The specified scheduled publish time is invalid.").user(
                    "Invalid scheduled publish time",
                    "The scheduled publish time must be between 10 minutes and 75 days from now.",
                ),
            );
        }
    }
    if scheduled.is_none() && attached.is_empty() && is_duplicate(state, page_id, &message, &link) {
        return Err(
            GraphError::new(506, "(#506) Duplicate status message").user(
                "Duplicate Status Update",
                "This status update is identical to the last one you posted.",
            ),
        );
    }
    let id = format!("{page_id}_{}", 100_000_000_000 + state.next_id());
    let post = Post {
        id: id.clone(),
        page_id: page_id.to_string(),
        message,
        link,
        attached_media: attached,
        created_at: now,
        unpublished: published == Some(false) && scheduled.is_none(),
        scheduled_at: scheduled,
        deleted: false,
    };
    lock(&state.meta).posts.insert(id.clone(), post);
    Ok(http::json(StatusCode::OK, &json!({ "id": id })))
}

/// Whether the Page's latest immediate post has the same text and link (Meta refuses it with 506).
fn is_duplicate(
    state: &SandboxState,
    page_id: &str,
    message: &Option<String>,
    link: &Option<String>,
) -> bool {
    let meta = lock(&state.meta);
    meta.posts
        .values()
        .filter(|p| p.page_id == page_id && !p.deleted && p.scheduled_at.is_none())
        .max_by_key(|p| p.created_at)
        .is_some_and(|p| p.attached_media.is_empty() && &p.message == message && &p.link == link)
}

fn post_json(p: &Post, now: i64) -> Value {
    let mut v = json!({
        "id": p.id,
        "created_time": graph_time(p.created_at),
        "is_published": p.is_published(now),
    });
    if let Some(m) = &p.message {
        v["message"] = json!(m);
    }
    if let Some(l) = &p.link {
        v["link"] = json!(l);
    }
    if let Some(t) = p.scheduled_at {
        v["scheduled_publish_time"] = json!(t);
    }
    if !p.attached_media.is_empty() {
        v["attachments"] = json!({"data": p.attached_media.iter().map(|m| json!({"target": {"id": m}, "type": "photo"})).collect::<Vec<_>>()});
    }
    v
}

/// `GET /{page-id}/feed`: published posts, newest first.
pub(super) fn list_feed(
    state: &SandboxState,
    caller: &Caller,
    page_id: &str,
) -> Result<Response, GraphError> {
    let _ = caller;
    let now = state.clock.now_unix();
    let meta = lock(&state.meta);
    if meta.page(page_id).is_none() {
        return Err(GraphError::no_object(page_id, "get"));
    }
    let mut posts: Vec<&Post> = meta
        .posts
        .values()
        .filter(|p| p.page_id == page_id && p.is_published(now))
        .collect();
    posts.sort_by_key(|p| std::cmp::Reverse(p.scheduled_at.unwrap_or(p.created_at)));
    let data: Vec<Value> = posts.iter().map(|p| post_json(p, now)).collect();
    Ok(http::json(StatusCode::OK, &json!({ "data": data })))
}

/// `GET /{page-id}/scheduled_posts`: posts whose scheduled time has not come.
pub(super) fn scheduled_posts(
    state: &SandboxState,
    caller: &Caller,
    page_id: &str,
) -> Result<Response, GraphError> {
    require_page_token(state, caller, page_id)?;
    let now = state.clock.now_unix();
    let meta = lock(&state.meta);
    let data: Vec<Value> = meta
        .posts
        .values()
        .filter(|p| p.page_id == page_id && !p.deleted && p.scheduled_at.is_some_and(|t| t > now))
        .map(|p| post_json(p, now))
        .collect();
    Ok(http::json(StatusCode::OK, &json!({ "data": data })))
}

/// `POST /{page-id}/photos {url, published?, caption?}`.
pub(super) fn create_photo(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    page_id: &str,
) -> Result<Response, GraphError> {
    require_page_token(state, caller, page_id)?;
    let url = params.str("url").ok_or_else(|| {
        GraphError::param(
            "Missing url parameter (upload by url is the only way the sandbox accepts photos)",
        )
    })?;
    if !valid_url(&url) {
        return Err(GraphError::param("url should represent a valid URL"));
    }
    if url.contains(LARGE_MARKER) {
        return Err(GraphError::new(100, "(#100) The photo is larger than 4 MB").sub(1_366_046));
    }
    let published = params.bool("published")?.unwrap_or(true);
    let id = (500_000_000_000 + state.next_id()).to_string();
    let now = state.clock.now_unix();
    let mut meta = lock(&state.meta);
    meta.photos.insert(
        id.clone(),
        Photo {
            id: id.clone(),
            page_id: page_id.into(),
            url,
            published,
            deleted: false,
        },
    );
    if !published {
        return Ok(http::json(StatusCode::OK, &json!({ "id": id })));
    }
    let post_id = format!("{page_id}_{}", 100_000_000_000 + state.next_id());
    meta.posts.insert(
        post_id.clone(),
        Post {
            id: post_id.clone(),
            page_id: page_id.into(),
            message: params.str("caption").or_else(|| params.str("message")),
            link: None,
            attached_media: vec![id.clone()],
            created_at: now,
            unpublished: false,
            scheduled_at: None,
            deleted: false,
        },
    );
    Ok(http::json(
        StatusCode::OK,
        &json!({ "id": id, "post_id": post_id }),
    ))
}

/// `POST /{page-id}/videos {file_url, description}`.
pub(super) fn create_video(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    page_id: &str,
) -> Result<Response, GraphError> {
    require_page_token(state, caller, page_id)?;
    let file_url = params
        .str("file_url")
        .ok_or_else(|| GraphError::param("Missing file_url parameter"))?;
    if !valid_url(&file_url) {
        return Err(GraphError::param("file_url should represent a valid URL"));
    }
    let id = (600_000_000_000 + state.next_id()).to_string();
    let video = Video {
        id: id.clone(),
        page_id: page_id.into(),
        fails: file_url.contains(FAIL_MARKER),
        file_url,
        description: params.str("description"),
        created_at: state.clock.now_unix(),
        deleted: false,
    };
    lock(&state.meta).videos.insert(id.clone(), video);
    Ok(http::json(StatusCode::OK, &json!({ "id": id })))
}

/// The `video_status` of a video: in_progress for the first half of the processing time,
/// upload_complete for the second, then ready (or error for a failing URL).
fn video_status(v: &Video, cfg_secs: i64, now: i64) -> &'static str {
    let elapsed = now - v.created_at;
    if elapsed < cfg_secs / 2 {
        "in_progress"
    } else if elapsed < cfg_secs {
        "upload_complete"
    } else if v.fails {
        "error"
    } else {
        "ready"
    }
}

/// `GET /{video-id}?fields=status`.
pub(super) fn video_node(
    state: &SandboxState,
    params: &Params,
    id: &str,
) -> Result<Response, GraphError> {
    let now = state.clock.now_unix();
    let meta = lock(&state.meta);
    let v = meta
        .videos
        .get(id)
        .ok_or_else(|| GraphError::no_object(id, "get"))?;
    let status = video_status(v, state.config.meta.video_processing_secs, now);
    let mut out = json!({"id": v.id});
    for f in params.fields() {
        match f.as_str() {
            "status" => {
                let progress = if status == "in_progress" { 50 } else { 100 };
                out["status"] = json!({"video_status": status, "processing_progress": progress});
            }
            "description" => out["description"] = json!(v.description),
            "source" => out["source"] = json!(v.file_url),
            "created_time" => out["created_time"] = json!(graph_time(v.created_at)),
            _ => {}
        }
    }
    Ok(http::json(StatusCode::OK, &out))
}

/// `GET /{post-id}` (or a photo).
pub(super) fn post_node(
    state: &SandboxState,
    params: &Params,
    id: &str,
) -> Result<Response, GraphError> {
    let now = state.clock.now_unix();
    let meta = lock(&state.meta);
    if let Some(p) = meta.posts.get(id).filter(|p| !p.deleted) {
        let mut v = post_json(p, now);
        if params.fields().iter().any(|f| f == "permalink_url") {
            let (page, post) = p.id.split_once('_').unwrap_or((&p.page_id, &p.id));
            v["permalink_url"] = json!(format!("https://www.facebook.com/{page}/posts/{post}"));
        }
        return Ok(http::json(StatusCode::OK, &v));
    }
    if let Some(p) = meta.photos.get(id).filter(|p| !p.deleted) {
        return Ok(http::json(
            StatusCode::OK,
            &json!({"id": p.id, "images": [{"source": p.url}]}),
        ));
    }
    Err(GraphError::no_object(id, "get"))
}

/// `GET /{page-id}?fields=...`.
pub(crate) fn page_node(
    state: &SandboxState,
    params: &Params,
    id: &str,
) -> Result<Response, GraphError> {
    let meta = lock(&state.meta);
    let page = meta
        .page(id)
        .ok_or_else(|| GraphError::no_object(id, "get"))?;
    let mut out = json!({"id": page.id, "name": page.name});
    for f in params.fields() {
        match f.as_str() {
            "username" => out["username"] = json!(page.username),
            "category" => out["category"] = json!(page.category),
            "fan_count" => out["fan_count"] = json!(super::fake_count(id, "fan_count", 0) * 10),
            "instagram_business_account" => {
                if let Some(ig) = &page.ig_user_id {
                    out["instagram_business_account"] = json!({"id": ig});
                }
            }
            "link" => out["link"] = json!(format!("https://www.facebook.com/{}", page.username)),
            _ => {}
        }
    }
    Ok(http::json(StatusCode::OK, &out))
}

/// `DELETE /{post-id}` (also photos and videos) -> `{"success":true}` (the shape is unconfirmed).
pub(super) fn delete_object(
    state: &SandboxState,
    caller: &Caller,
    id: &str,
) -> Result<Response, GraphError> {
    let owner = {
        let meta = lock(&state.meta);
        meta.posts
            .get(id)
            .filter(|p| !p.deleted)
            .map(|p| p.page_id.clone())
            .or_else(|| {
                meta.photos
                    .get(id)
                    .filter(|p| !p.deleted)
                    .map(|p| p.page_id.clone())
            })
            .or_else(|| {
                meta.videos
                    .get(id)
                    .filter(|v| !v.deleted)
                    .map(|v| v.page_id.clone())
            })
    };
    let Some(page_id) = owner else {
        return Err(GraphError::no_object(id, "delete"));
    };
    require_page_token(state, caller, &page_id)?;
    let mut meta = lock(&state.meta);
    if let Some(p) = meta.posts.get_mut(id) {
        p.deleted = true;
    }
    if let Some(p) = meta.photos.get_mut(id) {
        p.deleted = true;
    }
    if let Some(v) = meta.videos.get_mut(id) {
        v.deleted = true;
    }
    Ok(http::json(StatusCode::OK, &json!({"success": true})))
}

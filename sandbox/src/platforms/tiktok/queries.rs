//! Reads: creator info (with the privacy options a post must pick from), user info (profile and
//! counts) and video queries over the creator's public posts.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::errors::{TtError, ok};
use super::publish::status_of;
use super::{Caller, PRIVACY_OPTIONS, body_object, limit};
use crate::http::Req;
use crate::request_log::lock;
use crate::state::SandboxState;

/// `POST /v2/post/publish/creator_info/query/`.
pub(super) fn creator_info(state: &SandboxState, caller: &Caller) -> Result<Response, TtError> {
    caller.require("video.publish")?;
    limit(state, caller, "creator_info", 20)?;
    Ok(ok(json!({
        "creator_avatar_url": "https://p16-sign.tiktokcdn.com/sandbox-avatar.jpeg",
        "creator_username": "sandbox.creator",
        "creator_nickname": "Sandbox Creator",
        "privacy_level_options": PRIVACY_OPTIONS,
        "comment_disabled": false,
        "duet_disabled": false,
        "stitch_disabled": true,
        "max_video_post_duration_sec": 600,
    })))
}

const USER_FIELDS: &[&str] = &[
    "open_id",
    "union_id",
    "avatar_url",
    "avatar_url_100",
    "avatar_large_url",
    "display_name",
    "bio_description",
    "profile_deep_link",
    "is_verified",
    "username",
    "follower_count",
    "following_count",
    "likes_count",
    "video_count",
];

fn public_posts(state: &SandboxState, open_id: &str) -> Vec<(String, String, i64)> {
    let now = state.clock.now_unix();
    let tt = lock(&state.tiktok);
    tt.publishes
        .values()
        .filter(|p| p.open_id == open_id)
        .filter_map(|p| {
            status_of(p, now, &state.config.tiktok)
                .1
                .first()
                .map(|id| (id.clone(), p.title.clone(), p.created_at))
        })
        .collect()
}

/// `GET /v2/user/info/?fields=...`.
pub(super) fn user_info(
    state: &SandboxState,
    req: &Req,
    caller: &Caller,
) -> Result<Response, TtError> {
    caller.require("user.info.basic")?;
    limit(state, caller, "user_info", 600)?;
    let fields: Vec<&str> = req
        .q("fields")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() {
        return Err(TtError::params("fields is required"));
    }
    if let Some(bad) = fields.iter().find(|f| !USER_FIELDS.contains(f)) {
        return Err(TtError::params(format!("Invalid field: {bad}")));
    }
    let videos = public_posts(state, &caller.info.subject).len() as u64;
    let mut user = Map::new();
    for f in fields {
        let v = match f {
            "open_id" => json!(caller.info.subject),
            "union_id" => json!("sandbox-union-0001"),
            "avatar_url" | "avatar_url_100" | "avatar_large_url" => {
                json!("https://p16-sign.tiktokcdn.com/sandbox-avatar.jpeg")
            }
            "display_name" => json!("Sandbox Creator"),
            "bio_description" => json!("Baking in the sandbox"),
            "profile_deep_link" => json!("https://vm.tiktok.com/sandbox/"),
            "is_verified" => json!(false),
            "username" => json!("sandbox.creator"),
            "follower_count" => json!(1520),
            "following_count" => json!(87),
            "likes_count" => json!(20_450),
            _ => json!(12 + videos),
        };
        user.insert(f.to_string(), v);
    }
    Ok(ok(json!({ "user": user })))
}

const VIDEO_FIELDS: &[&str] = &[
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
];

fn video_json(id: &str, title: &str, created: i64, fields: &[&str]) -> Value {
    let n = |m: &str| crate::platforms::fake_count(id, m, 0);
    let mut out = Map::new();
    for f in fields {
        let v = match *f {
            "id" => json!(id),
            "create_time" => json!(created),
            "cover_image_url" => json!(format!("https://p16-sign.tiktokcdn.com/{id}.jpeg")),
            "share_url" | "embed_link" => json!(format!(
                "https://www.tiktok.com/@sandbox.creator/video/{id}"
            )),
            "video_description" | "title" => json!(title),
            "duration" => json!(15),
            "height" => json!(1920),
            "width" => json!(1080),
            "embed_html" => json!(format!(
                "<blockquote class=\"tiktok-embed\" data-video-id=\"{id}\"></blockquote>"
            )),
            "like_count" => json!(n("likes")),
            "comment_count" => json!(n("comments") % 50),
            "share_count" => json!(n("shares") % 20),
            _ => json!(n("views") * 10),
        };
        out.insert((*f).to_string(), v);
    }
    Value::Object(out)
}

fn video_fields(req: &Req) -> Result<Vec<&str>, TtError> {
    let fields: Vec<&str> = req
        .q("fields")
        .unwrap_or("id")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if let Some(bad) = fields.iter().find(|f| !VIDEO_FIELDS.contains(f)) {
        return Err(TtError::params(format!("Invalid field: {bad}")));
    }
    Ok(fields)
}

/// `POST /v2/video/query/?fields=... {filters:{video_ids}}`.
pub(super) fn video_query(
    state: &SandboxState,
    req: &Req,
    caller: &Caller,
) -> Result<Response, TtError> {
    caller.require("video.list")?;
    limit(state, caller, "video_query", 600)?;
    let fields = video_fields(req)?;
    let body = body_object(req)?;
    let ids: Vec<&str> = body
        .get("filters")
        .and_then(|f| f.get("video_ids"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !(1..=20).contains(&ids.len()) {
        return Err(TtError::params("filters.video_ids must hold 1 to 20 ids"));
    }
    let posts = public_posts(state, &caller.info.subject);
    let videos: Vec<Value> = posts
        .iter()
        .filter(|(id, _, _)| ids.contains(&id.as_str()))
        .map(|(id, t, c)| video_json(id, t, *c, &fields))
        .collect();
    Ok(ok(json!({ "videos": videos })))
}

/// `POST /v2/video/list/?fields=... {max_count, cursor}`.
pub(super) fn video_list(
    state: &SandboxState,
    req: &Req,
    caller: &Caller,
) -> Result<Response, TtError> {
    caller.require("video.list")?;
    limit(state, caller, "video_list", 600)?;
    let fields = video_fields(req)?;
    let body = if req.body.is_empty() {
        Map::new()
    } else {
        body_object(req)?
    };
    let max = body.get("max_count").and_then(Value::as_u64).unwrap_or(10);
    if !(1..=20).contains(&max) {
        return Err(TtError::params("max_count must be between 1 and 20"));
    }
    let cursor = body.get("cursor").and_then(Value::as_u64).unwrap_or(0) as usize;
    let mut posts = public_posts(state, &caller.info.subject);
    posts.sort_by_key(|(_, _, c)| std::cmp::Reverse(*c));
    let page: Vec<Value> = posts
        .iter()
        .skip(cursor)
        .take(max as usize)
        .map(|(id, t, c)| video_json(id, t, *c, &fields))
        .collect();
    let next = cursor + page.len();
    Ok(ok(
        json!({"videos": page, "cursor": next, "has_more": next < posts.len()}),
    ))
}

//! Instagram content publishing: containers (image, REELS, STORIES, CAROUSEL with children), the
//! `status_code` progression IN_PROGRESS -> FINISHED (or ERROR; EXPIRED after 24 h; PUBLISHED once
//! published), `media_publish`, the rolling 24 h publish limit and media insights.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::GraphError;
use super::pages::FAIL_MARKER;
use super::{Caller, Container, IgMedia, Params, graph_time};
use crate::http;
use crate::request_log::lock;
use crate::state::SandboxState;

const CONTAINER_LIFETIME_SECS: i64 = 86_400;
const MAX_CAPTION: usize = 2200;
/// Media metrics served; `impressions` and `plays` were retired for every version in 2025 (for
/// `views`).
const MEDIA_METRICS: &[&str] = &[
    "views",
    "reach",
    "saved",
    "likes",
    "comments",
    "shares",
    "total_interactions",
    "profile_visits",
    "profile_activity",
    "follows",
    "replies",
    "navigation",
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
];

fn require_ig(
    state: &SandboxState,
    caller: &Caller,
    ig: &str,
    scope: &str,
) -> Result<(), GraphError> {
    let page_id = lock(&state.meta)
        .page_of_ig(ig)
        .map(|p| p.id.clone())
        .ok_or_else(|| GraphError::no_object(ig, "post"))?;
    if caller.page_id().is_some_and(|p| p != page_id) {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        ));
    }
    if !caller.has_scope(scope) {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        ));
    }
    Ok(())
}

fn status_code(
    c: &Container,
    all: &std::collections::HashMap<String, Container>,
    processing: i64,
    now: i64,
) -> &'static str {
    if c.published_media_id.is_some() {
        return "PUBLISHED";
    }
    if now >= c.created_at + CONTAINER_LIFETIME_SECS {
        return "EXPIRED";
    }
    if now < c.created_at + processing {
        return "IN_PROGRESS";
    }
    if c.fails
        || c.children
            .iter()
            .any(|ch| all.get(ch).is_some_and(|x| x.fails))
    {
        return "ERROR";
    }
    "FINISHED"
}

/// `POST /{ig-user-id}/media {image_url | video_url + media_type | media_type=CAROUSEL + children, caption, is_carousel_item}`.
pub(super) fn create_container(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    ig: &str,
) -> Result<Response, GraphError> {
    require_ig(state, caller, ig, "instagram_content_publish")?;
    let image_url = params.str("image_url");
    let video_url = params.str("video_url");
    let media_type = params.str("media_type").map(|m| m.to_uppercase());
    let is_item = params.bool("is_carousel_item")?.unwrap_or(false);
    let caption = params.str("caption");
    if caption
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CAPTION)
    {
        return Err(GraphError::param(
            "The caption is longer than 2200 characters",
        ));
    }
    if caption
        .as_ref()
        .is_some_and(|c| c.matches('#').count() > 30)
    {
        return Err(GraphError::param("The caption has more than 30 hashtags"));
    }
    let mut children = Vec::new();
    let (kind, media_url) = match (media_type.as_deref(), &image_url, &video_url) {
        (Some("CAROUSEL"), None, None) => {
            let ids: Vec<String> = params
                .list("children")?
                .unwrap_or_default()
                .iter()
                .filter_map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
                .collect();
            if !(2..=10).contains(&ids.len()) {
                return Err(GraphError::param(
                    "A carousel needs between 2 and 10 children",
                ));
            }
            let meta = lock(&state.meta);
            for id in &ids {
                if !meta
                    .containers
                    .get(id)
                    .is_some_and(|c| c.is_carousel_item && c.ig_user_id == ig)
                {
                    return Err(GraphError::param(format_args!(
                        "The child {id} is not a carousel item container of this user"
                    )));
                }
            }
            children = ids;
            ("CAROUSEL".to_string(), None)
        }
        (Some("CAROUSEL"), _, _) => {
            return Err(GraphError::param(
                "A CAROUSEL container takes children, not image_url or video_url",
            ));
        }
        (None | Some("IMAGE") | Some("STORIES"), Some(url), None) => (
            media_type.clone().unwrap_or_else(|| "IMAGE".into()),
            Some(url.clone()),
        ),
        (Some("REELS") | Some("STORIES"), None, Some(url)) => {
            (media_type.clone().unwrap_or_default(), Some(url.clone()))
        }
        (None | Some("VIDEO"), None, Some(url)) if is_item => {
            ("VIDEO".to_string(), Some(url.clone()))
        }
        (None | Some("VIDEO"), None, Some(_)) => {
            return Err(GraphError::param(
                "The media type VIDEO is no longer supported. Please use REELS to post videos.",
            ));
        }
        (_, Some(_), Some(_)) => {
            return Err(GraphError::param(
                "Only one of image_url and video_url may be given",
            ));
        }
        (Some(other), _, _) if !["IMAGE", "REELS", "STORIES", "VIDEO"].contains(&other) => {
            return Err(GraphError::param(format_args!(
                "media_type must be one of IMAGE, REELS, STORIES, CAROUSEL; got {other}"
            )));
        }
        _ => return Err(GraphError::param("The parameter image_url is required.")),
    };
    if let Some(u) = &media_url
        && !url::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"))
    {
        return Err(GraphError::param(
            "The media URL must be a public http(s) URL",
        ));
    }
    let id = (18_000_000_000_000_000 + state.next_id()).to_string();
    let container = Container {
        id: id.clone(),
        ig_user_id: ig.into(),
        fails: media_url
            .as_deref()
            .is_some_and(|u| u.contains(FAIL_MARKER)),
        media_type: kind,
        caption,
        children,
        is_carousel_item: is_item,
        created_at: state.clock.now_unix(),
        published_media_id: None,
    };
    lock(&state.meta).containers.insert(id.clone(), container);
    Ok(http::json(StatusCode::OK, &json!({ "id": id })))
}

/// `GET /{container-id}?fields=status_code,status`.
pub(super) fn container_node(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    id: &str,
) -> Result<Response, GraphError> {
    let _ = caller;
    let now = state.clock.now_unix();
    let meta = lock(&state.meta);
    let c = meta
        .containers
        .get(id)
        .ok_or_else(|| GraphError::no_object(id, "get"))?;
    let code = status_code(
        c,
        &meta.containers,
        state.config.meta.ig_container_processing_secs,
        now,
    );
    let mut out = json!({"id": c.id});
    let fields = params.fields();
    if fields.is_empty() || fields.iter().any(|f| f == "status_code") {
        out["status_code"] = json!(code);
    }
    if fields.iter().any(|f| f == "status") {
        out["status"] = json!(match code {
            "ERROR" =>
                "Error: Media download has failed. The media URI doesn't meet our requirements. (2207026)",
            "IN_PROGRESS" => "In Progress",
            "EXPIRED" => "Expired",
            "PUBLISHED" => "Published",
            _ => "Finished",
        });
    }
    Ok(http::json(StatusCode::OK, &out))
}

fn count_recent(state: &SandboxState, ig: &str) -> u64 {
    let now = state.clock.now_unix();
    lock(&state.meta).ig_publishes.get(ig).map_or(0, |v| {
        v.iter().filter(|&&t| t > now - 86_400).count() as u64
    })
}

/// `POST /{ig-user-id}/media_publish?creation_id=`.
pub(super) fn publish(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    ig: &str,
) -> Result<Response, GraphError> {
    require_ig(state, caller, ig, "instagram_content_publish")?;
    let creation_id = params
        .str("creation_id")
        .ok_or_else(|| GraphError::param("The parameter creation_id is required."))?;
    let limit = state.config.meta.ig_publishes_per_day;
    if count_recent(state, ig) >= limit {
        return Err(GraphError::new(9, "Application request limit reached")
            .sub(2_207_042)
            .user(
                "Max posts reached",
                "The account has reached its limit of published posts in 24 hours.",
            ));
    }
    let now = state.clock.now_unix();
    let mut meta = lock(&state.meta);
    let c = meta
        .containers
        .get(&creation_id)
        .filter(|c| c.ig_user_id == ig && !c.is_carousel_item)
        .ok_or_else(|| {
            GraphError::param(format_args!(
                "The creation_id {creation_id} is not a publishable container of this user"
            ))
        })?;
    match status_code(
        c,
        &meta.containers,
        state.config.meta.ig_container_processing_secs,
        now,
    ) {
        "FINISHED" => {}
        "IN_PROGRESS" => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .sub(2_207_027)
                .user(
                    "Media not ready",
                    "The media is not ready for publishing, please wait for a moment",
                ));
        }
        "EXPIRED" => {
            return Err(GraphError::param(
                "The media container has expired (containers live 24 hours)",
            ));
        }
        "PUBLISHED" => {
            return Err(GraphError::param(
                "The media container has already been published",
            ));
        }
        _ => {
            return Err(GraphError::param(
                "The media container failed processing (status_code ERROR) and cannot be published",
            ));
        }
    }
    let media_id = (17_900_000_000_000_000 + state.next_id()).to_string();
    let shortcode = format!("SBX{}", &state.token("", 8));
    let (media_type, caption, children) =
        (c.media_type.clone(), c.caption.clone(), c.children.clone());
    meta.media.insert(
        media_id.clone(),
        IgMedia {
            id: media_id.clone(),
            ig_user_id: ig.into(),
            media_type,
            caption,
            shortcode,
            created_at: now,
        },
    );
    for id in children.iter().chain(std::iter::once(&creation_id)) {
        if let Some(c) = meta.containers.get_mut(id) {
            c.published_media_id = Some(media_id.clone());
        }
    }
    meta.ig_publishes
        .entry(ig.to_string())
        .or_default()
        .push(now);
    Ok(http::json(StatusCode::OK, &json!({ "id": media_id })))
}

/// `GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config`.
pub(super) fn publishing_limit(
    state: &SandboxState,
    caller: &Caller,
    ig: &str,
) -> Result<Response, GraphError> {
    require_ig(state, caller, ig, "instagram_basic")?;
    let used = count_recent(state, ig);
    let total = state.config.meta.ig_publishes_per_day;
    Ok(http::json(
        StatusCode::OK,
        &json!({"data": [{"quota_usage": used, "config": {"quota_total": total, "quota_duration": 86_400}}]}),
    ))
}

fn media_json(m: &IgMedia, fields: &[String]) -> Value {
    let mut out = json!({"id": m.id});
    for f in fields {
        match f.as_str() {
            "permalink" => {
                out["permalink"] = json!(format!("https://www.instagram.com/p/{}/", m.shortcode))
            }
            "caption" => out["caption"] = json!(m.caption),
            "media_type" => {
                out["media_type"] = json!(if m.media_type == "REELS" {
                    "VIDEO"
                } else {
                    m.media_type.as_str()
                })
            }
            "media_product_type" => {
                out["media_product_type"] = json!(match m.media_type.as_str() {
                    "REELS" => "REELS",
                    "STORIES" => "STORY",
                    _ => "FEED",
                })
            }
            "timestamp" => out["timestamp"] = json!(graph_time(m.created_at)),
            "shortcode" => out["shortcode"] = json!(m.shortcode),
            "like_count" => out["like_count"] = json!(super::fake_count(&m.id, "likes", 0)),
            "comments_count" => {
                out["comments_count"] = json!(super::fake_count(&m.id, "comments", 0))
            }
            _ => {}
        }
    }
    out
}

/// `GET /{ig-media-id}?fields=permalink,...`.
pub(super) fn media_node(
    state: &SandboxState,
    params: &Params,
    id: &str,
) -> Result<Response, GraphError> {
    let meta = lock(&state.meta);
    let m = meta
        .media
        .get(id)
        .ok_or_else(|| GraphError::no_object(id, "get"))?;
    Ok(http::json(StatusCode::OK, &media_json(m, &params.fields())))
}

/// `GET /{ig-user-id}/media`: published media, newest first.
pub(super) fn list_media(
    state: &SandboxState,
    caller: &Caller,
    ig: &str,
) -> Result<Response, GraphError> {
    require_ig(state, caller, ig, "instagram_basic")?;
    let meta = lock(&state.meta);
    let mut media: Vec<&IgMedia> = meta.media.values().filter(|m| m.ig_user_id == ig).collect();
    media.sort_by_key(|m| std::cmp::Reverse(m.created_at));
    let fields = ["caption", "media_type", "permalink", "timestamp"].map(String::from);
    let data: Vec<Value> = media.iter().map(|m| media_json(m, &fields)).collect();
    Ok(http::json(StatusCode::OK, &json!({ "data": data })))
}

/// `GET /{ig-user-id}?fields=username,...`.
pub(super) fn ig_user_node(
    state: &SandboxState,
    params: &Params,
    id: &str,
) -> Result<Response, GraphError> {
    let meta = lock(&state.meta);
    let page = meta
        .page_of_ig(id)
        .ok_or_else(|| GraphError::no_object(id, "get"))?;
    let mut out = json!({"id": id});
    for f in params.fields() {
        match f.as_str() {
            "username" => out["username"] = json!(page.ig_username),
            "name" => out["name"] = json!(page.name),
            "followers_count" => out["followers_count"] = json!(1200),
            "media_count" => {
                out["media_count"] =
                    json!(meta.media.values().filter(|m| m.ig_user_id == id).count())
            }
            _ => {}
        }
    }
    Ok(http::json(StatusCode::OK, &out))
}

/// `GET /{ig-media-id}/insights?metric=views,reach,saved,likes,comments,shares`.
pub(super) fn media_insights(id: &str, metrics: &[String]) -> Result<Response, GraphError> {
    if let Some(bad) = metrics
        .iter()
        .find(|m| !MEDIA_METRICS.contains(&m.as_str()))
    {
        return Err(GraphError::param(format_args!(
            "metric[{}] must be one of the following values: {}",
            metrics.iter().position(|m| m == bad).unwrap_or(0),
            MEDIA_METRICS.join(", ")
        )));
    }
    let data: Vec<Value> = metrics
        .iter()
        .map(|m| json!({"name": m, "period": "lifetime", "values": [{"value": super::fake_count(id, m, 0)}], "title": m, "id": format!("{id}/insights/{m}/lifetime")}))
        .collect();
    Ok(http::json(StatusCode::OK, &json!({ "data": data })))
}

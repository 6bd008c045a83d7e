//! Meta Graph API: Facebook Login, Pages (feed, photos, videos, scheduling, insights) and Instagram
//! content publishing, under `/meta/{version}/...` (real hosts `graph.facebook.com` and, for the login
//! dialog, `www.facebook.com`). A `vNN.N` version segment past its end date (see `versions`) is
//! refused with code 2635; others are accepted, and the segment may be left out.
//!
//! Parameters are read from the query string, a form body or a JSON body, as Graph does. The token
//! comes from `access_token` or `Authorization: Bearer`.

mod auth;
pub(crate) mod errors;
mod insights;
mod instagram;
mod oauth;
mod pages;
mod params;
mod versions;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;

use self::auth::{Caller, authenticate};
use self::errors::GraphError;
use self::params::Params;
use super::tokens::TokenStore;
use crate::http::{self, Req};
pub(crate) use crate::platforms::fake_count;
use crate::request_log::lock;
use crate::seed;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// Every scope the login dialog accepts.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "public_profile",
    "email",
    "pages_show_list",
    "business_management",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
];

/// A seeded Facebook Page.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub id: String,
    pub name: String,
    pub username: String,
    pub category: String,
    pub ig_user_id: Option<String>,
    pub ig_username: Option<String>,
}

/// A Page post (text, link, photos, or a published photo).
#[derive(Clone, Debug)]
pub(crate) struct Post {
    pub id: String,
    pub page_id: String,
    pub message: Option<String>,
    pub link: Option<String>,
    pub attached_media: Vec<String>,
    pub created_at: i64,
    /// `published=false` without a schedule: an unpublished post.
    pub unpublished: bool,
    pub scheduled_at: Option<i64>,
    pub deleted: bool,
}

impl Post {
    pub fn is_published(&self, now: i64) -> bool {
        !self.deleted && !self.unpublished && self.scheduled_at.is_none_or(|t| now >= t)
    }
}

/// An uploaded photo.
#[derive(Clone, Debug)]
pub(crate) struct Photo {
    pub id: String,
    pub page_id: String,
    pub url: String,
    pub published: bool,
    pub deleted: bool,
}

/// An uploaded video.
#[derive(Clone, Debug)]
pub(crate) struct Video {
    pub id: String,
    pub page_id: String,
    pub file_url: String,
    pub description: Option<String>,
    pub created_at: i64,
    pub fails: bool,
    pub deleted: bool,
}

/// An Instagram media container.
#[derive(Clone, Debug)]
pub(crate) struct Container {
    pub id: String,
    pub ig_user_id: String,
    pub media_type: String,
    pub caption: Option<String>,
    pub children: Vec<String>,
    pub is_carousel_item: bool,
    pub created_at: i64,
    pub fails: bool,
    pub published_media_id: Option<String>,
}

/// A published Instagram media object.
#[derive(Clone, Debug)]
pub(crate) struct IgMedia {
    pub id: String,
    pub ig_user_id: String,
    pub media_type: String,
    pub caption: Option<String>,
    pub shortcode: String,
    pub created_at: i64,
}

/// Everything the Meta imitation holds.
#[derive(Debug)]
pub struct MetaState {
    pub(crate) tokens: TokenStore,
    pub(crate) pages: Vec<Page>,
    /// (grant, page id) -> page token, so a page token is stable for a grant.
    pub(crate) page_tokens: HashMap<(u64, String), String>,
    pub(crate) posts: BTreeMap<String, Post>,
    pub(crate) photos: HashMap<String, Photo>,
    pub(crate) videos: HashMap<String, Video>,
    pub(crate) containers: HashMap<String, Container>,
    pub(crate) media: HashMap<String, IgMedia>,
    /// Publish times per Instagram user (Unix seconds), for the 24 h limit.
    pub(crate) ig_publishes: HashMap<String, Vec<i64>>,
}

impl MetaState {
    pub(crate) fn seed() -> MetaState {
        MetaState {
            tokens: TokenStore::default(),
            pages: vec![
                Page {
                    id: seed::META_PAGE_ID.into(),
                    name: "Sandbox Bakery".into(),
                    username: "sandboxbakery".into(),
                    category: "Bakery".into(),
                    ig_user_id: Some(seed::META_IG_USER_ID.into()),
                    ig_username: Some("sandbox.bakery".into()),
                },
                Page {
                    id: seed::META_PAGE2_ID.into(),
                    name: "Sandbox Books".into(),
                    username: "sandboxbooks".into(),
                    category: "Bookstore".into(),
                    ig_user_id: None,
                    ig_username: None,
                },
            ],
            page_tokens: HashMap::new(),
            posts: BTreeMap::new(),
            photos: HashMap::new(),
            videos: HashMap::new(),
            containers: HashMap::new(),
            media: HashMap::new(),
            ig_publishes: HashMap::new(),
        }
    }

    pub(crate) fn page(&self, id: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }

    pub(crate) fn page_of_ig(&self, ig: &str) -> Option<&Page> {
        self.pages
            .iter()
            .find(|p| p.ig_user_id.as_deref() == Some(ig))
    }
}

/// Meta's time format: `2026-01-24T15:30:00+0000`.
pub(crate) fn graph_time(secs: i64) -> String {
    let mut s = crate::clock::rfc3339_offset(secs);
    s.truncate(s.len() - 6);
    s.push_str("+0000");
    s
}

fn is_version(seg: &str) -> bool {
    seg.strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

/// Routes one Graph request.
pub(crate) async fn handle(state: &Arc<SandboxState>, req: Req) -> Response {
    let mut segs: Vec<String> = req.segments.clone();
    let named = segs.first().is_some_and(|s| is_version(s));
    let version = if named {
        segs.remove(0)
    } else {
        state.config.meta.graph_version.clone()
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let params = match Params::from_req(&req) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // Login endpoints need no token; the dialog is www.facebook.com's, not a Graph call.
    if let (&Method::GET, ["dialog", "oauth"]) = (&req.method, segs.as_slice()) {
        return oauth::dialog(state, &params);
    }
    if named
        && let Err(e) = versions::check(
            &version,
            state.clock.now_unix(),
            &state.config.meta.graph_version,
        )
    {
        return e.into_response();
    }
    if let (&Method::GET | &Method::POST, ["oauth", "access_token"]) =
        (&req.method, segs.as_slice())
    {
        return oauth::access_token(state, &params).unwrap_or_else(GraphError::into_response);
    }
    let mut usage = Vec::new();
    let result = match authenticate(state, &req, &params, &mut usage) {
        Ok(caller) => route(state, &req, &params, &caller, &version, &segs),
        Err(e) => Err(e),
    };
    let mut resp = result.unwrap_or_else(GraphError::into_response);
    for (name, value) in usage {
        http::set_header(&mut resp, name, &value);
    }
    resp
}

fn route(
    state: &SandboxState,
    req: &Req,
    params: &Params,
    caller: &Caller,
    version: &str,
    segs: &[&str],
) -> Result<Response, GraphError> {
    let m = &req.method;
    match (m, segs) {
        (&Method::GET, ["me"]) => oauth::me(state, params, caller),
        (&Method::GET, ["me", "permissions"]) => oauth::permissions(caller),
        (&Method::DELETE, ["me", "permissions"]) => oauth::delete_permissions(state, caller),
        (&Method::GET, ["me", "accounts"]) => oauth::accounts(state, params, caller, version),
        (&Method::POST, [id, "feed"]) => pages::create_post(state, params, caller, id),
        (&Method::GET, [id, "feed"]) => pages::list_feed(state, caller, id),
        (&Method::POST, [id, "photos"]) => pages::create_photo(state, params, caller, id),
        (&Method::POST, [id, "videos"]) => pages::create_video(state, params, caller, id),
        (&Method::GET, [id, "scheduled_posts"]) => pages::scheduled_posts(state, caller, id),
        (&Method::POST, [id, "media"]) => instagram::create_container(state, params, caller, id),
        (&Method::GET, [id, "media"]) => instagram::list_media(state, caller, id),
        (&Method::POST, [id, "media_publish"]) => instagram::publish(state, params, caller, id),
        (&Method::GET, [id, "content_publishing_limit"]) => {
            instagram::publishing_limit(state, caller, id)
        }
        (&Method::GET, [id, "insights"]) => insights::insights(state, params, caller, id),
        (&Method::GET, [id]) => node(state, params, caller, id),
        (&Method::DELETE, [id]) => pages::delete_object(state, caller, id),
        (_, [id, ..]) => Err(GraphError::no_object(id, &m.as_str().to_lowercase())),
        (_, []) => Err(GraphError::param("Unsupported request")),
    }
}

fn node(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    id: &str,
) -> Result<Response, GraphError> {
    let kind = {
        let meta = lock(&state.meta);
        if meta.page(id).is_some() {
            "page"
        } else if meta.page_of_ig(id).is_some() {
            "ig_user"
        } else if meta.containers.contains_key(id) {
            "container"
        } else if meta.media.contains_key(id) {
            "media"
        } else if meta.videos.get(id).is_some_and(|v| !v.deleted) {
            "video"
        } else if meta.posts.get(id).is_some_and(|p| !p.deleted) {
            "post"
        } else if meta.photos.get(id).is_some_and(|p| !p.deleted) {
            "photo"
        } else {
            return Err(GraphError::no_object(id, "get"));
        }
    };
    match kind {
        "page" => pages::page_node(state, params, id),
        "ig_user" => instagram::ig_user_node(state, params, id),
        "container" => instagram::container_node(state, params, caller, id),
        "media" => instagram::media_node(state, params, id),
        "video" => pages::video_node(state, params, id),
        _ => pages::post_node(state, params, id),
    }
}

/// Revokes a Meta token (and its grant).
pub(crate) fn revoke(state: &SandboxState, token: &str) -> bool {
    lock(&state.meta).tokens.revoke(token)
}

/// A long-lived user token for the seeded user with every scope.
pub(crate) fn issue_token(state: &SandboxState, scopes: Option<Vec<String>>) -> IssuedToken {
    let scopes = scopes.unwrap_or_else(|| KNOWN_SCOPES.iter().map(|s| s.to_string()).collect());
    let token = oauth::new_user_token(state, scopes, true, None);
    IssuedToken {
        access_token: token,
        refresh_token: None,
    }
}

//! Meta Graph API: Facebook Login, Pages (feed, photos, videos, scheduling, insights) and Instagram
//! content publishing, under `/meta/{version}/...` (real hosts `graph.facebook.com` and, for the login
//! dialog, `www.facebook.com`). Any `vNN.N` version segment is accepted; it may also be left out.
//!
//! Parameters are read from the query string, a form body or a JSON body, as Graph does. The token
//! comes from `access_token` or `Authorization: Bearer`.

pub(crate) mod errors;
mod instagram;
mod oauth;
mod pages;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use self::errors::GraphError;
use super::tokens::{TokenInfo, TokenProblem, TokenStore};
use crate::http::{self, Req};
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

/// Graph parameters merged from query, form body and JSON body.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, Value>);

impl Params {
    pub fn from_req(req: &Req) -> Result<Params, GraphError> {
        let mut map = HashMap::new();
        for (k, v) in &req.query {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        if !req.body.is_empty() {
            if req.is_json() {
                match req.json() {
                    Ok(Value::Object(obj)) => map.extend(obj),
                    _ => {
                        return Err(GraphError::param(
                            "The request body is not a valid JSON object",
                        ));
                    }
                }
            } else {
                for (k, v) in req.form() {
                    map.insert(k, Value::String(v));
                }
            }
        }
        Ok(Params(map))
    }

    pub fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A boolean parameter; `Err` when present but not a boolean.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, GraphError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(GraphError::param(format_args!(
                    "Param {key} must be a boolean"
                ))),
            },
            Some(_) => Err(GraphError::param(format_args!(
                "Param {key} must be a boolean"
            ))),
        }
    }

    pub fn i64(&self, key: &str) -> Result<Option<i64>, GraphError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| GraphError::param(format_args!("Param {key} must be an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| GraphError::param(format_args!("Param {key} must be an integer"))),
            Some(_) => Err(GraphError::param(format_args!(
                "Param {key} must be an integer"
            ))),
        }
    }

    /// A list given as a JSON array, a JSON array in a string, or a comma-separated string.
    pub fn list(&self, key: &str) -> Result<Option<Vec<Value>>, GraphError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                match serde_json::from_str(s) {
                    Ok(Value::Array(a)) => Ok(Some(a)),
                    _ => Err(GraphError::param(format_args!(
                        "Param {key} must be an array"
                    ))),
                }
            }
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(|x| json!(x))
                    .collect(),
            )),
            Some(_) => Err(GraphError::param(format_args!(
                "Param {key} must be an array"
            ))),
        }
    }

    /// The `fields` parameter as a list (empty when absent).
    pub fn fields(&self) -> Vec<String> {
        self.str("fields")
            .map(|f| {
                f.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The caller of an authenticated request.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub token: String,
    pub info: TokenInfo,
}

impl Caller {
    pub fn page_id(&self) -> Option<&str> {
        self.info.kind.strip_prefix("page:")
    }

    pub fn is_user(&self) -> bool {
        self.page_id().is_none()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.info.scopes.iter().any(|s| s == scope)
    }
}

/// Checks the request's token and counts it against the hourly budget; the usage header goes on `headers`.
pub(crate) fn authenticate(
    state: &SandboxState,
    req: &Req,
    params: &Params,
    usage: &mut Vec<(&'static str, String)>,
) -> Result<Caller, GraphError> {
    let token = params
        .str("access_token")
        .or_else(|| req.bearer().map(str::to_string))
        .ok_or_else(|| {
            GraphError::new(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        })?;
    let now = state.clock.now_unix();
    let info = {
        let meta = lock(&state.meta);
        match meta.tokens.check_access(&token, now) {
            Ok(info) => info.clone(),
            Err(TokenProblem::Expired) => {
                return Err(GraphError::new(
                    190,
                    "Error validating access token: Session has expired.",
                )
                .sub(463));
            }
            Err(TokenProblem::Revoked) => {
                return Err(GraphError::new(
                    190,
                    "Error validating access token: The user has not authorized application.",
                )
                .sub(458));
            }
            Err(_) => {
                return Err(GraphError::new(
                    190,
                    "Invalid OAuth access token - Cannot parse access token",
                ));
            }
        }
    };
    let caller = Caller { token, info };
    let cfg = &state.config.meta;
    let use_ = state.limits.hit(
        &format!("meta:token:{}", caller.token),
        cfg.calls_per_hour,
        3_600_000,
        state.clock.now_ms(),
    );
    let pct = use_.percent();
    match caller.page_id() {
        Some(page) => {
            let minutes = if use_.exceeded {
                (use_.reset_in_ms + 59_999) / 60_000
            } else {
                0
            };
            let value = json!({ page: [{
                "type": "pages",
                "call_count": pct,
                "total_cputime": pct / 2,
                "total_time": pct / 2,
                "estimated_time_to_regain_access": minutes,
            }]});
            usage.push(("x-business-use-case-usage", value.to_string()));
        }
        None => {
            let value = json!({"call_count": pct, "total_cputime": pct / 2, "total_time": pct / 2});
            usage.push(("x-app-usage", value.to_string()));
        }
    }
    if use_.exceeded {
        return Err(match caller.page_id() {
            Some(_) if cfg.page_throttle_code == 80001 => GraphError::new(
                80001,
                "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
            ),
            Some(_) => GraphError::new(32, "(#32) Page request limit reached"),
            None => GraphError::new(17, "(#17) User request limit reached"),
        });
    }
    Ok(caller)
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
    let version = if segs.first().is_some_and(|s| is_version(s)) {
        segs.remove(0)
    } else {
        state.config.meta.graph_version.clone()
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let params = match Params::from_req(&req) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // Login endpoints need no token.
    match (&req.method, segs.as_slice()) {
        (&Method::GET, ["dialog", "oauth"]) => return oauth::dialog(state, &params),
        (&Method::GET | &Method::POST, ["oauth", "access_token"]) => {
            return oauth::access_token(state, &params).unwrap_or_else(GraphError::into_response);
        }
        _ => {}
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
        (&Method::GET, [id, "insights"]) => insights(state, params, caller, id),
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

const PAGE_METRICS_PREFIX: &str = "page_";

fn insights(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    id: &str,
) -> Result<Response, GraphError> {
    let metrics: Vec<String> = params
        .list("metric")?
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if metrics.is_empty()
        || metrics.iter().any(|m| {
            m.is_empty()
                || !m
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c == b'_' || c.is_ascii_digit())
        })
    {
        return Err(GraphError::param(
            "The value must be a valid insights metric",
        ));
    }
    let (is_page, is_media) = {
        let meta = lock(&state.meta);
        (meta.page(id).is_some(), meta.media.contains_key(id))
    };
    let is_post = lock(&state.meta).posts.get(id).is_some_and(|p| !p.deleted);
    if is_media {
        if !caller.has_scope("instagram_manage_insights") {
            return Err(GraphError::new(
                10,
                "(#10) Application does not have permission for this action",
            ));
        }
        return instagram::media_insights(id, &metrics);
    }
    if !(is_page || is_post) {
        return Err(GraphError::no_object(id, "get"));
    }
    if !caller.has_scope("read_insights") {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        ));
    }
    if is_page && metrics.iter().any(|m| !m.starts_with(PAGE_METRICS_PREFIX)) {
        return Err(GraphError::param(
            "The value must be a valid insights metric",
        ));
    }
    let period = params.str("period").unwrap_or_else(|| {
        if is_page {
            "day".into()
        } else {
            "lifetime".into()
        }
    });
    if ![
        "day",
        "week",
        "days_28",
        "month",
        "lifetime",
        "total_over_range",
    ]
    .contains(&period.as_str())
    {
        return Err(GraphError::param(format_args!("Invalid period: {period}")));
    }
    let now = state.clock.now_unix();
    let until = params.i64("until")?.unwrap_or(now);
    let since = params
        .i64("since")?
        .unwrap_or(until.saturating_sub(2 * 86_400));
    if since > until {
        return Err(GraphError::param("since must be before until"));
    }
    if until.saturating_sub(since) > 93 * 86_400 {
        return Err(GraphError::param(
            "There cannot be more than 93 days (8035200 s) between since and until",
        ));
    }
    let data: Vec<Value> = metrics
        .iter()
        .map(|m| {
            let values: Vec<Value> = if period == "lifetime" {
                vec![json!({"value": fake_count(id, m, 0)})]
            } else {
                let first_day = since.div_euclid(86_400) + 1;
                let last_day = until.div_euclid(86_400);
                (first_day..=last_day.max(first_day))
                    .map(|d| json!({"value": fake_count(id, m, d), "end_time": graph_time(d * 86_400 + 7 * 3600)}))
                    .collect()
            };
            json!({"name": m, "period": period, "values": values, "title": m, "description": format!("Sandbox values for {m}"), "id": format!("{id}/insights/{m}/{period}")})
        })
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"data": data, "paging": {}}),
    ))
}

/// A deterministic made-up count.
pub(crate) fn fake_count(id: &str, metric: &str, day: i64) -> u64 {
    let mut seed = day as u64;
    for b in id.bytes().chain(metric.bytes()) {
        seed = seed.wrapping_mul(31).wrapping_add(u64::from(b));
    }
    crate::faults::splitmix64(&mut seed) % 500
}

/// Revokes a Meta token (and its grant).
pub(crate) fn revoke(state: &SandboxState, token: &str) -> bool {
    lock(&state.meta).tokens.revoke(token)
}

/// A long-lived user token for the seeded user with every scope.
pub(crate) fn issue_token(state: &SandboxState) -> IssuedToken {
    let token = oauth::new_user_token(
        state,
        KNOWN_SCOPES.iter().map(|s| s.to_string()).collect(),
        true,
        None,
    );
    IssuedToken {
        access_token: token,
        refresh_token: None,
    }
}

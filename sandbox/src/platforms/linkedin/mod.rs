//! LinkedIn: OAuth (`www.linkedin.com/oauth/v2`), `/v2/userinfo`, and the versioned `/rest` API (posts
//! and the author finder, images, videos, organization roles, organizations, share statistics) under
//! `/linkedin/...`. Upload URLs the sandbox hands out point at `/linkedin/_upload/...`. The legacy
//! `/v2/organizationalEntityAcls` and `/v2/organizationalEntityShareStatistics` answer 404: their
//! versioned forms replace them. Rest.li 2.0 values in a query (`List(...)`) are read from the raw
//! query string, so a value whose structure was percent-encoded is refused (see [`restli`]).
//!
//! Every `/rest` call needs `LinkedIn-Version: YYYYMM`: missing -> 400 `VERSION_MISSING`; a version
//! older than `LinkedInConfig::version_window_months` before the sandbox clock's month, or later than
//! that month, -> 426 `NONEXISTENT_VERSION` (the 426 itself is unconfirmed in the facts).

pub(crate) mod errors;
mod media;
mod oauth;
mod organizations;
mod posts;
pub(crate) mod restli;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;

use self::errors::LiError;
use super::tokens::{TokenInfo, TokenProblem, TokenStore};
use crate::http::Req;
use crate::request_log::lock;
use crate::seed;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// A seeded organization.
#[derive(Clone, Debug)]
pub(crate) struct Org {
    pub id: String,
    pub name: String,
    pub vanity: String,
    /// Whether the seeded member administers it.
    pub admin: bool,
}

/// A created post.
#[derive(Clone, Debug)]
pub(crate) struct LiPost {
    /// The post as sent, plus `id` and `createdAt`.
    pub body: serde_json::Value,
}

/// An image upload.
#[derive(Clone, Debug)]
pub(crate) struct Image {
    pub urn: String,
    pub owner: String,
    pub upload_token: String,
    pub expires_at: i64,
    pub uploaded_bytes: Option<usize>,
}

/// A video upload.
#[derive(Clone, Debug)]
pub(crate) struct Video {
    pub urn: String,
    pub owner: String,
    pub size: u64,
    pub upload_token: String,
    pub expires_at: i64,
    /// (first byte, last byte, etag once uploaded).
    pub parts: Vec<(u64, u64, Option<String>)>,
    pub finalized_at: Option<i64>,
    /// A part began with the failure marker: processing ends `PROCESSING_FAILED`.
    pub fails: bool,
}

/// Everything the LinkedIn imitation holds.
#[derive(Debug)]
pub struct LinkedInState {
    pub(crate) tokens: TokenStore,
    pub(crate) orgs: Vec<Org>,
    pub(crate) posts: BTreeMap<String, LiPost>,
    pub(crate) images: HashMap<String, Image>,
    pub(crate) videos: HashMap<String, Video>,
    /// Refresh token -> its fixed expiry (refreshing does not extend it).
    pub(crate) refresh_expiry: HashMap<String, i64>,
}

impl LinkedInState {
    pub(crate) fn seed() -> LinkedInState {
        LinkedInState {
            tokens: TokenStore::default(),
            orgs: vec![
                Org {
                    id: seed::LINKEDIN_ORG_ID.into(),
                    name: "Sandbox Corp".into(),
                    vanity: "sandbox-corp".into(),
                    admin: true,
                },
                Org {
                    id: seed::LINKEDIN_OTHER_ORG_ID.into(),
                    name: "Elsewhere Ltd".into(),
                    vanity: "elsewhere".into(),
                    admin: false,
                },
            ],
            posts: BTreeMap::new(),
            images: HashMap::new(),
            videos: HashMap::new(),
            refresh_expiry: HashMap::new(),
        }
    }

    /// Whether the member may act as `owner` (`urn:li:person:<member>` or an administered organization).
    pub(crate) fn may_act_as(&self, member: &str, owner: &str) -> bool {
        if let Some(p) = owner.strip_prefix("urn:li:person:") {
            return p == member;
        }
        owner
            .strip_prefix("urn:li:organization:")
            .is_some_and(|o| self.orgs.iter().any(|org| org.id == o && org.admin))
    }
}

/// The member behind a request.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub info: TokenInfo,
}

impl Member {
    pub fn id(&self) -> &str {
        &self.info.subject
    }

    pub fn has(&self, scope: &str) -> bool {
        self.info.scopes.iter().any(|s| s == scope)
    }
}

fn authenticate(state: &SandboxState, req: &Req) -> Result<Member, LiError> {
    let token = req
        .bearer()
        .ok_or_else(|| LiError::token("INVALID_ACCESS_TOKEN"))?;
    let now = state.clock.now_unix();
    let info = match lock(&state.linkedin).tokens.check_access(token, now) {
        Ok(i) => i.clone(),
        Err(TokenProblem::Expired) => return Err(LiError::token("EXPIRED_ACCESS_TOKEN")),
        Err(TokenProblem::Revoked) => return Err(LiError::token("REVOKED_ACCESS_TOKEN")),
        Err(_) => return Err(LiError::token("INVALID_ACCESS_TOKEN")),
    };
    let cfg = &state.config.linkedin;
    if state
        .limits
        .hit(
            &format!("linkedin:token:{token}"),
            cfg.calls_per_minute,
            60_000,
            state.clock.now_ms(),
        )
        .exceeded
    {
        return Err(LiError::throttled());
    }
    Ok(Member { info })
}

/// `YYYYMM` of a Unix time.
fn month_index(secs: i64) -> i64 {
    let c = crate::clock::civil_from_unix(secs);
    c.year * 12 + i64::from(c.month) - 1
}

fn check_version(state: &SandboxState, req: &Req) -> Result<(), LiError> {
    let Some(v) = req.header("linkedin-version") else {
        return Err(LiError::bad("A version must be present. Please specify a version by adding the LinkedIn-Version header.").code("VERSION_MISSING"));
    };
    let v = v.trim();
    let parsed = (v.len() == 6 && v.bytes().all(|c| c.is_ascii_digit()))
        .then(|| (v[..4].parse::<i64>().ok(), v[4..].parse::<i64>().ok()))
        .and_then(|(y, m)| Some((y?, m?)))
        .filter(|(_, m)| (1..=12).contains(m));
    let Some((year, month)) = parsed else {
        return Err(LiError::nonexistent_version(v));
    };
    let asked = year * 12 + month - 1;
    let current = month_index(state.clock.now_unix());
    if asked > current || asked < current - state.config.linkedin.version_window_months {
        return Err(LiError::nonexistent_version(v));
    }
    Ok(())
}

/// Routes one LinkedIn request.
pub(crate) async fn handle(state: &Arc<SandboxState>, req: Req) -> Response {
    let segs: Vec<String> = req.segments.clone();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.clone();
    let result = match (&m, segs.as_slice()) {
        (&Method::GET, ["oauth", "v2", "authorization"]) => Ok(oauth::authorize(state, &req)),
        (&Method::POST, ["oauth", "v2", "accessToken"]) => Ok(oauth::access_token(state, &req)),
        (&Method::PUT, ["_upload", kind, rest @ ..]) => media::upload(state, &req, kind, rest),
        (_, ["v2", rest @ ..]) => match authenticate(state, &req) {
            Ok(member) => route_v2(&req, &member, rest),
            Err(e) => Err(e),
        },
        (_, ["rest", rest @ ..]) => {
            match check_version(state, &req).and_then(|()| authenticate(state, &req)) {
                Ok(member) => route_rest(state, &req, &member, rest),
                Err(e) => Err(e),
            }
        }
        _ => Err(LiError::not_found()),
    };
    result.unwrap_or_else(LiError::into_response)
}

fn route_v2(req: &Req, member: &Member, rest: &[&str]) -> Result<Response, LiError> {
    match (&req.method, rest) {
        (&Method::GET, ["userinfo"]) => oauth::userinfo(member),
        _ => Err(LiError::not_found()),
    }
}

fn route_rest(
    state: &SandboxState,
    req: &Req,
    member: &Member,
    rest: &[&str],
) -> Result<Response, LiError> {
    match (&req.method, rest) {
        (&Method::POST, ["posts"]) => posts::create(state, req, member),
        (&Method::GET, ["posts"]) => posts::by_author(state, req, member),
        (&Method::GET, ["posts", urn]) => posts::get(state, urn),
        (&Method::DELETE, ["posts", urn]) => posts::delete(state, member, urn),
        (&Method::POST, ["images"]) => media::images_action(state, req, member),
        (&Method::GET, ["images", urn]) => media::get_image(state, urn),
        (&Method::POST, ["videos"]) => media::videos_action(state, req, member),
        (&Method::GET, ["videos", urn]) => media::get_video(state, urn),
        (&Method::GET, ["organizationalEntityShareStatistics"]) => {
            organizations::share_statistics(state, req, member)
        }
        (&Method::GET, ["organizationAcls"]) => organizations::acls(state, req, member),
        (&Method::GET, ["organizations"]) => organizations::lookup(state, req, member),
        _ => Err(LiError::not_found()),
    }
}

/// The body as a JSON object.
pub(crate) fn body_object(
    req: &Req,
) -> Result<serde_json::Map<String, serde_json::Value>, LiError> {
    match req.json() {
        Ok(serde_json::Value::Object(o)) => Ok(o),
        Ok(_) => Err(LiError::bad("The request body must be a JSON object")),
        Err(e) => Err(LiError::new(StatusCode::BAD_REQUEST, e)),
    }
}

/// The posts the sandbox holds (each as created, with `id`, `createdAt` and `lastModifiedAt`),
/// oldest first: what a test counts to prove a post was made once.
pub fn posts(state: &SandboxState) -> Vec<serde_json::Value> {
    let li = lock(&state.linkedin);
    let mut posts: Vec<serde_json::Value> = li.posts.values().map(|p| p.body.clone()).collect();
    posts.sort_by_key(|p| p.get("createdAt").and_then(serde_json::Value::as_i64));
    posts
}

/// Revokes a LinkedIn token and its grant.
pub(crate) fn revoke(state: &SandboxState, token: &str) -> bool {
    lock(&state.linkedin).tokens.revoke(token)
}

/// Tokens for the seeded member with every scope.
pub(crate) fn issue_token(state: &SandboxState, scopes: Option<Vec<String>>) -> IssuedToken {
    let scopes =
        scopes.unwrap_or_else(|| oauth::KNOWN_SCOPES.iter().map(|s| s.to_string()).collect());
    let (access, refresh) = oauth::new_tokens(state, scopes, None);
    IssuedToken {
        access_token: access,
        refresh_token: refresh,
    }
}

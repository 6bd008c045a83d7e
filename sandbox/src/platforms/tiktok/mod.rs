//! TikTok under `/tiktok/...`: the authorize page (`www.tiktok.com/v2/auth/authorize/`), OAuth v2
//! (`/v2/oauth/token/`, `/v2/oauth/revoke/`), user info, the Content Posting API (creator info, video
//! init with chunk arithmetic, chunk uploads at `/tiktok/upload/video/`, status), photos, drafts and
//! video queries. There is no delete.

pub(crate) mod errors;
mod oauth;
mod publish;
mod queries;
mod upload;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use serde_json::Value;

use self::errors::TtError;
use super::tokens::{TokenInfo, TokenProblem, TokenStore};
use crate::http::Req;
use crate::request_log::lock;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// Where a publish's media comes from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// Chunked upload.
    File {
        video_size: u64,
        chunk_size: u64,
        total_chunks: u64,
        uploaded: u64,
        upload_id: String,
        upload_token: String,
        completed_at: Option<i64>,
    },
    /// The platform downloads from a URL.
    Pull { fails: bool },
    /// Photo post from URLs.
    Photos,
}

/// One publish (direct post, inbox draft or photo post).
#[derive(Clone, Debug)]
pub(crate) struct Publish {
    pub open_id: String,
    pub inbox: bool,
    pub source: Source,
    pub privacy_level: Option<String>,
    pub title: String,
    pub created_at: i64,
    pub post_id: String,
    pub fail_reason: Option<&'static str>,
}

/// Everything the TikTok imitation holds.
#[derive(Debug)]
pub struct TikTokState {
    pub(crate) tokens: TokenStore,
    pub(crate) publishes: BTreeMap<String, Publish>,
}

impl TikTokState {
    pub(crate) fn seed() -> TikTokState {
        TikTokState {
            tokens: TokenStore::default(),
            publishes: BTreeMap::new(),
        }
    }
}

/// The creator's privacy options (FOLLOWER_OF_CREATOR is offered to private accounts only).
pub(crate) const PRIVACY_OPTIONS: &[&str] =
    &["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"];

/// The caller behind a request.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub token: String,
    pub info: TokenInfo,
}

impl Caller {
    pub fn require(&self, scope: &str) -> Result<(), TtError> {
        if self.info.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(TtError::new(
                "scope_not_authorized",
                format!(
                    "The user did not authorize the scope required for completing this request ({scope})."
                ),
            ))
        }
    }
}

fn authenticate(state: &SandboxState, req: &Req) -> Result<Caller, TtError> {
    let token = req.bearer().ok_or_else(|| {
        TtError::new(
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )
    })?;
    match lock(&state.tiktok)
        .tokens
        .check_access(token, state.clock.now_unix())
    {
        Ok(info) => Ok(Caller {
            token: token.to_string(),
            info: info.clone(),
        }),
        Err(TokenProblem::Expired) => Err(TtError::new(
            "access_token_invalid",
            "The access token has expired.",
        )),
        Err(TokenProblem::Revoked) => Err(TtError::new(
            "access_token_invalid",
            "The access token has been revoked.",
        )),
        Err(_) => Err(TtError::new(
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )),
    }
}

/// Counts a call against a per-token, per-endpoint minute budget.
pub(crate) fn limit(
    state: &SandboxState,
    caller: &Caller,
    endpoint: &str,
    per_minute: u64,
) -> Result<(), TtError> {
    let key = format!("tiktok:{endpoint}:{}", caller.token);
    if state
        .limits
        .hit(&key, per_minute, 60_000, state.clock.now_ms())
        .exceeded
    {
        return Err(TtError::new(
            "rate_limit_exceeded",
            "The API rate limit was exceeded. Please try again later.",
        ));
    }
    Ok(())
}

/// Routes one TikTok request.
pub(crate) async fn handle(state: &Arc<SandboxState>, req: Req) -> Response {
    let segs: Vec<String> = req.segments.clone();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.clone();
    match (&m, segs.as_slice()) {
        (&Method::GET, ["v2", "auth", "authorize"]) => return oauth::authorize(state, &req),
        (&Method::POST, ["v2", "oauth", "token"]) => return oauth::token(state, &req),
        (&Method::POST, ["v2", "oauth", "revoke"]) => return oauth::revoke_endpoint(state, &req),
        (&Method::PUT, ["upload", "video"]) => return upload::put_chunk(state, &req),
        _ => {}
    }
    let result = authenticate(state, &req).and_then(|caller| match (&m, segs.as_slice()) {
        (&Method::GET, ["v2", "user", "info"]) => queries::user_info(state, &req, &caller),
        (&Method::POST, ["v2", "post", "publish", "creator_info", "query"]) => {
            queries::creator_info(state, &caller)
        }
        (&Method::POST, ["v2", "post", "publish", "video", "init"]) => {
            publish::video_init(state, &req, &caller, false)
        }
        (&Method::POST, ["v2", "post", "publish", "inbox", "video", "init"]) => {
            publish::video_init(state, &req, &caller, true)
        }
        (&Method::POST, ["v2", "post", "publish", "content", "init"]) => {
            publish::content_init(state, &req, &caller)
        }
        (&Method::POST, ["v2", "post", "publish", "status", "fetch"]) => {
            publish::status(state, &req, &caller)
        }
        (&Method::POST, ["v2", "video", "query"]) => queries::video_query(state, &req, &caller),
        (&Method::POST, ["v2", "video", "list"]) => queries::video_list(state, &req, &caller),
        _ => Err(TtError::new(
            "invalid_params",
            format!("No {} endpoint at {}", m, req.path),
        )
        .with_status(axum::http::StatusCode::NOT_FOUND)),
    });
    result.unwrap_or_else(TtError::into_response)
}

impl TtError {
    pub(crate) fn with_status(mut self, status: axum::http::StatusCode) -> TtError {
        self.status = status;
        self
    }
}

/// The body as a JSON object.
pub(crate) fn body_object(req: &Req) -> Result<serde_json::Map<String, Value>, TtError> {
    match req.json() {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(TtError::params("The request body must be a JSON object.")),
        Err(e) => Err(TtError::params(e)),
    }
}

/// Revokes a TikTok token and its grant.
pub(crate) fn revoke(state: &SandboxState, token: &str) -> bool {
    lock(&state.tiktok).tokens.revoke(token)
}

/// Tokens for the seeded creator with every scope.
pub(crate) fn issue_token(state: &SandboxState, scopes: Option<Vec<String>>) -> IssuedToken {
    let scopes =
        scopes.unwrap_or_else(|| oauth::KNOWN_SCOPES.iter().map(|s| s.to_string()).collect());
    let t = oauth::new_tokens(state, scopes, None);
    let access = t
        .get("access_token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let refresh = t
        .get("refresh_token")
        .and_then(Value::as_str)
        .map(str::to_string);
    IssuedToken {
        access_token: access,
        refresh_token: refresh,
    }
}

//! TikTok errors: every API answer is `{"data":...,"error":{"code","message","log_id"}}` with code `ok`
//! on success; the OAuth endpoints answer `{"error","error_description","log_id"}`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{self, Req};

/// Error names the control API accepts for TikTok.
pub(crate) const NAMES: &str = "access_token_invalid, scope_not_authorized, scope_permission_missed, invalid_params, invalid_file_upload, rate_limit_exceeded, internal_error, spam_risk_too_many_posts, spam_risk_user_banned_from_posting, spam_risk_too_many_pending_share, reached_active_user_cap, unaudited_client_can_only_post_to_private_accounts, url_ownership_unverified, privacy_level_option_mismatch, OAuth errors (invalid_grant, invalid_request, invalid_client, access_denied, invalid_scope), or an HTTP status such as 503";

const API_CODES: &[(&str, u16)] = &[
    ("access_token_invalid", 401),
    ("scope_not_authorized", 401),
    ("scope_permission_missed", 401),
    ("invalid_params", 400),
    ("invalid_file_upload", 400),
    ("rate_limit_exceeded", 429),
    ("internal_error", 500),
    ("spam_risk_too_many_posts", 403),
    ("spam_risk_user_banned_from_posting", 403),
    ("spam_risk_too_many_pending_share", 403),
    ("reached_active_user_cap", 403),
    ("unaudited_client_can_only_post_to_private_accounts", 403),
    ("url_ownership_unverified", 403),
    ("privacy_level_option_mismatch", 400),
];

const OAUTH_CODES: &[&str] = &[
    "invalid_grant",
    "invalid_request",
    "invalid_client",
    "access_denied",
    "invalid_scope",
];

/// A fresh log id.
pub(crate) fn log_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x7100);
    let mut seed = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("2026{:016X}", crate::faults::splitmix64(&mut seed))
}

/// A TikTok API error.
#[derive(Clone, Debug)]
pub(crate) struct TtError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl TtError {
    pub fn new(code: &str, message: impl Into<String>) -> TtError {
        let status = API_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .and_then(|(_, s)| StatusCode::from_u16(*s).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        TtError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn params(message: impl Into<String>) -> TtError {
        TtError::new("invalid_params", message)
    }

    pub fn into_response(self) -> Response {
        http::json(
            self.status,
            &json!({"data": {}, "error": {"code": self.code, "message": self.message, "log_id": log_id()}}),
        )
    }
}

/// A success answer.
pub(crate) fn ok(data: Value) -> Response {
    http::json(
        StatusCode::OK,
        &json!({"data": data, "error": {"code": "ok", "message": "", "log_id": log_id()}}),
    )
}

/// An OAuth endpoint error.
pub(crate) fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    http::json(
        status,
        &json!({"error": error, "error_description": description, "log_id": log_id()}),
    )
}

pub(crate) fn named(name: &str, req: &Req) -> Option<Response> {
    if OAUTH_CODES.contains(&name) {
        let status = if name == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        return Some(oauth(status, name, "The sandbox injected this error."));
    }
    if API_CODES.iter().any(|(c, _)| *c == name) {
        return Some(TtError::new(name, "The sandbox injected this error.").into_response());
    }
    let status = StatusCode::from_u16(name.parse().ok()?)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())?;
    if req.path.starts_with("/v2/oauth/") {
        return Some(oauth(
            status,
            "server_error",
            "The sandbox injected this error.",
        ));
    }
    let code = match status.as_u16() {
        401 => "access_token_invalid",
        429 => "rate_limit_exceeded",
        s if s >= 500 => "internal_error",
        _ => "invalid_params",
    };
    let mut e = TtError::new(code, "The sandbox injected this error.");
    e.status = status;
    Some(e.into_response())
}

//! TikTok OAuth v2: authorize (auto-consent, comma-separated scopes), token (authorization_code and
//! refresh_token grants), revoke. With rotation (the newer documentation, default) a refresh returns a
//! new refresh token and the used one fails with `invalid_grant` from then on; the older reading
//! (`TikTokConfig::older_reading`) returns the same refresh token.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::oauth;
use crate::http::{self, Req};
use crate::platforms::tokens::{AuthCode, TokenInfo, TokenProblem, valid_redirect};
use crate::request_log::lock;
use crate::seed;
use crate::state::SandboxState;

/// Scopes the authorize page accepts.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.publish",
    "video.upload",
    "video.list",
];

pub(super) fn authorize(state: &SandboxState, req: &Req) -> Response {
    if req.q("client_key") != Some(seed::TIKTOK_CLIENT_KEY) {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client_key is not known",
        );
    }
    let Some(redirect_uri) = req.q("redirect_uri").filter(|r| valid_redirect(r)) else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri must be an absolute http(s) URL",
        );
    };
    let back_with = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = req.q("state") {
            pairs.push(("state", s));
        }
        http::redirect(&http::append_query(redirect_uri, &pairs))
    };
    if req.q("response_type") != Some("code") {
        return back_with("invalid_request", "response_type must be code");
    }
    let scopes: Vec<String> = req
        .q("scope")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return back_with("invalid_scope", "One or more scopes are not valid");
    }
    let code = state.token("", 64);
    lock(&state.tiktok).tokens.add_code(
        code.clone(),
        AuthCode {
            client_id: seed::TIKTOK_CLIENT_KEY.into(),
            redirect_uri: redirect_uri.into(),
            scopes: scopes.clone(),
            subject: seed::TIKTOK_OPEN_ID.into(),
            expires_at: state.clock.now_unix() + 300,
            offline: false,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    let joined = scopes.join(",");
    pairs.push(("scopes", &joined));
    if let Some(s) = req.q("state") {
        pairs.push(("state", s));
    }
    http::redirect(&http::append_query(redirect_uri, &pairs))
}

/// Issues tokens; with `refresh`, first checks that refresh token and (with rotation) retires it, all
/// under one lock hold so two refreshes with the same token cannot both succeed. Returns the answer body.
pub(crate) fn new_tokens(
    state: &SandboxState,
    scopes: Vec<String>,
    refresh: Option<&str>,
) -> Value {
    match issue(state, scopes, refresh) {
        Ok(v) => v,
        Err(_) => Value::Null,
    }
}

fn issue(
    state: &SandboxState,
    scopes: Vec<String>,
    old: Option<&str>,
) -> Result<Value, TokenProblem> {
    let cfg = &state.config.tiktok;
    let now = state.clock.now_unix();
    let access = format!("act.{}", state.token("", 64));
    let mut tt = lock(&state.tiktok);
    let (grant, scopes, refresh, refresh_expires_at) = match old {
        Some(old) => {
            let info = tt.tokens.check_refresh(old, now)?.clone();
            if cfg.rotate_refresh_tokens {
                tt.tokens.retire_refresh(old);
                (
                    info.grant,
                    info.scopes,
                    format!("rft.{}", state.token("", 64)),
                    now + cfg.refresh_token_secs,
                )
            } else {
                (
                    info.grant,
                    info.scopes,
                    old.to_string(),
                    info.expires_at.unwrap_or(now),
                )
            }
        }
        None => (
            tt.tokens.new_grant(),
            scopes,
            format!("rft.{}", state.token("", 64)),
            now + cfg.refresh_token_secs,
        ),
    };
    let info = |expires_at: i64, kind: &str| TokenInfo {
        grant,
        subject: seed::TIKTOK_OPEN_ID.into(),
        scopes: scopes.clone(),
        expires_at: Some(expires_at),
        kind: kind.into(),
    };
    tt.tokens
        .add_refresh(refresh.clone(), info(refresh_expires_at, "refresh"));
    tt.tokens
        .add_access(access.clone(), info(now + cfg.access_token_secs, "access"));
    Ok(json!({
        "open_id": seed::TIKTOK_OPEN_ID,
        "scope": scopes.join(","),
        "access_token": access,
        "expires_in": cfg.access_token_secs,
        "refresh_token": refresh,
        "refresh_expires_in": refresh_expires_at - now,
        "token_type": "Bearer",
    }))
}

pub(super) fn token(state: &SandboxState, req: &Req) -> Response {
    let form = req.form();
    let f = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if f("client_key").as_deref() != Some(seed::TIKTOK_CLIENT_KEY)
        || f("client_secret").as_deref() != Some(seed::TIKTOK_CLIENT_SECRET)
    {
        return oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client key or secret is incorrect.",
        );
    }
    let now = state.clock.now_unix();
    let body = match f("grant_type").as_deref() {
        Some("authorization_code") => {
            let Some(code) = f("code") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required",
                );
            };
            let taken = lock(&state.tiktok).tokens.take_code(
                &code,
                seed::TIKTOK_CLIENT_KEY,
                f("redirect_uri").as_deref(),
                now,
            );
            match taken {
                Ok(auth) => new_tokens(state, auth.scopes, None),
                Err(_) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Authorization code is expired or invalid.",
                    );
                }
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = f("refresh_token") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            match issue(state, Vec::new(), Some(&refresh)) {
                Ok(body) => body,
                Err(TokenProblem::Reused) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Refresh token has already been used.",
                    );
                }
                Err(_) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Refresh token is invalid or expired.",
                    );
                }
            }
        }
        _ => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type must be authorization_code or refresh_token",
            );
        }
    };
    http::json(StatusCode::OK, &body)
}

/// `POST /v2/oauth/revoke/` form `client_key, client_secret, token`.
pub(super) fn revoke_endpoint(state: &SandboxState, req: &Req) -> Response {
    let form = req.form();
    let f = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if f("client_key").as_deref() != Some(seed::TIKTOK_CLIENT_KEY)
        || f("client_secret").as_deref() != Some(seed::TIKTOK_CLIENT_SECRET)
    {
        return oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client key or secret is incorrect.",
        );
    }
    let token = f("token").unwrap_or_default();
    if lock(&state.tiktok).tokens.revoke(&token) {
        http::json(StatusCode::OK, &json!({}))
    } else {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token is not valid.",
        )
    }
}

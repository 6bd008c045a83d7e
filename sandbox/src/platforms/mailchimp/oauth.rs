//! Mailchimp OAuth (`login.mailchimp.com/oauth2`): authorize (auto-consent), token (never expires,
//! `expires_in: 0`), and metadata telling the account's data centre and API endpoint.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::http::{self, Req};
use crate::platform::Platform;
use crate::platforms::tokens::{AuthCode, TokenInfo, redirect_with_code, valid_redirect};
use crate::request_log::lock;
use crate::seed;
use crate::state::SandboxState;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    http::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

pub(super) fn handle(state: &Arc<SandboxState>, req: &Req, rest: &[&str]) -> Response {
    match (&req.method, rest) {
        (&Method::GET, ["authorize"]) => authorize(state, req),
        (&Method::POST, ["token"]) => token(state, req),
        (&Method::GET, ["metadata"]) => metadata(state, req),
        _ => oauth_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such OAuth endpoint.",
        ),
    }
}

fn authorize(state: &SandboxState, req: &Req) -> Response {
    if req.q("response_type") != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    if req.q("client_id") != Some(seed::MAILCHIMP_CLIENT_ID) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Invalid client_id",
        );
    }
    let Some(redirect_uri) = req.q("redirect_uri").filter(|r| valid_redirect(r)) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri must be an absolute http(s) URL",
        );
    };
    let code = state.token("", 32);
    let account = lock(&state.mailchimp).accounts[0].id.clone();
    lock(&state.mailchimp).oauth.add_code(
        code.clone(),
        AuthCode {
            client_id: seed::MAILCHIMP_CLIENT_ID.into(),
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            subject: account,
            expires_at: state.clock.now_unix() + 600,
            offline: false,
        },
    );
    http::redirect(&redirect_with_code(redirect_uri, &code, req.q("state")))
}

fn token(state: &SandboxState, req: &Req) -> Response {
    let form = req.form();
    let f = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if f("grant_type") != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    if f("client_id") != Some(seed::MAILCHIMP_CLIENT_ID)
        || f("client_secret") != Some(seed::MAILCHIMP_CLIENT_SECRET)
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client credentials",
        );
    }
    let Some(code) = f("code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    };
    let now = state.clock.now_unix();
    let mut mc = lock(&state.mailchimp);
    let Ok(auth) = mc
        .oauth
        .take_code(code, seed::MAILCHIMP_CLIENT_ID, f("redirect_uri"), now)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid authorization code",
        );
    };
    let token = state.token("", 32);
    let grant = mc.oauth.new_grant();
    mc.oauth.add_access(
        token.clone(),
        TokenInfo {
            grant,
            subject: auth.subject,
            scopes: Vec::new(),
            expires_at: None,
            kind: "oauth".into(),
        },
    );
    http::json(
        StatusCode::OK,
        &json!({"access_token": token, "expires_in": 0, "scope": null}),
    )
}

fn metadata(state: &SandboxState, req: &Req) -> Response {
    let Some(token) = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_string())
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Missing OAuth token",
        );
    };
    let mc = lock(&state.mailchimp);
    let Some(account) = mc
        .oauth
        .check_access(&token, state.clock.now_unix())
        .ok()
        .and_then(|i| mc.account(&i.subject))
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Invalid or revoked OAuth token",
        );
    };
    let endpoint = format!("{}/{}", state.platform_url(Platform::Mailchimp), account.dc);
    http::json(
        StatusCode::OK,
        &json!({
            "dc": account.dc,
            "role": "owner",
            "accountname": account.name,
            "user_id": 100_000_001,
            "login": {"email": "owner@example.com", "login_id": 100_000_001, "login_name": "sandbox-owner"},
            "login_url": "https://login.mailchimp.com",
            "api_endpoint": endpoint,
        }),
    )
}

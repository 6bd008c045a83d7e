//! Google OAuth 2.0: authorize (auto-consent; a refresh token comes with `access_type=offline` on the
//! first consent or with `prompt=consent`), the token endpoint (a refresh returns no new refresh
//! token), and revoke. Apps in "Testing" status get refresh tokens that expire after 7 days.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::errors::oauth;
use crate::http::{self, Req};
use crate::platforms::tokens::{AuthCode, TokenInfo, redirect_with_code, valid_redirect};
use crate::request_log::lock;
use crate::seed;
use crate::state::SandboxState;

const TESTING_REFRESH_SECS: i64 = 7 * 86_400;

pub(super) fn authorize(state: &SandboxState, req: &Req) -> Response {
    if req.q("client_id") != Some(seed::GBP_CLIENT_ID) {
        return oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    let Some(redirect_uri) = req.q("redirect_uri").filter(|r| valid_redirect(r)) else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must be an absolute http(s) URL",
        );
    };
    let back_with_error = |e: &str| {
        let mut pairs = vec![("error", e)];
        if let Some(s) = req.q("state") {
            pairs.push(("state", s));
        }
        http::redirect(&http::append_query(redirect_uri, &pairs))
    };
    if req.q("response_type") != Some("code") {
        return back_with_error("unsupported_response_type");
    }
    let scopes: Vec<String> = req
        .q("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return back_with_error("invalid_scope");
    }
    let offline = req.q("access_type") == Some("offline");
    let prompt_consent = req
        .q("prompt")
        .is_some_and(|p| p.split(' ').any(|x| x == "consent"));
    let mut gbp = lock(&state.gbp);
    let first = !gbp.consented;
    gbp.consented = true;
    let code = format!("4/0A{}", state.token("", 60));
    gbp.tokens.add_code(
        code.clone(),
        AuthCode {
            client_id: seed::GBP_CLIENT_ID.into(),
            redirect_uri: redirect_uri.into(),
            scopes,
            subject: "sandbox-google-user".into(),
            expires_at: state.clock.now_unix() + 600,
            offline: offline && (first || prompt_consent),
        },
    );
    http::redirect(&redirect_with_code(redirect_uri, &code, req.q("state")))
}

/// Issues an access token; a refresh token too when `with_refresh`. `grant` is reused when refreshing.
pub(crate) fn new_tokens(
    state: &SandboxState,
    scopes: Vec<String>,
    grant: Option<u64>,
    with_refresh: bool,
) -> (String, Option<String>) {
    let cfg = &state.config.gbp;
    let now = state.clock.now_unix();
    let access = format!("ya29.{}", state.token("", 100));
    let mut gbp = lock(&state.gbp);
    let grant = grant.unwrap_or_else(|| gbp.tokens.new_grant());
    let refresh = with_refresh.then(|| format!("1//0{}", state.token("", 90)));
    if let Some(r) = &refresh {
        let expires_at = cfg.testing_app.then_some(now + TESTING_REFRESH_SECS);
        gbp.tokens.add_refresh(
            r.clone(),
            TokenInfo {
                grant,
                subject: "sandbox-google-user".into(),
                scopes: scopes.clone(),
                expires_at,
                kind: "refresh".into(),
            },
        );
    }
    gbp.tokens.add_access(
        access.clone(),
        TokenInfo {
            grant,
            subject: "sandbox-google-user".into(),
            scopes,
            expires_at: Some(now + cfg.access_token_secs),
            kind: "access".into(),
        },
    );
    (access, refresh)
}

pub(super) fn token(state: &SandboxState, req: &Req) -> Response {
    let form = req.form();
    let f = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if f("client_id").as_deref() != Some(seed::GBP_CLIENT_ID)
        || f("client_secret").as_deref() != Some(seed::GBP_CLIENT_SECRET)
    {
        return oauth(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    let now = state.clock.now_unix();
    let (scopes, grant, with_refresh) = match f("grant_type").as_deref() {
        Some("authorization_code") => {
            let Some(code) = f("code") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: code",
                );
            };
            match lock(&state.gbp).tokens.take_code(
                &code,
                seed::GBP_CLIENT_ID,
                f("redirect_uri").as_deref(),
                now,
            ) {
                Ok(auth) => (auth.scopes, None, auth.offline),
                Err(_) => return oauth(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request"),
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = f("refresh_token") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: refresh_token",
                );
            };
            match lock(&state.gbp).tokens.check_refresh(&refresh, now) {
                Ok(info) => (info.scopes.clone(), Some(info.grant), false),
                Err(_) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Token has been expired or revoked.",
                    );
                }
            }
        }
        _ => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            );
        }
    };
    let scope_text = scopes.join(" ");
    let (access, refresh) = new_tokens(state, scopes, grant, with_refresh);
    let mut body = json!({"access_token": access, "expires_in": state.config.gbp.access_token_secs, "scope": scope_text, "token_type": "Bearer"});
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    http::json(StatusCode::OK, &body)
}

/// `POST /revoke?token=` (or form `token=`).
pub(super) fn revoke_endpoint(state: &SandboxState, req: &Req) -> Response {
    let token = req
        .q("token")
        .map(str::to_string)
        .or_else(|| req.form_value("token"))
        .unwrap_or_default();
    if lock(&state.gbp).tokens.revoke(&token) {
        http::empty(StatusCode::OK)
    } else {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        )
    }
}

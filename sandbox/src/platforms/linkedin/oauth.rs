//! LinkedIn OAuth 2.0: authorization (auto-consent, space-separated scopes), the accessToken endpoint
//! for `authorization_code` and `refresh_token` grants, and `/v2/userinfo`. The refresh token keeps
//! its first expiry: refreshing returns the same refresh token and its remaining lifetime.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::Member;
use super::errors::{LiError, oauth};
use crate::http::{self, Req};
use crate::platforms::tokens::{
    AuthCode, TokenInfo, TokenProblem, redirect_with_code, valid_redirect,
};
use crate::request_log::lock;
use crate::seed;
use crate::state::SandboxState;

/// Scopes the authorization page accepts.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "w_member_social",
    // Restricted: LinkedIn grants it to approved partners only; the sandbox knows it so tests can
    // grant it and prove what a member's post finder needs.
    "r_member_social",
    "r_organization_admin",
    "rw_organization_admin",
    "w_organization_social",
    "r_organization_social",
];

pub(super) fn authorize(state: &SandboxState, req: &Req) -> Response {
    if req.q("client_id") != Some(seed::LINKEDIN_CLIENT_ID) {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "The client_id is not known",
        );
    }
    let Some(redirect_uri) = req.q("redirect_uri").filter(|r| valid_redirect(r)) else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri must be an absolute http(s) URL",
        );
    };
    let back = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = req.q("state") {
            pairs.push(("state", s));
        }
        http::redirect(&http::append_query(redirect_uri, &pairs))
    };
    if req.q("response_type") != Some("code") {
        return back("invalid_request", "response_type must be code");
    }
    let scopes: Vec<String> = req
        .q("scope")
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return back("invalid_scope", "scope is required");
    }
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return back(
            "unauthorized_scope_error",
            &format!("Scope \"{bad}\" is not authorized for your application"),
        );
    }
    let code = state.token("AQT", 60);
    lock(&state.linkedin).tokens.add_code(
        code.clone(),
        AuthCode {
            client_id: seed::LINKEDIN_CLIENT_ID.into(),
            redirect_uri: redirect_uri.into(),
            scopes,
            subject: seed::LINKEDIN_MEMBER_ID.into(),
            expires_at: state.clock.now_unix() + 1800,
            offline: false,
        },
    );
    http::redirect(&redirect_with_code(redirect_uri, &code, req.q("state")))
}

/// Issues an access token (and a refresh token for a new grant when configured).
/// `existing` is `(grant, refresh token)` when refreshing.
pub(crate) fn new_tokens(
    state: &SandboxState,
    scopes: Vec<String>,
    existing: Option<(u64, String)>,
) -> (String, Option<String>) {
    let cfg = &state.config.linkedin;
    let now = state.clock.now_unix();
    let access = state.token("AQV", 120);
    let mut li = lock(&state.linkedin);
    let (grant, refresh) = match existing {
        Some((g, r)) => (g, Some(r)),
        None => {
            let g = li.tokens.new_grant();
            let r = cfg.issue_refresh_tokens.then(|| state.token("AQX", 120));
            if let Some(r) = &r {
                li.tokens.add_refresh(
                    r.clone(),
                    TokenInfo {
                        grant: g,
                        subject: seed::LINKEDIN_MEMBER_ID.into(),
                        scopes: scopes.clone(),
                        expires_at: Some(now + cfg.refresh_token_secs),
                        kind: "refresh".into(),
                    },
                );
                li.refresh_expiry
                    .insert(r.clone(), now + cfg.refresh_token_secs);
            }
            (g, r)
        }
    };
    li.tokens.add_access(
        access.clone(),
        TokenInfo {
            grant,
            subject: seed::LINKEDIN_MEMBER_ID.into(),
            scopes,
            expires_at: Some(now + cfg.access_token_secs),
            kind: "access".into(),
        },
    );
    (access, refresh)
}

pub(super) fn access_token(state: &SandboxState, req: &Req) -> Response {
    let form = req.form();
    let f = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if f("client_id").as_deref() != Some(seed::LINKEDIN_CLIENT_ID)
        || f("client_secret").as_deref() != Some(seed::LINKEDIN_CLIENT_SECRET)
    {
        return oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let now = state.clock.now_unix();
    let cfg = &state.config.linkedin;
    let (scopes, existing) = match f("grant_type").as_deref() {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri)) = (f("code"), f("redirect_uri")) else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "A required parameter \"code\" or \"redirect_uri\" is missing",
                );
            };
            match lock(&state.linkedin).tokens.take_code(
                &code,
                seed::LINKEDIN_CLIENT_ID,
                Some(&redirect_uri),
                now,
            ) {
                Ok(auth) => (auth.scopes, None),
                Err(_) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired.",
                    );
                }
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = f("refresh_token") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "A required parameter \"refresh_token\" is missing",
                );
            };
            match lock(&state.linkedin).tokens.check_refresh(&refresh, now) {
                Ok(info) => (info.scopes.clone(), Some((info.grant, refresh))),
                Err(TokenProblem::Expired) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The provided refresh token has expired",
                    );
                }
                Err(TokenProblem::Revoked) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The provided refresh token has been revoked",
                    );
                }
                Err(_) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The provided refresh token is invalid",
                    );
                }
            }
        }
        _ => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            );
        }
    };
    let scope_text = scopes.join(",");
    let (access, refresh) = new_tokens(state, scopes, existing);
    let mut body = json!({"access_token": access, "expires_in": cfg.access_token_secs, "scope": scope_text, "token_type": "Bearer"});
    if let Some(r) = refresh {
        let expires_at = lock(&state.linkedin)
            .refresh_expiry
            .get(&r)
            .copied()
            .unwrap_or(now);
        body["refresh_token"] = json!(r);
        body["refresh_token_expires_in"] = json!(expires_at - now);
    }
    http::json(StatusCode::OK, &body)
}

/// `GET /v2/userinfo` (OpenID Connect).
pub(super) fn userinfo(member: &Member) -> Result<Response, LiError> {
    if !(member.has("openid") || member.has("profile")) {
        return Err(LiError::denied("/userinfo"));
    }
    let mut body = json!({
        "sub": member.id(),
        "name": "Sandbox Member",
        "given_name": "Sandbox",
        "family_name": "Member",
        "picture": "https://media.licdn.com/dms/image/sandbox/profile.jpg",
        "locale": {"country": "US", "language": "en"},
    });
    if member.has("email") {
        body["email"] = json!("sandbox.member@example.com");
        body["email_verified"] = json!(true);
    }
    Ok(http::json(StatusCode::OK, &body))
}

//! Facebook Login: the dialog (auto-consent), code exchange, long-lived exchange, `/me`, permissions
//! and Page tokens from `/me/accounts`. There is no refresh token: a long-lived token is re-exchanged
//! while still valid; after expiry the user must reconnect.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::errors::GraphError;
use super::{Caller, KNOWN_SCOPES, Params};
use crate::http;
use crate::platforms::tokens::{
    AuthCode, CodeProblem, TokenInfo, TokenProblem, redirect_with_code, valid_redirect,
};
use crate::request_log::lock;
use crate::seed;
use crate::state::SandboxState;

const CODE_LIFETIME_SECS: i64 = 600;

/// `GET /dialog/oauth?client_id&redirect_uri&state&scope=a,b`: consents at once and redirects back.
pub(super) fn dialog(state: &SandboxState, params: &Params) -> Response {
    if params.str("client_id").as_deref() != Some(seed::META_APP_ID) {
        return GraphError::new(101, "Error validating application. Invalid application ID.")
            .into_response();
    }
    let Some(redirect_uri) = params.str("redirect_uri").filter(|r| valid_redirect(r)) else {
        return GraphError::param("Invalid redirect_uri: the URL must be absolute http(s)")
            .into_response();
    };
    let scopes: Vec<String> = params
        .str("scope")
        .unwrap_or_else(|| "public_profile".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return GraphError::param(format_args!("Invalid Scopes: {bad}")).into_response();
    }
    let code = state.token("AQ", 64);
    let now = state.clock.now_unix();
    lock(&state.meta).tokens.add_code(
        code.clone(),
        AuthCode {
            client_id: seed::META_APP_ID.into(),
            redirect_uri: redirect_uri.clone(),
            scopes,
            subject: seed::META_USER_ID.into(),
            expires_at: now + CODE_LIFETIME_SECS,
            offline: false,
        },
    );
    http::redirect(&redirect_with_code(
        &redirect_uri,
        &code,
        params.str("state").as_deref(),
    ))
}

fn check_app(params: &Params) -> Result<(), GraphError> {
    if params.str("client_id").as_deref() != Some(seed::META_APP_ID) {
        return Err(GraphError::new(
            101,
            "Error validating application. Invalid application ID.",
        ));
    }
    if params.str("client_secret").as_deref() != Some(seed::META_APP_SECRET) {
        return Err(
            GraphError::new(1, "Error validating client secret.").status(StatusCode::BAD_REQUEST)
        );
    }
    Ok(())
}

/// Issues a user token: short-lived (code exchange) or long-lived (`fb_exchange_token`).
pub(crate) fn new_user_token(
    state: &SandboxState,
    scopes: Vec<String>,
    long: bool,
    grant: Option<u64>,
) -> String {
    let cfg = &state.config.meta;
    let token = state.token("EAAB", 96);
    let now = state.clock.now_unix();
    let mut meta = lock(&state.meta);
    let grant = grant.unwrap_or_else(|| meta.tokens.new_grant());
    let lifetime = if long {
        cfg.long_lived_token_secs
    } else {
        cfg.short_lived_token_secs
    };
    meta.tokens.add_access(
        token.clone(),
        TokenInfo {
            grant,
            subject: seed::META_USER_ID.into(),
            scopes,
            expires_at: Some(now + lifetime),
            kind: if long { "long".into() } else { "short".into() },
        },
    );
    token
}

/// `GET|POST /oauth/access_token`: code exchange, or `grant_type=fb_exchange_token`.
pub(super) fn access_token(state: &SandboxState, params: &Params) -> Result<Response, GraphError> {
    check_app(params)?;
    let cfg = &state.config.meta;
    let now = state.clock.now_unix();
    if params.str("grant_type").as_deref() == Some("fb_exchange_token") {
        let old = params
            .str("fb_exchange_token")
            .ok_or_else(|| GraphError::param("Missing fb_exchange_token parameter"))?;
        let info = {
            let meta = lock(&state.meta);
            match meta.tokens.check_access(&old, now) {
                Ok(info) if info.kind == "short" || info.kind == "long" => info.clone(),
                Ok(_) => {
                    return Err(GraphError::param(
                        "fb_exchange_token must be a user access token",
                    ));
                }
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
        let token = new_user_token(state, info.scopes, true, Some(info.grant));
        return Ok(token_answer(&token, cfg.long_lived_token_secs));
    }
    let redirect_uri = params
        .str("redirect_uri")
        .ok_or_else(|| GraphError::param("Missing redirect_uri parameter."))?;
    let code = params
        .str("code")
        .ok_or_else(|| GraphError::param("Missing code parameter."))?;
    let taken =
        lock(&state.meta)
            .tokens
            .take_code(&code, seed::META_APP_ID, Some(&redirect_uri), now);
    let auth = taken.map_err(|p| match p {
        CodeProblem::Used => GraphError::new(100, "This authorization code has been used.").sub(36009),
        CodeProblem::Expired => GraphError::new(100, "This authorization code has expired.").sub(36007),
        CodeProblem::RedirectMismatch => GraphError::new(
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        )
        .sub(36008),
        _ => GraphError::new(100, "Invalid verification code format.").sub(36009),
    })?;
    let token = new_user_token(state, auth.scopes, false, None);
    Ok(token_answer(&token, cfg.short_lived_token_secs))
}

fn token_answer(token: &str, expires_in: i64) -> Response {
    http::json(
        StatusCode::OK,
        &json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}),
    )
}

/// `GET /me?fields=id,name`.
pub(super) fn me(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
) -> Result<Response, GraphError> {
    if let Some(page_id) = caller.page_id() {
        return super::pages::page_node(state, params, page_id);
    }
    let fields = params.fields();
    let mut out = json!({"id": seed::META_USER_ID, "name": "Sandbox User"});
    for f in &fields {
        match f.as_str() {
            "email" if caller.has_scope("email") => {
                out["email"] = json!("sandbox.user@example.com")
            }
            "first_name" => out["first_name"] = json!("Sandbox"),
            "last_name" => out["last_name"] = json!("User"),
            "picture" => {
                out["picture"] = json!({"data": {"url": "https://example.com/sandbox-user.png"}})
            }
            _ => {}
        }
    }
    if !fields.is_empty()
        && !fields.iter().any(|f| f == "name")
        && let Some(o) = out.as_object_mut()
    {
        o.remove("name");
    }
    Ok(http::json(StatusCode::OK, &out))
}

/// `GET /me/permissions`: every requested scope, granted.
pub(super) fn permissions(caller: &Caller) -> Result<Response, GraphError> {
    let data: Vec<Value> = caller
        .info
        .scopes
        .iter()
        .map(|s| json!({"permission": s, "status": "granted"}))
        .collect();
    Ok(http::json(StatusCode::OK, &json!({ "data": data })))
}

/// `DELETE /me/permissions`: the user removes the app; every token of the grant stops working.
pub(super) fn delete_permissions(
    state: &SandboxState,
    caller: &Caller,
) -> Result<Response, GraphError> {
    lock(&state.meta).tokens.revoke(&caller.token);
    Ok(http::json(StatusCode::OK, &json!({"success": true})))
}

/// `GET /me/accounts?fields&limit&after`: the user's Pages with their Page tokens, paged.
pub(super) fn accounts(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    version: &str,
) -> Result<Response, GraphError> {
    if !caller.is_user() {
        return Err(GraphError::param(
            "Tried accessing nonexisting field (accounts) on node type (Page)",
        ));
    }
    let limit = params.i64("limit")?.unwrap_or(25).clamp(1, 100) as usize;
    let b64 = base64::engine::general_purpose::STANDARD;
    let start = match params.str("after") {
        Some(a) => b64
            .decode(a.as_bytes())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| GraphError::param("Invalid after cursor"))?,
        None => 0,
    };
    let mut fields = params.fields();
    if fields.is_empty() {
        fields = ["access_token", "category", "name", "id", "tasks"]
            .map(String::from)
            .to_vec();
    }
    let cfg = &state.config.meta;
    let now = state.clock.now_unix();
    let visible = caller.has_scope("pages_show_list");
    let mut meta = lock(&state.meta);
    let pages: Vec<super::Page> = if visible {
        meta.pages.clone()
    } else {
        Vec::new()
    };
    let mut data = Vec::new();
    for (i, page) in pages.iter().enumerate().skip(start).take(limit) {
        let key = (caller.info.grant, page.id.clone());
        let token = match meta.page_tokens.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t = state.token("EAAP", 96);
                // A Page token from a short-lived user token lives as long as that token; from a
                // long-lived one it does not expire (reported, unconfirmed) unless configured.
                let expires_at = if caller.info.kind == "short" {
                    caller.info.expires_at
                } else {
                    cfg.page_token_secs.map(|s| now + s)
                };
                meta.tokens.add_access(
                    t.clone(),
                    TokenInfo {
                        grant: caller.info.grant,
                        subject: caller.info.subject.clone(),
                        scopes: caller.info.scopes.clone(),
                        expires_at,
                        kind: format!("page:{}", page.id),
                    },
                );
                meta.page_tokens.insert(key, t.clone());
                t
            }
        };
        let mut entry = json!({"id": page.id});
        for f in &fields {
            match f.as_str() {
                "name" => entry["name"] = json!(page.name),
                "username" => entry["username"] = json!(page.username),
                "category" => entry["category"] = json!(page.category),
                "access_token" => entry["access_token"] = json!(token),
                "tasks" => {
                    entry["tasks"] = json!([
                        "ANALYZE",
                        "ADVERTISE",
                        "MODERATE",
                        "CREATE_CONTENT",
                        "MANAGE"
                    ])
                }
                "picture" => {
                    entry["picture"] = json!({"data": {"url": format!("https://example.com/{}.png", page.username)}})
                }
                "instagram_business_account" => {
                    if let Some(ig) = &page.ig_user_id {
                        entry["instagram_business_account"] = json!({"id": ig});
                    }
                }
                _ => {}
            }
        }
        let _ = i;
        data.push(entry);
    }
    let end = start + data.len();
    let mut paging = json!({"cursors": {"before": b64.encode(start.to_string()), "after": b64.encode(end.saturating_sub(1).max(start).to_string())}});
    if end < pages.len() {
        let after = b64.encode(end.to_string());
        paging["cursors"]["after"] = json!(after);
        let next = http::append_query(
            &format!(
                "{}/{version}/me/accounts",
                state.platform_url(crate::platform::Platform::Meta)
            ),
            &[
                ("access_token", caller.token.as_str()),
                ("fields", &fields.join(",")),
                ("limit", &limit.to_string()),
                ("after", &after),
            ],
        );
        paging["next"] = json!(next);
    }
    Ok(http::json(
        StatusCode::OK,
        &json!({"data": data, "paging": paging}),
    ))
}

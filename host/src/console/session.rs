//! Signing in and out, the session cookie, CSRF protection and the security headers.
//!
//! - Sign-in takes the admin key or a named admin's own key (`console_admins`: only its SHA-256
//!   is configured; every candidate compared in constant time, wrong keys counted against the
//!   source's failure budget like the admin API's) and opens a session in the database, so
//!   every replica knows it and signing out ends it everywhere. The cookie holds a random token
//!   (only its SHA-256 is stored): `HttpOnly`, `Secure`, `SameSite=Strict`, `Path=/console`,
//!   for [`SESSION_TTL`]. The console therefore needs https, or a loopback address, which
//!   browsers treat as secure.
//! - Every change is a `POST` carrying the session's CSRF token, as the form field `csrf` or the
//!   `x-csrf-token` header (the upload script's); a change without it is refused before any
//!   handler runs. The sign-in form itself is protected by a double-submit token (a cookie and a
//!   field that must match), so no other site can sign a browser in.
//! - Every console answer carries a strict Content-Security-Policy (scripts and styles from
//!   the console's own files only, no framing), `nosniff`, `no-referrer` and `no-store`.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::page::{ConsoleError, render};
use crate::api::{Admin, ApiState, constant_time_eq, source};
use crate::store::{ConsoleSession, random_token};

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The session cookie.
pub const SESSION_COOKIE: &str = "postd_console";
/// The sign-in form's double-submit cookie.
const SIGN_IN_COOKIE: &str = "postd_console_sign_in";
/// The largest form a console change reads.
pub const MAX_FORM: usize = 256 << 10;

/// A signed-in admin: the session and the admin API identity its changes are made as.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The session.
    pub session: ConsoleSession,
}

impl Signed {
    /// The admin, as the admin API's handlers take it.
    pub fn admin(&self) -> Admin {
        Admin::console(&self.session.admin)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| Redirect::to("/console/sign-in").into_response())
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        max_age.as_secs()
    ))
    .expect("cookie values are tokens")
}

/// Every console request passes here: the security headers on the way out; on the way in,
/// the session (pages other than sign-in need one) and, for changes, its CSRF token.
pub async fn guard(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let mut response = match check(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    };
    harden(
        response.headers_mut(),
        state.public_url.starts_with("https://"),
    );
    response
}

/// Sets the security headers of a page the host renders (the console's and the connect page's):
/// scripts and styles from the host's own files only, no framing, no sniffing, no referrer, no
/// caching; HSTS when the host is served over https.
pub fn harden(headers: &mut HeaderMap, https: bool) {
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

async fn check(state: &ApiState, request: Request) -> Result<Request, Response> {
    let path = request.uri().path();
    if path == "/console/sign-in" || path.starts_with("/console/assets/") {
        return Ok(request);
    }
    if !state.console_enabled() {
        return Err(not_found());
    }
    let now = state.pipeline.now();
    let session = match cookie(request.headers(), SESSION_COOKIE) {
        Some(token) => state
            .store()
            .console_session(token, now)
            .await
            .map_err(|e| ConsoleError::from(crate::api::ApiError::from(e)).into_response())?,
        None => None,
    };
    let Some(session) = session else {
        return Err(if request.method() == Method::GET {
            Redirect::to("/console/sign-in").into_response()
        } else {
            refused("You are signed out: sign in again, then repeat the change.")
        });
    };
    let (mut parts, body) = request.into_parts();
    let body = if parts.method == Method::GET || parts.method == Method::HEAD {
        body
    } else {
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (token, body) = match header_token {
            Some(token) => (Some(token), body),
            None => {
                let bytes = axum::body::to_bytes(body, MAX_FORM)
                    .await
                    .map_err(|_| refused("The form is larger than the console reads."))?;
                let token = form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned());
                (token, Body::from(bytes))
            }
        };
        let valid = token.is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf.as_bytes()));
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "console change refused: no valid CSRF token");
            return Err(refused(
                "This change did not carry the console's CSRF token: reload the page and try again.",
            ));
        }
        body
    };
    parts.extensions.insert(Signed { session });
    Ok(Request::from_parts(parts, body))
}

fn refused(message: &str) -> Response {
    ConsoleError::new(StatusCode::FORBIDDEN, message).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "the console is off: set an admin key",
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    token: String,
    error: Option<String>,
}

/// `GET /console/sign-in`
pub async fn sign_in_page(State(state): State<Arc<ApiState>>) -> Response {
    if !state.console_enabled() {
        return not_found();
    }
    sign_in_form(None, StatusCode::OK)
}

fn sign_in_form(error: Option<String>, status: StatusCode) -> Response {
    let token = random_token("");
    let mut response = render(&SignInPage {
        token: token.clone(),
        error,
    });
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &token, Duration::from_secs(3600)),
    );
    response
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignIn {
    key: String,
    token: String,
}

/// `POST /console/sign-in`
pub async fn sign_in(
    State(state): State<Arc<ApiState>>,
    parts: http::request::Parts,
    Form(form): Form<SignIn>,
) -> Response {
    if !state.console_enabled() {
        return not_found();
    }
    let double_submitted = cookie(&parts.headers, SIGN_IN_COOKIE)
        .is_some_and(|c| constant_time_eq(c.as_bytes(), form.token.as_bytes()));
    if !double_submitted {
        return sign_in_form(
            Some("The sign-in form expired: enter the key again.".into()),
            StatusCode::FORBIDDEN,
        );
    }
    let from = source(&parts);
    if state.auth_failures.check(from).is_err() {
        return sign_in_form(
            Some("Too many wrong keys from this address: wait a minute.".into()),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Some(admin) = who(&state, form.key.trim()) else {
        state.auth_failures.record_failure(from);
        tracing::warn!(source = %from, "console sign-in refused: wrong key");
        return sign_in_form(Some("Wrong admin key.".into()), StatusCode::UNAUTHORIZED);
    };
    let now = state.pipeline.now();
    let expires = now + SESSION_TTL.as_millis() as i64;
    match state
        .store()
        .open_console_session(&admin, now, expires)
        .await
    {
        Ok((token, _)) => {
            tracing::info!(source = %from, %admin, "console sign-in");
            let mut response = Redirect::to("/console").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, SESSION_TTL),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(SIGN_IN_COOKIE, "", Duration::ZERO),
            );
            response
        }
        Err(error) => ConsoleError::from(crate::api::ApiError::from(error)).into_response(),
    }
}

/// The admin `key` signs in as: `admin` for the admin key, a named admin's name for theirs.
/// Every candidate is compared (SHA-256 digests, in constant time), so the time taken says
/// nothing about which one, if any, matched.
fn who(state: &ApiState, key: &str) -> Option<String> {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let mut found = None;
    if let Some(admin_key) = &state.admin_key
        && constant_time_eq(key.as_bytes(), admin_key.as_bytes())
    {
        found = Some("admin".to_string());
    }
    for admin in &state.console_admins {
        if bool::from(digest.ct_eq(&admin.key_sha256)) && found.is_none() {
            found = Some(admin.name.clone());
        }
    }
    found
}

/// `POST /console/sign-out`: the session ends on every replica.
pub async fn sign_out(
    State(state): State<Arc<ApiState>>,
    _signed: Signed,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = state.store().close_console_session(token).await
    {
        return ConsoleError::from(crate::api::ApiError::from(error)).into_response();
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Duration::ZERO),
    );
    response
}

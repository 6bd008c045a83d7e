//! Platform webhooks: subscription challenges, and deliveries verified by the plugin over the
//! raw bytes before anything is stored; events stored once per platform event id, then acted on.
//!
//! Before a plugin runs for a webhook request, the host checks, in this order:
//!
//! 1. the plugin is configured and some tenant may use it (`tenants` in `plugins.toml` names
//!    one, or the admin API enabled it for one); otherwise 404, the answer an unknown plugin
//!    gets, so the endpoint does not tell which plugins are installed;
//! 2. the plugin's webhook budget (`webhook_rate`, by default 50 requests a second with bursts of
//!    100, per replica) has room; otherwise 429 with `Retry-After`;
//! 3. the body is at most [`MAX_WEBHOOK_BODY`]; otherwise 413.
//!
//! A challenge answer is served on the host's own origin, so the plugin chooses only its status
//! (2xx or 4xx), its body and a content type from [`CHALLENGE_CONTENT_TYPES`] (with at most a
//! `charset` parameter; anything else becomes `text/plain; charset=utf-8`). Every other header
//! the plugin returns is dropped — no cookies, no CORS, no HTML — and the answer carries
//! `X-Content-Type-Options: nosniff` and `Content-Security-Policy: default-src 'none'`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ApiError, ApiPath, ApiQuery, ApiState, MAX_WEBHOOK_BODY};
use crate::capability::CallContext;
use crate::runtime::wit::connector::{WebhookEvent, WebhookRequest, WebhookResponse};
use crate::runtime::{Answer, Invocation};
use crate::store::{ConnectionStatus, NewWebhookEvent};

/// The content types a challenge answer may have.
pub const CHALLENGE_CONTENT_TYPES: &[&str] = &["text/plain", "application/json"];

/// What a challenge answer gets when the plugin names no allowed content type.
const DEFAULT_CHALLENGE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The tenant name webhook calls run under: deliveries concern the platform's accounts, which
/// the host maps to tenants only after verification.
pub const WEBHOOK_TENANT: &str = "_webhooks";

/// What a delivery did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Received {
    /// Events stored now.
    pub stored: usize,
    /// Events seen before (acknowledged, not stored again).
    pub duplicates: usize,
    /// Connections revoked by deauthorization events.
    pub revoked: usize,
    /// Jobs whose next step was run at once because an event named their recovery point.
    pub woken: usize,
}

fn request(
    method: &Method,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> WebhookRequest {
    WebhookRequest {
        method: method.as_str().to_string(),
        path: String::new(),
        query,
        headers: headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body,
    }
}

fn context() -> CallContext {
    CallContext::tenant(WEBHOOK_TENANT).with_enabled(Some(true))
}

/// The checks made before a plugin runs for a webhook request (see the module docs).
async fn admit(state: &ApiState, plugin: &str) -> Result<(), ApiError> {
    let no_endpoint = || ApiError::not_found(format!("no webhook endpoint for `{plugin}`"));
    let config = state
        .pipeline
        .runtime()
        .plugin_config(plugin)
        .ok_or_else(no_endpoint)?;
    if !config.entry.serves_some_tenant() && !state.store().plugin_enabled_anywhere(plugin).await? {
        return Err(no_endpoint());
    }
    state
        .webhook_rate
        .acquire_at(
            &format!("webhook:{plugin}"),
            config.entry.webhook_rate,
            Instant::now(),
        )
        .map_err(|wait| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "webhook-rate-limited",
                format!("too many webhook requests for `{plugin}`; retry later"),
            )
            .with_retry_after(wait)
        })
}

/// True for a content type of [`CHALLENGE_CONTENT_TYPES`], bare or with a `charset` parameter.
pub fn allowed_challenge_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !CHALLENGE_CONTENT_TYPES
        .iter()
        .any(|allowed| media.eq_ignore_ascii_case(allowed))
    {
        return false;
    }
    parts.all(|parameter| match parameter.split_once('=') {
        Some((name, charset)) => {
            let charset = charset.trim();
            name.trim().eq_ignore_ascii_case("charset")
                && !charset.is_empty()
                && charset
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        }
        None => false,
    })
}

/// The host's answer to a challenge: the plugin's status and body, an allowed content type, and
/// none of its other headers.
fn challenge_answer(answer: WebhookResponse) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(answer.status)
        .ok()
        .filter(|s| s.is_success() || s.is_client_error())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "connector-failed",
                format!(
                    "the connector answered the challenge with status {}",
                    answer.status
                ),
            )
        })?;
    let content_type = answer
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str())
        .filter(|value| allowed_challenge_content_type(value))
        .and_then(|value| HeaderValue::from_str(value.trim()).ok())
        .unwrap_or(HeaderValue::from_static(DEFAULT_CHALLENGE_CONTENT_TYPE));
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    Ok(response)
}

/// `GET /webhooks/{plugin}`: answers a subscription challenge.
pub async fn challenge(
    State(state): State<Arc<ApiState>>,
    ApiPath(plugin): ApiPath<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admit(&state, &plugin).await?;
    let call = Invocation::WebhookChallenge(request(&Method::GET, query, &headers, Vec::new()));
    let served = state
        .pipeline
        .runtime()
        .invoke(&plugin, context(), call)
        .await?;
    let answer = match served.answer {
        Answer::WebhookChallenge(Ok(Some(answer))) => answer,
        Answer::WebhookChallenge(Ok(None)) => {
            return Err(ApiError::not_found("not a subscription challenge"));
        }
        Answer::WebhookChallenge(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "challenge-refused",
                crate::jobs::describe_connector_error(&e),
            ));
        }
        _ => unreachable!("webhook-challenge answers with a response"),
    };
    challenge_answer(answer)
}

/// `POST /webhooks/{plugin}`: verifies, stores once, acts.
pub async fn deliver(
    State(state): State<Arc<ApiState>>,
    ApiPath(plugin): ApiPath<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
    unread: Request,
) -> Result<Json<Received>, ApiError> {
    admit(&state, &plugin).await?;
    // Read only now, so a refused request is never buffered.
    let body = Bytes::from_request(unread, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    format!("webhook bodies are read up to {MAX_WEBHOOK_BODY} bytes"),
                )
            } else {
                ApiError::new(rejection.status(), "bad-request", rejection.body_text())
            }
        })?;
    let call = Invocation::VerifyWebhook(request(&Method::POST, query, &headers, body.to_vec()));
    let served = state
        .pipeline
        .runtime()
        .invoke(&plugin, context(), call)
        .await?;
    let events = match served.answer {
        Answer::VerifyWebhook(Ok(events)) => events,
        Answer::VerifyWebhook(Err(e)) => {
            tracing::warn!(%plugin, error = %crate::jobs::describe_connector_error(&e), "webhook refused");
            return Err(ApiError::unauthorized(
                "the delivery's signature did not verify; nothing was stored",
            ));
        }
        _ => unreachable!("verify-webhook answers with events"),
    };
    let mut received = Received {
        stored: 0,
        duplicates: 0,
        revoked: 0,
        woken: 0,
    };
    for event in events {
        act(&state, &plugin, event, &mut received).await?;
    }
    Ok(Json(received))
}

async fn act(
    state: &ApiState,
    plugin: &str,
    event: WebhookEvent,
    received: &mut Received,
) -> Result<(), ApiError> {
    let store = state.store();
    let connections = match &event.external_account_id {
        Some(account) => store.connections_by_external(plugin, account).await?,
        None => Vec::new(),
    };
    let first = connections.first();
    let record = NewWebhookEvent {
        plugin: plugin.to_string(),
        event_id: event.id.clone(),
        tenant_id: first.map(|c| c.tenant_id.clone()),
        connection_id: first.map(|c| c.id.clone()),
        kind: event.kind.clone(),
        payload: event.payload.clone(),
    };
    let now = state.pipeline.now();
    if !store.record_webhook_event(&record, now).await? {
        received.duplicates += 1;
        return Ok(());
    }
    received.stored += 1;
    if is_deauthorization(&event.kind) {
        for connection in &connections {
            let reason = format!("the user removed access on the platform ({})", event.kind);
            store
                .tenant(&connection.tenant_id)
                .set_connection_status(
                    &connection.id,
                    ConnectionStatus::Revoked,
                    Some(&reason),
                    "webhook",
                    now,
                )
                .await?;
            received.revoked += 1;
        }
    }
    if let Some(point) = &event.recovery_point {
        for connection in &connections {
            received.woken += state
                .pipeline
                .wake(&connection.tenant_id, &connection.id, plugin, point)
                .await?;
        }
    }
    Ok(())
}

/// Event kinds that mean the user withdrew the app's access.
fn is_deauthorization(kind: &str) -> bool {
    let kind = kind.to_ascii_lowercase();
    kind.contains("deauthoriz") || kind == "authorization.removed" || kind.ends_with("revoked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_content_types_come_from_the_short_list_with_a_charset_at_most() {
        for allowed in [
            "text/plain",
            "text/plain; charset=utf-8",
            "Application/JSON;charset=UTF-8",
        ] {
            assert!(allowed_challenge_content_type(allowed), "{allowed}");
        }
        for refused in [
            "text/html",
            "text/html; charset=utf-8",
            "application/javascript",
            "image/svg+xml",
            "text/plain; boundary=x",
            "text/plain; charset=",
            "text/plain; charset=\"utf-8\"><script>",
            "",
        ] {
            assert!(!allowed_challenge_content_type(refused), "{refused}");
        }
    }
}

//! Platform webhooks: subscription challenges, and deliveries verified by the plugin over the
//! raw bytes before anything is stored; events stored once per platform event id, then acted on.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ApiError, ApiPath, ApiQuery, ApiState};
use crate::capability::CallContext;
use crate::runtime::wit::connector::{WebhookEvent, WebhookRequest};
use crate::runtime::{Answer, Invocation};
use crate::store::{ConnectionStatus, NewWebhookEvent};

/// The tenant name webhook calls run under: deliveries concern the platform's accounts, which
/// the host maps to tenants only after verification.
pub const WEBHOOK_TENANT: &str = "_webhooks";

/// What a delivery did.
#[derive(Debug, Serialize)]
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

/// `GET /webhooks/{plugin}`: answers a subscription challenge.
pub async fn challenge(
    State(state): State<Arc<ApiState>>,
    ApiPath(plugin): ApiPath<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

/// `POST /webhooks/{plugin}`: verifies, stores once, acts.
pub async fn deliver(
    State(state): State<Arc<ApiState>>,
    ApiPath(plugin): ApiPath<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
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

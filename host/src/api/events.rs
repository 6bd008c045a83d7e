//! Event endpoints: where a tenant's app receives signed events (see [`crate::events`]), their
//! signing secrets (shown once, rotatable with a grace period), deliveries and redelivery.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, ApiPath, ApiQuery, ApiState, Caller, paging};
use crate::capability::vault::VaultFault;
use crate::events::EventType;
use crate::store::{
    EventEndpoint, EventEndpointChange, NewEventEndpoint, Redelivery, new_event_endpoint_id,
};
use crate::time::{Span, UnixMs};

/// Longest endpoint URL accepted.
const MAX_URL_LEN: usize = 2048;
/// Longest description accepted.
const MAX_DESCRIPTION_LEN: usize = 500;
/// Most endpoints per tenant.
pub const MAX_ENDPOINTS_PER_TENANT: usize = 20;

/// `POST /v1/event-endpoints`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointBody {
    /// Where events are POSTed.
    pub url: String,
    /// The types wanted; absent, empty or `["*"]` for all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// A note.
    #[serde(default)]
    pub description: String,
    /// Whether it receives events now (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `PATCH /v1/event-endpoints/{id}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New types.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// A new note.
    #[serde(default)]
    pub description: Option<String>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret: the answer to a create or a rotation, the only time
/// the secret is shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EndpointWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EventEndpoint,
    /// The signing secret (`whsec_…`).
    pub secret: String,
}

/// `GET /v1/event-endpoints/{id}/deliveries`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`.
    #[serde(default)]
    pub state: Option<String>,
    /// At most this many (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next-cursor` header.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `POST /v1/event-endpoints/{id}/redeliver`: one event, or every event in a time range.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    /// The event to send again.
    #[serde(default)]
    pub event_id: Option<String>,
    /// Events that occurred at or after this time (Unix ms)…
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// …and before this one (Unix ms; default now).
    #[serde(default)]
    pub until_ms: Option<i64>,
}

/// The answer to a redelivery.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Redelivered {
    /// Deliveries due again now.
    pub redelivered: u64,
}

/// One event type.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EventTypeView {
    /// Its name.
    #[serde(rename = "type")]
    pub name: &'static str,
    /// What it means.
    pub summary: &'static str,
}

fn vault_unavailable(error: VaultFault) -> ApiError {
    tracing::error!(%error, "the vault failed behind an event endpoint call");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the secret store is unavailable; retry later",
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-endpoint",
        message,
    )
}

/// Checks a type list: known names or `*`.
fn check_types(types: &[String]) -> Result<(), ApiError> {
    for name in types {
        if name != "*" && EventType::parse(name).is_none() {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(invalid(format!(
                "unknown event type `{name}`; known: {} (or `*` for all)",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Checks a URL's form, and its address when it is an IP literal, against the guard.
fn check_url(state: &ApiState, url: &str) -> Result<(), ApiError> {
    if url.len() > MAX_URL_LEN {
        return Err(invalid(format!(
            "the URL is longer than {MAX_URL_LEN} bytes"
        )));
    }
    state.pipeline.events().check_url(url).map_err(invalid)?;
    Ok(())
}

fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(invalid(format!(
            "the description is longer than {MAX_DESCRIPTION_LEN} characters"
        )));
    }
    Ok(())
}

/// `GET /v1/event-types`
pub async fn types(_caller: Caller) -> Json<Vec<EventTypeView>> {
    Json(
        EventType::ALL
            .iter()
            .map(|t| EventTypeView {
                name: t.as_str(),
                summary: t.summary(),
            })
            .collect(),
    )
}

/// `GET /v1/event-endpoints`
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<EventEndpoint>>, ApiError> {
    Ok(Json(
        state
            .store()
            .tenant(&caller.tenant)
            .event_endpoints()
            .await?,
    ))
}

/// `GET /v1/event-endpoints/{id}`
pub async fn get(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EventEndpoint>, ApiError> {
    Ok(Json(
        state
            .store()
            .tenant(&caller.tenant)
            .event_endpoint(&id)
            .await?,
    ))
}

/// `POST /v1/event-endpoints`: the answer carries the signing secret, once.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewEndpointBody>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    check_types(&body.event_types)?;
    check_description(&body.description)?;
    check_url(&state, &body.url)?;
    let tenant = state.store().tenant(&caller.tenant);
    if tenant.event_endpoints().await?.len() >= MAX_ENDPOINTS_PER_TENANT {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "too-many-endpoints",
            format!(
                "a tenant has at most {MAX_ENDPOINTS_PER_TENANT} event endpoints; delete one first"
            ),
        ));
    }
    let new = NewEventEndpoint {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        enabled: body.enabled.unwrap_or(true),
    };
    // The secret is in the vault before the endpoint exists: no event is ever due for an
    // endpoint that cannot sign it.
    let id = new_event_endpoint_id();
    let events = state.pipeline.events();
    let secret = events
        .new_signing_secret(&caller.tenant, &id, false)
        .await
        .map_err(vault_unavailable)?;
    let created = tenant
        .create_event_endpoint(&id, &new, "api", state.pipeline.now())
        .await;
    match created {
        Ok(endpoint) => Ok((
            StatusCode::CREATED,
            Json(EndpointWithSecret { endpoint, secret }),
        )),
        Err(error) => {
            if let Err(fault) = events.erase_secrets(&caller.tenant, &id).await {
                tracing::warn!(%fault, endpoint = %id, "erasing the secret of an endpoint that was not stored failed");
            }
            Err(error.into())
        }
    }
}

/// `PATCH /v1/event-endpoints/{id}`
pub async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EndpointPatch>,
) -> Result<Json<EventEndpoint>, ApiError> {
    if let Some(types) = &body.event_types {
        check_types(types)?;
    }
    if let Some(description) = &body.description {
        check_description(description)?;
    }
    if let Some(url) = &body.url {
        check_url(&state, url)?;
    }
    let change = EventEndpointChange {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        enabled: body.enabled,
    };
    Ok(Json(
        state
            .store()
            .tenant(&caller.tenant)
            .update_event_endpoint(&id, &change, "api", state.pipeline.now())
            .await?,
    ))
}

/// `DELETE /v1/event-endpoints/{id}`: the endpoint, its deliveries and its secrets.
pub async fn delete(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store()
        .tenant(&caller.tenant)
        .delete_event_endpoint(&id, "api", state.pipeline.now())
        .await?;
    state
        .pipeline
        .events()
        .erase_secrets(&caller.tenant, &id)
        .await
        .map_err(vault_unavailable)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/event-endpoints/{id}/rotate-secret`: a new secret (shown once); the replaced one
/// keeps signing deliveries, beside the new one, for the grace period.
pub async fn rotate_secret(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    let tenant = state.store().tenant(&caller.tenant);
    tenant.event_endpoint(&id).await?;
    let events = state.pipeline.events();
    let secret = events
        .new_signing_secret(&caller.tenant, &id, true)
        .await
        .map_err(vault_unavailable)?;
    let now = state.pipeline.now();
    let until = UnixMs::new(now)
        .saturating_add(Span::from(events.settings().secret_grace))
        .get();
    let endpoint = tenant
        .record_secret_rotation(&id, until, "api", now)
        .await?;
    Ok(Json(EndpointWithSecret { endpoint, secret }))
}

/// `GET /v1/event-endpoints/{id}/deliveries`: newest first, with their attempts.
pub async fn deliveries(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<paging::Page<crate::store::EventDeliveryRecord>, ApiError> {
    if let Some(s) = query.state.as_deref()
        && !["pending", "delivered", "failed"].contains(&s)
    {
        return Err(ApiError::bad_request(format!(
            "state is pending, delivered or failed, not `{s}`"
        )));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let before = paging::cursor(query.cursor.as_deref())?;
    let deliveries = state
        .store()
        .tenant(&caller.tenant)
        .event_deliveries(&id, query.state.as_deref(), limit, before)
        .await?;
    Ok(paging::Page::new(deliveries, limit, |d| d.event_id.clone()))
}

/// `POST /v1/event-endpoints/{id}/redeliver`
pub async fn redeliver(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RedeliverBody>,
) -> Result<(StatusCode, Json<Redelivered>), ApiError> {
    let now = state.pipeline.now();
    let which = match (body.event_id, body.since_ms, body.until_ms) {
        (Some(event), None, None) => Redelivery::Event(event),
        (None, Some(since), until) => {
            let until = until.unwrap_or(now.saturating_add(1));
            if until <= since {
                return Err(ApiError::bad_request("until_ms must be after since_ms"));
            }
            Redelivery::Range { since, until }
        }
        _ => {
            return Err(ApiError::bad_request(
                "name either event_id, or since_ms (and optionally until_ms)",
            ));
        }
    };
    let redelivered = state
        .store()
        .tenant(&caller.tenant)
        .redeliver(&id, &which, "api", now)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivered { redelivered })))
}

//! The admin API (platform team): plugins (status, upload → validate → hot swap, rollback),
//! tenants and their API keys, per-tenant plugin enablement.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{Admin, ApiError, ApiJson, ApiPath, ApiState};
use crate::runtime::PluginStatus;

/// A plugin as the admin API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PluginView {
    /// The id.
    pub id: String,
    /// `serving`, `failed` (configured, nothing loaded) or `serving-with-error` (the last
    /// upload was refused; the previous version serves).
    pub status: &'static str,
    /// The serving version.
    pub version: Option<String>,
    /// Its sha256.
    pub sha256: Option<String>,
    /// When it was installed (Unix seconds).
    pub loaded_at: Option<u64>,
    /// The rollback target.
    pub previous_version: Option<String>,
    /// The last load failure.
    pub last_error: Option<String>,
    /// Swaps and rollbacks so far.
    pub swaps: u64,
    /// Calls running now.
    pub running: usize,
}

impl From<PluginStatus> for PluginView {
    fn from(s: PluginStatus) -> Self {
        let status = match (&s.version, &s.last_error) {
            (Some(_), None) => "serving",
            (Some(_), Some(_)) => "serving-with-error",
            (None, _) => "failed",
        };
        PluginView {
            id: s.id,
            status,
            version: s.version,
            sha256: s.sha256,
            loaded_at: s
                .loaded_at
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            previous_version: s.previous_version,
            last_error: s.last_error,
            swaps: s.swaps,
            running: s.running,
        }
    }
}

/// `POST /admin/tenants`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// The tenant id (1-64 characters of letters, digits, '-', '_').
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A new tenant's first API key, shown once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TenantCreated {
    /// The tenant.
    pub id: String,
    /// The key; only its digest is stored.
    pub api_key: String,
}

/// `PUT /admin/tenants/{tenant}/plugins/{id}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enablement {
    /// Whether the tenant may use the plugin.
    pub enabled: bool,
}

/// `GET /admin/plugins`
pub async fn plugins(State(state): State<Arc<ApiState>>, _admin: Admin) -> Json<Vec<PluginView>> {
    Json(
        state
            .pipeline
            .runtime()
            .plugins()
            .into_iter()
            .map(PluginView::from)
            .collect(),
    )
}

/// `PUT /admin/plugins/{id}`: the body is the component; validated, then swapped in.
pub async fn upload(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<PluginView>, ApiError> {
    let runtime = state.pipeline.runtime();
    if runtime.status(&id).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{id}` is not configured in plugins.toml"
        )));
    }
    match runtime.install(&id, body.to_vec()).await {
        Ok(status) => Ok(Json(status.into())),
        Err(error) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-component",
            error.problem.to_string(),
        )),
    }
}

/// `POST /admin/plugins/{id}/rollback`
pub async fn rollback(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PluginView>, ApiError> {
    let runtime = state.pipeline.runtime();
    if runtime.status(&id).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{id}` is not configured"
        )));
    }
    runtime
        .rollback(&id)
        .map(|s| Json(s.into()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no-previous-version",
                format!("plugin `{id}` has no previous version"),
            )
        })
}

/// `POST /admin/tenants`: creates a tenant and its first API key.
pub async fn create_tenant(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<TenantCreated>), ApiError> {
    let valid = (1..=64).contains(&body.id.len())
        && body
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(ApiError::bad_request(
            "tenant ids are 1-64 characters of letters, digits, '-' and '_'",
        ));
    }
    let now = state.pipeline.now();
    if state.store().tenant_exists(&body.id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("tenant `{}` exists", body.id),
        ));
    }
    state
        .store()
        .create_tenant(&body.id, &body.name, now)
        .await?;
    let api_key = state
        .store()
        .tenant(&body.id)
        .create_api_key("admin", now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            id: body.id,
            api_key,
        }),
    ))
}

/// `PUT /admin/tenants/{tenant}/plugins/{id}`: overrides `plugins.toml` for one tenant.
pub async fn enable(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Enablement>,
) -> Result<StatusCode, ApiError> {
    known(&state, &tenant, &id).await?;
    state
        .store()
        .tenant(&tenant)
        .set_plugin_enabled(&id, body.enabled, "admin", state.pipeline.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/tenants/{tenant}/plugins/{id}`: back to `plugins.toml`.
pub async fn clear(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    known(&state, &tenant, &id).await?;
    state
        .store()
        .tenant(&tenant)
        .clear_plugin_enabled(&id, "admin", state.pipeline.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn known(state: &ApiState, tenant: &str, plugin: &str) -> Result<(), ApiError> {
    if !state.store().tenant_exists(tenant).await? {
        return Err(ApiError::not_found(format!("tenant `{tenant}` not found")));
    }
    if state.pipeline.runtime().status(plugin).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{plugin}` is not configured"
        )));
    }
    Ok(())
}

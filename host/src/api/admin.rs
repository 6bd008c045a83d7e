//! The admin API for plugins (platform team): status, upload → validate → hot swap, rollback.
//! Tenants are administered in [`super::tenants`].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::{Admin, ApiError, ApiPath, ApiState};
use crate::fleet::FleetError;
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

/// `PUT /admin/plugins/{id}`: the body is the component; validated, stored for the fleet, then
/// swapped in here and, within seconds, on every replica.
pub async fn upload(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<PluginView>, ApiError> {
    if state.pipeline.runtime().status(&id).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{id}` is not configured in plugins.toml"
        )));
    }
    let now = state.pipeline.now();
    match state.fleet.upload(&id, body.to_vec(), "admin", now).await {
        Ok(status) => Ok(Json(status.into())),
        Err(FleetError::Invalid(error)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-component",
            error.problem.to_string(),
        )),
        Err(FleetError::Store(error)) => Err(error.into()),
    }
}

/// `POST /admin/plugins/{id}/rollback`: the previous version serves again, fleet-wide when the
/// plugin has an uploaded version; otherwise (file versions only) on this replica.
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
    let now = state.pipeline.now();
    match state.fleet.rollback(&id, "admin", now).await {
        Ok(Some(status)) => return Ok(Json(status.into())),
        Ok(None) => {}
        Err(FleetError::Invalid(error)) => {
            return Err(ApiError::not_found(error.problem.to_string()));
        }
        Err(FleetError::Store(error)) => return Err(error.into()),
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

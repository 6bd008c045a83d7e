//! The admin API for plugins (platform team): status, upload → validate → hot swap, rollback.
//! Tenants are administered in [`super::tenants`].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use sha2::Digest;

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
    /// The `postd:connector` contract version it was built against (`0.2.0`, `0.1.0`).
    pub contract: Option<&'static str>,
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
            contract: s.contract.map(|c| c.as_str()),
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
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<PluginView>, ApiError> {
    if state.pipeline.runtime().status(&id).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{id}` is not configured in plugins.toml"
        )));
    }
    let now = state.pipeline.now();
    let status = state
        .fleet
        .upload(&id, body.to_vec(), admin.actor(), now)
        .await?;
    Ok(Json(status.into()))
}

/// `POST /admin/plugins/{id}/check` answer: what an upload of the same bytes would do.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckVerdict {
    /// The component would load and serve as this plugin.
    pub compatible: bool,
    /// Why it would not, when it would not.
    pub problem: Option<String>,
    /// The connector's own version, when it loaded.
    pub version: Option<String>,
    /// The name it shows users, when it loaded.
    pub display_name: Option<String>,
    /// The SDK it was built with, when it loaded.
    pub sdk_version: Option<String>,
    /// Its sha256.
    pub sha256: String,
    /// Its size.
    pub size_bytes: u64,
    /// The version serving now, which an upload would replace.
    pub serving_version: Option<String>,
}

/// `POST /admin/plugins/{id}/check`: the body is a component, validated exactly as an upload
/// is (compiled, instantiated, its manifest and contract read) and neither stored nor served.
pub async fn check(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<CheckVerdict>, ApiError> {
    let runtime = state.pipeline.runtime();
    let status = runtime.status(&id).ok_or_else(|| {
        ApiError::not_found(format!("plugin `{id}` is not configured in plugins.toml"))
    })?;
    let mut verdict = CheckVerdict {
        compatible: false,
        problem: None,
        version: None,
        display_name: None,
        sdk_version: None,
        sha256: hex::encode(sha2::Sha256::digest(&body)),
        size_bytes: body.len() as u64,
        serving_version: status.version,
    };
    match runtime.validate_upload(&id, body.to_vec()).await {
        Ok(loaded) => {
            verdict.compatible = true;
            verdict.version = Some(loaded.version.to_string());
            verdict.display_name = Some(loaded.manifest.display_name.clone());
            verdict.sdk_version = Some(loaded.manifest.sdk_version.clone());
        }
        Err(error) => verdict.problem = Some(error.problem.to_string()),
    }
    Ok(Json(verdict))
}

/// `POST /admin/plugins/{id}/rollback`: the previous version serves again, fleet-wide when the
/// plugin has an uploaded version; otherwise (file versions only) on this replica.
pub async fn rollback(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PluginView>, ApiError> {
    let runtime = state.pipeline.runtime();
    if runtime.status(&id).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{id}` is not configured"
        )));
    }
    let now = state.pipeline.now();
    if let Some(status) = state.fleet.rollback(&id, admin.actor(), now).await? {
        return Ok(Json(status.into()));
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

impl From<FleetError> for ApiError {
    fn from(error: FleetError) -> Self {
        match error {
            FleetError::Invalid(error) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-component",
                error.problem.to_string(),
            ),
            FleetError::InvalidConfig(why) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-configuration",
                why,
            ),
            FleetError::Store(error) => error.into(),
        }
    }
}

/// A plugin's effective configuration, as the admin API shows it (app secrets by name only).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ConfigView {
    /// The plugin.
    pub plugin: String,
    /// `api` (set through the admin API, for every replica) or `file` (`plugins.toml`).
    pub source: &'static str,
    /// The entry set through the admin API (TOML), when `source` is `api`.
    pub entry: Option<String>,
    /// The manifest id it runs.
    pub component: String,
    /// Its component file.
    pub path: String,
    /// Granted egress origins.
    pub allowed_hosts: Vec<String>,
    /// Private ranges it may reach.
    pub allowed_ranges: Vec<String>,
    /// Tenants that may use it.
    pub tenants: Vec<String>,
    /// Its settings.
    pub settings: std::collections::BTreeMap<String, String>,
    /// The names of its app secrets.
    pub secrets: Vec<String>,
    /// What each call may use.
    pub limits: LimitsView,
}

/// A plugin's per-call limits, as the admin API shows them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LimitsView {
    /// Fuel units per call.
    pub fuel: u64,
    /// Linear memory per instance, MiB.
    pub memory_mb: u64,
    /// Wall-clock time per call, ms.
    pub deadline_ms: u64,
    /// Calls running at once, across tenants.
    pub max_concurrency: u64,
    /// How long a call waits for a slot, ms.
    pub queue_wait_ms: u64,
}

/// `GET /admin/config`: the plugin file, why its last change was refused, the overrides.
pub async fn config_state(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
) -> Json<crate::fleet::FileState> {
    Json(state.fleet.file_state().await)
}

/// `GET /admin/plugins/{id}/config`
pub async fn config(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConfigView>, ApiError> {
    config_view(&state, &id).await
}

/// `PUT /admin/plugins/{id}/config`: the body is a `[plugins.<id>]` entry's keys as TOML; it
/// replaces the file's entry of that id on every replica (a new id adds a plugin).
pub async fn set_config(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<ConfigView>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the configuration is TOML text in UTF-8"))?;
    let now = state.pipeline.now();
    state
        .fleet
        .set_config(&id, Some(text), admin.actor(), now)
        .await?;
    config_view(&state, &id).await
}

/// `DELETE /admin/plugins/{id}/config`: the file's entry applies again.
pub async fn clear_config(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConfigView>, ApiError> {
    if state.fleet.config_text(&id).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{id}` has no configuration set through the API"
        )));
    }
    let now = state.pipeline.now();
    state
        .fleet
        .set_config(&id, None, admin.actor(), now)
        .await?;
    config_view(&state, &id).await
}

async fn config_view(state: &ApiState, id: &str) -> Result<Json<ConfigView>, ApiError> {
    let config = state
        .pipeline
        .runtime()
        .plugin_config(id)
        .ok_or_else(|| ApiError::not_found(format!("plugin `{id}` is not configured")))?;
    let entry = state.fleet.config_text(id).await?;
    let e = &config.entry;
    Ok(Json(ConfigView {
        plugin: e.id.clone(),
        source: if entry.is_some() { "api" } else { "file" },
        entry,
        component: e.component.clone(),
        path: e.path.display().to_string(),
        allowed_hosts: e.allowed_hosts.clone(),
        allowed_ranges: e.allowed_ranges.clone(),
        tenants: e.tenants.clone(),
        settings: e.settings.clone(),
        secrets: e.secrets.keys().cloned().collect(),
        limits: LimitsView {
            fuel: e.limits.fuel,
            memory_mb: (e.limits.memory_bytes >> 20) as u64,
            deadline_ms: e.limits.deadline.as_millis() as u64,
            max_concurrency: e.limits.max_concurrency as u64,
            queue_wait_ms: e.limits.queue_wait.as_millis() as u64,
        },
    }))
}

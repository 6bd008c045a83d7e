//! `GET /admin/overview`: the state of the host at a glance — plugins with their calls, errors
//! and fuel, jobs by state, dead letters, the last hour of job runs, the database and Redis. The
//! console's first page reads it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::admin::PluginView;
use super::ops::{Backends, backends};
use super::{Admin, ApiError, ApiState};
use crate::jobs::MinuteCounts;

/// How many tenants each plugin's fuel lists (the biggest spenders).
pub const TOP_TENANTS: usize = 10;

/// `GET /admin/overview` answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Overview {
    /// The database and Redis.
    pub backends: Backends,
    /// The process is stopping (`/readyz` answers 503).
    pub draining: bool,
    /// Every configured plugin.
    pub plugins: Vec<PluginActivity>,
    /// Jobs by state, across tenants.
    pub jobs: BTreeMap<String, u64>,
    /// Dead letters not yet replayed, across tenants.
    pub dead_letters: u64,
    /// This replica's job runs per minute over the last hour, oldest first.
    pub last_hour: Vec<MinuteCounts>,
}

/// A plugin and what its calls did in this replica since it started.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PluginActivity {
    /// Version, status, swaps.
    #[serde(flatten)]
    pub plugin: PluginView,
    /// Connector calls that ran.
    pub calls: u64,
    /// Job runs by outcome (`published`, `retry`, `dead`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Failed job runs by error code.
    pub errors: BTreeMap<String, u64>,
    /// Fuel consumed by the tenants that spent most (at most [`TOP_TENANTS`]).
    pub fuel_by_tenant: BTreeMap<String, u64>,
}

/// `GET /admin/overview`
pub async fn overview(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
) -> Result<Json<Overview>, ApiError> {
    let store = state.store();
    let runtime = state.pipeline.runtime();
    let activity = state.pipeline.activity();
    let (outcomes, errors, fuel) = (
        activity.outcomes(),
        activity.errors(),
        runtime.fuel().snapshot(),
    );
    let plugins = runtime
        .plugins()
        .into_iter()
        .map(|status| {
            let id = status.id.clone();
            let by = |map: &BTreeMap<(String, String), u64>| {
                map.iter()
                    .filter(|((plugin, _), _)| *plugin == id)
                    .map(|((_, key), n)| (key.clone(), *n))
                    .collect::<BTreeMap<_, _>>()
            };
            let mut spenders: Vec<(String, u64, u64)> = fuel
                .iter()
                .filter(|((_, plugin), _)| *plugin == id)
                .map(|((tenant, _), usage)| (tenant.clone(), usage.fuel, usage.calls))
                .collect();
            let calls = spenders.iter().map(|s| s.2).sum();
            spenders.sort_by_key(|s| std::cmp::Reverse(s.1));
            PluginActivity {
                calls,
                outcomes: by(&outcomes),
                errors: by(&errors),
                fuel_by_tenant: spenders
                    .into_iter()
                    .take(TOP_TENANTS)
                    .map(|(tenant, fuel, _)| (tenant, fuel))
                    .collect(),
                plugin: status.into(),
            }
        })
        .collect();
    Ok(Json(Overview {
        backends: backends(&state).await,
        draining: state.draining.load(std::sync::atomic::Ordering::Acquire),
        plugins,
        jobs: store.job_counts().await?.into_iter().collect(),
        dead_letters: store.dead_letter_count().await?,
        last_hour: activity.last_hour(state.pipeline.now()),
    }))
}

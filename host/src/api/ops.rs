//! Operations: liveness, readiness (database, Redis, plugins), Prometheus metrics, the OpenAPI
//! document, and the JSON 404.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::{ApiError, ApiState, openapi};
use crate::capability::http::LATENCY_BUCKETS;

/// The longest `/readyz` waits for the database: a probe gets its answer (not ready) before
/// its own timeout while the database is down, instead of after the pool's acquire timeout.
pub const READY_DATABASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /livez`: the process answers.
pub async fn livez() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers (within [`READY_DATABASE_WAIT`]), no plugin's first
/// load is still under way, and the process is not stopping (`draining`). Each plugin is listed
/// as `loading`, `serving` or `not-loaded`; a plugin that failed to load does not take the
/// replica out of service (its calls answer `plugin-not-loaded`, every other plugin serves).
/// Redis (when configured) is reported, not required: without it every replica keeps serving
/// on its own rate buckets and refreshes wait for their lock, so a Redis outage must not take
/// the whole fleet out of service at once.
pub async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    let Backends { database, redis } = backends(&state).await;
    let plugins: serde_json::Map<String, serde_json::Value> = state
        .pipeline
        .runtime()
        .plugins()
        .into_iter()
        .map(|p| {
            (
                p.id,
                json!(if p.loading {
                    "loading"
                } else if p.version.is_some() {
                    "serving"
                } else {
                    "not-loaded"
                }),
            )
        })
        .collect();
    let plugins_ok = plugins.values().all(|v| v != "loading");
    let draining = state.draining.load(std::sync::atomic::Ordering::Acquire);
    let ready = database && plugins_ok && !draining;
    let body = json!({
        "ready": ready,
        "database": database,
        "redis": redis,
        "plugins": plugins,
        "draining": draining,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Whether the database and Redis (when configured) answer now.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct Backends {
    /// The database answered within [`READY_DATABASE_WAIT`].
    pub database: bool,
    /// Redis answered a `PING` within two seconds; `null` when Redis is not configured.
    pub redis: Option<bool>,
}

/// Asks the database and Redis, at once.
pub async fn backends(state: &ApiState) -> Backends {
    let database = async {
        tokio::time::timeout(
            READY_DATABASE_WAIT,
            sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(state.store().pool()),
        )
        .await
        .is_ok_and(|answer| answer.is_ok())
    };
    let redis = async {
        match &state.redis_url {
            None => None,
            Some(url) => Some(ping_redis(url).await),
        }
    };
    let (database, redis) = tokio::join!(database, redis);
    Backends { database, redis }
}

async fn ping_redis(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let attempt = async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), attempt).await,
        Ok(Some(_))
    )
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(
        &mut out,
        "# HELP postd_http_requests_total HTTP requests by method, route and status.".into(),
    );
    line(&mut out, "# TYPE postd_http_requests_total counter".into());
    for ((method, route, status), n) in state.metrics.snapshot() {
        line(
            &mut out,
            format!(
                "postd_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(&route)
            ),
        );
    }
    let store = state.store();
    line(&mut out, "# HELP postd_jobs Jobs by state.".into());
    line(&mut out, "# TYPE postd_jobs gauge".into());
    for (job_state, n) in store.job_counts().await? {
        line(&mut out, format!("postd_jobs{{state=\"{job_state}\"}} {n}"));
    }
    line(
        &mut out,
        "# HELP postd_dead_letters Dead letters not yet replayed.".into(),
    );
    line(&mut out, "# TYPE postd_dead_letters gauge".into());
    line(
        &mut out,
        format!("postd_dead_letters {}", store.dead_letter_count().await?),
    );
    line(
        &mut out,
        "# HELP postd_jobs_held_total Job runs put back without running because a rate bucket (connection or tenant ceiling) had no room.".into(),
    );
    line(&mut out, "# TYPE postd_jobs_held_total counter".into());
    line(
        &mut out,
        format!("postd_jobs_held_total {}", state.pipeline.jobs_held()),
    );
    line(
        &mut out,
        "# HELP postd_job_runs_total Job runs recorded by this process, by plugin and outcome."
            .into(),
    );
    line(&mut out, "# TYPE postd_job_runs_total counter".into());
    for ((plugin, outcome), n) in state.pipeline.activity().outcomes() {
        line(
            &mut out,
            format!("postd_job_runs_total{{plugin=\"{plugin}\",outcome=\"{outcome}\"}} {n}"),
        );
    }
    line(
        &mut out,
        "# HELP postd_job_errors_total Failed job runs recorded by this process, by plugin and error code.".into(),
    );
    line(&mut out, "# TYPE postd_job_errors_total counter".into());
    for ((plugin, code), n) in state.pipeline.activity().errors() {
        line(
            &mut out,
            format!(
                "postd_job_errors_total{{plugin=\"{plugin}\",code=\"{}\"}} {n}",
                escape(&code)
            ),
        );
    }
    line(
        &mut out,
        "# HELP postd_event_deliveries_total Outbound event delivery attempts by outcome (retry: failed, to be tried again; failed: given up).".into(),
    );
    line(
        &mut out,
        "# TYPE postd_event_deliveries_total counter".into(),
    );
    for (outcome, n) in state.pipeline.events().metrics().snapshot() {
        line(
            &mut out,
            format!("postd_event_deliveries_total{{outcome=\"{outcome}\"}} {n}"),
        );
    }
    line(
        &mut out,
        "# HELP postd_event_deliveries_pending Outbound event deliveries not yet delivered nor given up.".into(),
    );
    line(
        &mut out,
        "# TYPE postd_event_deliveries_pending gauge".into(),
    );
    line(
        &mut out,
        format!(
            "postd_event_deliveries_pending {}",
            store.pending_event_deliveries().await?
        ),
    );
    let runtime = state.pipeline.runtime();
    line(
        &mut out,
        "# HELP postd_fuel_consumed_total Fuel consumed by connector calls.".into(),
    );
    line(&mut out, "# TYPE postd_fuel_consumed_total counter".into());
    for ((tenant, plugin), usage) in runtime.fuel().snapshot() {
        line(
            &mut out,
            format!(
                "postd_fuel_consumed_total{{tenant=\"{}\",plugin=\"{plugin}\"}} {}",
                escape(&tenant),
                usage.fuel
            ),
        );
    }
    line(
        &mut out,
        "# HELP postd_egress_request_duration_seconds Connector HTTP requests by plugin.".into(),
    );
    line(
        &mut out,
        "# TYPE postd_egress_request_duration_seconds histogram".into(),
    );
    for (plugin, stats) in runtime.egress_metrics().snapshot() {
        for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.latency_buckets.iter()) {
            line(
                &mut out,
                format!(
                    "postd_egress_request_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"{bound}\"}} {count}"
                ),
            );
        }
        let total = stats.latency_buckets.last().copied().unwrap_or(0);
        line(
            &mut out,
            format!(
                "postd_egress_request_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"+Inf\"}} {total}"
            ),
        );
        line(
            &mut out,
            format!(
                "postd_egress_request_duration_seconds_sum{{plugin=\"{plugin}\"}} {}",
                stats.latency_sum
            ),
        );
        line(
            &mut out,
            format!("postd_egress_request_duration_seconds_count{{plugin=\"{plugin}\"}} {total}"),
        );
    }
    line(
        &mut out,
        "# HELP postd_egress_requests_total Connector HTTP requests by plugin and outcome: the answer's status class, failed (no answer) or refused (egress policy or rate budget, never sent).".into(),
    );
    line(
        &mut out,
        "# TYPE postd_egress_requests_total counter".into(),
    );
    for (plugin, stats) in runtime.egress_metrics().snapshot() {
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .into_iter()
            .zip(stats.status_classes);
        let others = [("failed", stats.failures), ("refused", stats.refused)];
        for (outcome, n) in classes.chain(others) {
            line(
                &mut out,
                format!(
                    "postd_egress_requests_total{{plugin=\"{plugin}\",outcome=\"{outcome}\"}} {n}"
                ),
            );
        }
    }
    line(&mut out, "# HELP postd_token_expiry_seconds Seconds until the nearest token of a usable connection expires.".into());
    line(&mut out, "# TYPE postd_token_expiry_seconds gauge".into());
    if let Some(at) = store.nearest_token_expiry().await? {
        line(
            &mut out,
            format!(
                "postd_token_expiry_seconds {}",
                (at - state.pipeline.now()) / 1000
            ),
        );
    }
    line(
        &mut out,
        "# HELP postd_plugin_swaps_total Hot swaps and rollbacks per plugin.".into(),
    );
    line(&mut out, "# TYPE postd_plugin_swaps_total counter".into());
    for plugin in runtime.plugins() {
        line(
            &mut out,
            format!(
                "postd_plugin_swaps_total{{plugin=\"{}\"}} {}",
                plugin.id, plugin.swaps
            ),
        );
    }
    let (held, ceiling) = runtime.host_memory();
    line(
        &mut out,
        "# HELP postd_host_memory_held_bytes Host memory held on behalf of running plugin calls."
            .into(),
    );
    line(&mut out, "# TYPE postd_host_memory_held_bytes gauge".into());
    line(&mut out, format!("postd_host_memory_held_bytes {held}"));
    line(
        &mut out,
        "# HELP postd_host_memory_ceiling_bytes Most host memory running calls may hold together."
            .into(),
    );
    line(
        &mut out,
        "# TYPE postd_host_memory_ceiling_bytes gauge".into(),
    );
    line(
        &mut out,
        format!("postd_host_memory_ceiling_bytes {ceiling}"),
    );
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        "text/plain; version=0.0.4".parse().expect("a valid header"),
    );
    Ok(response)
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => {
                let _ = out.write_char(c);
            }
        }
    }
    out
}

/// `GET /openapi.json`
pub async fn openapi() -> Json<serde_json::Value> {
    Json(openapi::document())
}

/// Any route that does not exist.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-route",
        "no such route; see /openapi.json",
    )
}

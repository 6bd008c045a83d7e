//! Request ids, request logs, request spans ([`crate::telemetry`]) and HTTP request counts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::ApiState;

/// Requests per (method, route, status).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl HttpMetrics {
    /// Counts one request.
    pub fn record(&self, method: &str, route: &str, status: u16) {
        *self
            .counts
            .lock()
            .expect("http metrics")
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Vec<((String, String, u16), u64)> {
        self.counts
            .lock()
            .expect("http metrics")
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// The id [`track`] gave a request, for handlers that record which call changed something.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives every request an id (`x-request-id`, kept when the caller sent a sane one), logs it
/// with its route, status and latency, and counts it.
pub async fn track(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    // The matched route template, never the raw path (which may carry ids or tokens).
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    // The request's trace span (when traces are exported), continuing a caller's `traceparent`.
    let span = crate::telemetry::server_span(&method, &route, &id, request.headers());
    let mut request = request;
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    crate::telemetry::record_status(&span, status);
    span.in_scope(|| {
        tracing::info!(request_id = %id, %method, %route, status, latency_ms = started.elapsed().as_millis() as u64, "request");
    });
    state.metrics.record(&method, &route, status);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

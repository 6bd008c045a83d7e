//! Logs and traces: the `tracing` subscriber of the binary, and — when `otlp_endpoint` is set —
//! OpenTelemetry traces exported to a collector over OTLP/HTTP (protobuf).
//!
//! # Spans
//!
//! The host opens its spans under one target, [`SPANS`]; only those become OpenTelemetry spans
//! (log events inside them are attached to them as span events):
//!
//! - **`http request`** (kind server), one per API request, named `{method} {route}`:
//!   `http.request.method`, `http.route` (the route template, never the raw path or query),
//!   `http.response.status_code`, `request_id`; error status on a 5xx. An incoming W3C
//!   `traceparent` header is continued, so a tenant's own trace goes on through the host.
//!   Probes and scrapes (`/livez`, `/readyz`, `/metrics`) are not traced.
//! - **`job run`** (kind consumer), one per job attempt: `job.id`, `post.id`, `tenant.id`,
//!   `plugin`, `job.export`, `job.attempt`, `job.outcome`, `error.type` (the attempt's error
//!   code); error status when the attempt failed. It is linked to the trace of the request that
//!   accepted the post (stored with the post), and its trace id is stored with the attempt
//!   (`GET /v1/jobs/{id}/attempts` shows it as `trace_id`).
//! - **`http client`** (kind client), one per outbound request a plugin makes through the
//!   `http` capability, named by its method: `http.request.method`, `url.scheme`,
//!   `server.address`, `server.port` (the origin only: paths and queries may carry tokens),
//!   `http.response.status_code`, `plugin`, `error.type` (`denied`, `rate-limited`, `timeout`,
//!   …). No `traceparent` is sent to the platform: third-party APIs ignore it at best, and it
//!   would tell them about the host's traces.
//!
//! # Trace ids in logs
//!
//! A JSON log line written inside a span with an OpenTelemetry context carries `trace_id` and
//! `span_id` at its top level (text lines show the span's fields instead). Without an endpoint
//! the host opens none of these spans: logs, and the cost of a request or a job, are as they
//! were, and attempts' `trace_id` is null.
//!
//! # Configuration
//!
//! `otlp_endpoint` (`POSTD_OTLP_ENDPOINT`) turns export on and `otlp_service_name`
//! (`POSTD_OTLP_SERVICE_NAME`, default `postd-host`) names the service. The standard variables
//! the OpenTelemetry SDK reads still apply: `OTEL_EXPORTER_OTLP_HEADERS` /
//! `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (say, a collector's API key),
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_SCHEDULE_DELAY` (batch delay, default 5 s) and the
//! other `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default: parent-based,
//! always on), `OTEL_RESOURCE_ATTRIBUTES`. The endpoint variables `OTEL_EXPORTER_OTLP_ENDPOINT`
//! do not: the setting says where traces go. Spans are exported in batches from a thread of
//! their own, so a slow or absent collector never holds up a request or a job (a full queue
//! drops spans; a failed export is logged at error, target `opentelemetry_sdk`); [`Telemetry`]
//! flushes what is left when it is dropped, so a host stopped by SIGTERM exports its last spans.

use std::collections::HashMap;
use std::fmt;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Event, Span, Subscriber};
use tracing_opentelemetry::{OpenTelemetrySpanExt, OtelData};
use tracing_subscriber::fmt::format::{self, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, ServiceSettings};

/// The target of the host's trace spans (request, job run, outbound request). Only spans of
/// this target are exported; they are opened only when export is on.
pub const SPANS: &str = "postd_host::spans";

/// The log filter's variable; `info` when unset.
pub const LOG_VARIABLE: &str = "POSTD_LOG";

/// The trace exporter while it runs; dropping it flushes the spans not yet exported and stops
/// it (a few seconds at most).
#[must_use = "dropping the guard stops the trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("postd-host: flushing the last traces failed: {error}");
        }
    }
}

/// Installs the process's `tracing` subscriber: logs to stderr in `format`, filtered by
/// `POSTD_LOG`, and OpenTelemetry trace export when `settings.otlp_endpoint` is set.
pub fn init(settings: &ServiceSettings, format: LogFormat) -> Result<Telemetry, String> {
    let mut filter = EnvFilter::try_from_env(LOG_VARIABLE).unwrap_or_else(|_| "info".into());
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => Some(provider(endpoint, &settings.otlp_service_name)?),
        None => None,
    };
    // The host's spans exist only for export: whatever the log filter says when it is on, and
    // never when it is off (logs then look exactly as without tracing spans).
    let spans = if provider.is_some() { "info" } else { "off" };
    filter = filter.add_directive(
        format!("{SPANS}={spans}")
            .parse()
            .expect("a valid directive"),
    );
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("postd-host"))
            // Every span is opened in this module: its source location and target say nothing.
            .with_location(false)
            .with_target(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
                metadata.is_event() || metadata.target() == SPANS
            }))
    });
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let installed = match format {
        LogFormat::Json => registry
            .with(
                logs.json()
                    .event_format(WithTraceIds(format::format().json())),
            )
            .try_init(),
        LogFormat::Text => registry.with(logs).try_init(),
    };
    installed.map_err(|e| format!("installing the log subscriber: {e}"))?;
    Ok(Telemetry { provider })
}

/// The OTLP URL of traces under a collector's base URL.
pub fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

fn provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .build()
        .map_err(|e| format!("the OTLP exporter for {endpoint}: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_string())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// Routes whose requests are not traced: probes and scrapes, every few seconds from the
/// orchestrator and the metrics collector, would bury the requests that matter.
pub const UNTRACED_ROUTES: &[&str] = &["/livez", "/readyz", "/metrics"];

/// The span of one API request, continuing the trace of an incoming `traceparent` header.
/// `route` is the matched route template. Probes ([`UNTRACED_ROUTES`]) get none.
pub fn server_span(
    method: &str,
    route: &str,
    request_id: &str,
    headers: &axum::http::HeaderMap,
) -> Span {
    if UNTRACED_ROUTES.contains(&route) {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: SPANS,
        "http request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        request_id = %request_id,
    );
    if !span.is_disabled() {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    span
}

/// Records a request's answer on its span: its status, and an error status on a 5xx.
pub fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// The span of one job attempt, linked to the trace that accepted it (`traceparent`, stored
/// with the post) when there was one.
pub fn job_span(job: &crate::store::Job, export: &str, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(
        target: SPANS,
        "job run",
        otel.name = %format_args!("job {export}"),
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
        job.id = %job.id,
        post.id = %job.post_id,
        tenant.id = %job.tenant_id,
        plugin = %job.plugin,
        job.export = export,
        job.attempt = job.attempts,
        job.outcome = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
    );
    if !span.is_disabled()
        && let Some(accepted) = traceparent.and_then(parse_traceparent)
    {
        span.add_link(accepted);
    }
    span
}

/// Records an attempt's outcome on its span.
pub fn record_outcome(span: &Span, outcome: &str, error_code: Option<&str>) {
    span.record("job.outcome", outcome);
    if let Some(code) = error_code {
        span.record("error.type", code);
        span.record("otel.status_code", "error");
    }
}

/// The span of one outbound request of `plugin`; the origin and the answer are recorded on it
/// as they are known ([`record_origin`], [`record_answer`]).
pub fn client_span(plugin: &str, method: &str) -> Span {
    tracing::info_span!(
        target: SPANS,
        "http client",
        otel.name = %method,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        url.scheme = tracing::field::Empty,
        server.address = tracing::field::Empty,
        server.port = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
        plugin = %plugin,
    )
}

/// Records where an outbound request goes: scheme, host and port, nothing of the path.
pub fn record_origin(span: &Span, url: &url::Url) {
    if span.is_disabled() {
        return;
    }
    span.record("url.scheme", url.scheme());
    if let Some(host) = url.host_str() {
        span.record("server.address", host);
    }
    if let Some(port) = url.port_or_known_default() {
        span.record("server.port", port);
    }
}

/// Records how an outbound request ended: its status, or why there was none.
pub fn record_answer(span: &Span, answer: Result<u16, &str>) {
    match answer {
        Ok(status) => {
            span.record("http.response.status_code", status);
            if status >= 400 {
                span.record("error.type", status);
                span.record("otel.status_code", "error");
            }
        }
        Err(why) => {
            span.record("error.type", why);
            span.record("otel.status_code", "error");
        }
    }
}

/// The trace id of `span` (32 hex digits), when it has an OpenTelemetry context that is
/// sampled (exported): one a trace backend can be asked for.
pub fn trace_id(span: &Span) -> Option<String> {
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    (span_context.is_valid() && span_context.is_sampled())
        .then(|| span_context.trace_id().to_string())
}

/// The W3C `traceparent` of `span`, to store and link to later, when it has an OpenTelemetry
/// context.
pub fn traceparent(span: &Span) -> Option<String> {
    if span.is_disabled() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove("traceparent")
}

fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let carrier = HashMap::from([("traceparent".to_string(), value.to_string())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A JSON event format that adds `trace_id` and `span_id` to lines written inside a span with
/// an OpenTelemetry context.
struct WithTraceIds<E>(E);

impl<S, N, E> FormatEvent<S, N> for WithTraceIds<E>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    E: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = ctx.lookup_current().and_then(|current| {
            current.scope().find_map(|span| {
                let extensions = span.extensions();
                let data = extensions.get::<OtelData>()?;
                Some((data.trace_id()?, data.span_id()?))
            })
        });
        let Some((trace, span)) = ids.filter(|(trace, _)| *trace != TraceId::INVALID) else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        // One JSON object and a newline: the ids go in before its closing brace.
        match line.rfind('}') {
            Some(end) => write!(
                writer,
                "{},\"trace_id\":\"{trace}\",\"span_id\":\"{span}\"{}",
                &line[..end],
                &line[end..]
            ),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_appended_once() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otlp.example.com/v1/traces"),
            "https://otlp.example.com/v1/traces"
        );
    }

    #[test]
    fn a_stored_traceparent_reads_back_as_the_span_it_named() {
        let parsed =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(
            parsed.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parsed.span_id().to_string(), "00f067aa0ba902b7");
        assert!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none()
        );
        assert!(parse_traceparent("nonsense").is_none());
    }

    #[test]
    fn without_a_subscriber_spans_have_no_trace() {
        let span = job_span(
            &crate::store::Job {
                tenant_id: "t".into(),
                id: "job_1".into(),
                post_id: "post_1".into(),
                connection_id: "c".into(),
                plugin: "p".into(),
                account_id: "a".into(),
                content: Default::default(),
                scheduled_for: None,
                state: crate::store::JobState::Running,
                state_reason: None,
                attempts: 1,
                next_run_at: 0,
                recovery_point: None,
                result: None,
                last_error: None,
                created_at: 0,
                updated_at: 0,
                deleted_at: None,
                traceparent: None,
            },
            "publish",
            None,
        );
        assert_eq!(trace_id(&span), None);
        assert_eq!(traceparent(&span), None);
    }
}

//! Traces of job runs on both databases, with an OpenTelemetry layer over the pipeline: a run's
//! trace id is stored with its attempt, and its span links to the span that accepted the post
//! (whose `traceparent` is stored with the post). The binary's export over OTLP is tested in
//! `api/telemetry.rs`.

use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanKind, TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use postd_host::telemetry::SPANS;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::on_both_backends;
use crate::support::{Harness, Kind};

/// Keeps every span it is handed.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Recorder {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

/// This test's two backends, one at a time: each run sets a subscriber for its thread, and
/// tracing keeps each callsite's interest process-wide, so a run setting its subscriber while
/// the other creates its spans could leave spans of one unrecorded (the client spans were
/// missing once in a full run, never alone). No other test here sets a subscriber.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn a_run_stores_its_trace_id_and_links_the_accepting_request(kind: Kind) {
    let _one = ONE_AT_A_TIME.lock().await;
    let h = Harness::new(kind).await;
    h.connect("acme", "c1").await;
    let recorder = Recorder::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(recorder.clone())
        .build();
    // This thread's subscriber: the test's future (accept, then the run) is polled here.
    let _traced = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test"))),
    );

    // An untraced accept stores no traceparent, and its run links nowhere.
    let plain = h.post_job("acme", "c1", "plain", "untraced").await;
    let request = tracing::info_span!(target: SPANS, "accepting request");
    let job = h
        .post_job("acme", "c1", "traced", "traced")
        .instrument(request.clone())
        .await;
    let accepting = request.context().span().span_context().clone();
    assert!(accepting.is_valid());
    drop(request);
    // Callsites another test thread registered while this subscriber was being set may have
    // cached "never" (tracing's interest cache is process-wide): ask every subscriber again.
    tracing::callsite::rebuild_interest_cache();
    assert_eq!(h.pipeline.run_due().await, 2);
    // A span is exported when its last handle drops, which for a request's span can be a
    // moment after the run returned (its connection's task lets go of it): wait for the two
    // runs' spans and at least four client spans, up to 10 s, before checking them.
    let started = std::time::Instant::now();
    loop {
        provider.force_flush().unwrap();
        let spans = recorder.0.lock().unwrap().clone();
        let runs = spans.iter().filter(|s| s.name == "job publish").count();
        let clients = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Client)
            .count();
        if (runs >= 2 && clients >= 4) || started.elapsed() > std::time::Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let tenant = h.store.tenant("acme");
    let stored = tenant.job(&job).await.unwrap();
    assert_eq!(
        stored.traceparent.as_deref(),
        Some(format!("00-{}-{}-01", accepting.trace_id(), accepting.span_id()).as_str()),
        "the accepting span's traceparent is stored with the post"
    );
    assert!(
        serde_json::to_value(&stored)
            .unwrap()
            .get("traceparent")
            .is_none(),
        "and not shown"
    );
    assert_eq!(tenant.job(&plain).await.unwrap().traceparent, None);

    let spans = recorder.0.lock().unwrap().clone();
    for (id, link) in [(&job, Some(&accepting)), (&plain, None)] {
        let attempts = tenant.attempts(id).await.unwrap();
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        // A run that did not publish made fewer requests than the checks below count.
        assert_eq!(attempts[0].outcome, "published", "{attempts:?}");
        let trace = attempts[0]
            .trace_id
            .clone()
            .expect("the attempt's trace id");
        let runs: Vec<_> = spans
            .iter()
            .filter(|s| s.name == "job publish" && s.span_context.trace_id().to_string() == trace)
            .collect();
        assert_eq!(
            runs.len(),
            1,
            "one run span in the attempt's trace: {spans:#?}"
        );
        let run = runs[0];
        assert_eq!(run.span_kind, SpanKind::Consumer);
        assert!(
            run.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "job.id" && kv.value.as_str() == id.as_str()),
            "{run:#?}"
        );
        let linked: Vec<_> = run
            .links
            .links
            .iter()
            .map(|l| (l.span_context.trace_id(), l.span_context.span_id()))
            .collect();
        let expected: Vec<_> = link
            .map(|l| (l.trace_id(), l.span_id()))
            .into_iter()
            .collect();
        assert_eq!(linked, expected, "{run:#?}");
        assert_ne!(
            run.span_context.trace_id(),
            accepting.trace_id(),
            "a run has a trace of its own"
        );
        // The connector's requests to the platform are client spans under the run.
        let calls = spans
            .iter()
            .filter(|s| {
                s.span_kind == SpanKind::Client && s.parent_span_id == run.span_context.span_id()
            })
            .count();
        // On failure, every span by name, kind, trace and parent (the whole dump is too long to
        // survive a CI log).
        let outline: Vec<String> = spans
            .iter()
            .map(|s| {
                format!(
                    "{} {:?} trace {} span {} parent {}",
                    s.name,
                    s.span_kind,
                    s.span_context.trace_id(),
                    s.span_context.span_id(),
                    s.parent_span_id
                )
            })
            .collect();
        assert!(
            calls >= 2,
            "draft and publish under run {}: {outline:#?}",
            run.span_context.span_id()
        );
    }
}

on_both_backends!(a_run_stores_its_trace_id_and_links_the_accepting_request);

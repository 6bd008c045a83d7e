//! Traces of the `postd-host` binary, exported over OTLP/HTTP to a collector on loopback: the
//! span of a request continuing the caller's `traceparent`, the span of the job it accepted
//! (linked to that request) with the spans of the job's outbound requests, the attempt's trace
//! id in the API and the JSON log; and nothing exported, nor any trace id, without an endpoint.

use std::time::Duration;

use super::binary::HostProcess;
use super::*;
use crate::support::Platform;
use crate::support::otlp::{CLIENT, CONSUMER, Collector, ReceivedSpan, SERVER, STATUS_ERROR};

/// The caller's trace, as a tenant's own service would send it.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// What one run of the scenario left behind.
struct Scenario {
    job: String,
    /// The job's attempts as `GET /v1/jobs/{id}/attempts` shows them.
    attempts: Vec<Value>,
    /// The host's log lines (JSON).
    log: Vec<Value>,
    /// The host's tenant key and the platform's tokens, which no span may carry.
    secrets: Vec<String>,
    /// Export requests the collector had received when the host was sent SIGTERM.
    exports_before_stop: usize,
}

/// Starts the binary with `env` and the pipeline fixture against a test platform, connects an
/// account through the OAuth flow, publishes a post with a `traceparent`, waits until it is
/// published, and stops the host with SIGTERM.
async fn publish_through_the_binary(collector: &Collector, env: &[(&str, &str)]) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start().await;
    let url = &platform.url;
    let plugins = format!(
        "[plugins.pipeline]\npath = {path:?}\nallowed_hosts = [{url:?}]\nallowed_ranges = [\"127.0.0.0/8\"]\n\
         settings = {{ base-url = {url:?} }}\n",
        path = postd_test_artifacts::PIPELINE,
    );
    let log_path = dir.path().join("host.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut env = env.to_vec();
    env.extend([("POSTD_LOG", "info"), ("POSTD_LOG_FORMAT", "json")]);
    let host = HostProcess::start(dir.path(), dir.path(), &plugins, &env, log.into()).await;
    crate::support::eventually(Duration::from_secs(120), "the plugin to load", || async {
        host.readyz().await.json["plugins"]["pipeline"] == "serving"
    })
    .await;
    let connection = connect(&host.api, &host.key).await;
    let accepted = host
        .api
        .send(
            with_json(
                host.api.request(Method::POST, "/v1/posts", Some(&host.key)),
                &post_body(&connection, "traced"),
            )
            .header("idempotency-key", "traced-1")
            .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    let post = accepted.json["id"].as_str().unwrap().to_string();
    let job = accepted.json["jobs"][0]["id"].as_str().unwrap().to_string();
    crate::support::eventually(Duration::from_secs(60), "the post to go out", || async {
        host.api
            .get(&format!("/v1/posts/{post}"), &host.key)
            .await
            .json["jobs"][0]["state"]
            == "published"
    })
    .await;
    let attempts = host
        .api
        .get(&format!("/v1/jobs/{job}/attempts"), &host.key)
        .await;
    assert_eq!(attempts.status, StatusCode::OK, "{attempts:?}");
    let unknown = host
        .api
        .get("/v1/jobs/job_nonexistent/attempts", &host.key)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    let key = host.key.clone();
    let exports_before_stop = collector.exports();
    host.signal("-TERM");
    assert!(host.exited_cleanly().await, "a graceful stop exits 0");
    let log = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line not JSON ({e}): {l}"))
        })
        .collect();
    let mut secrets = vec![key];
    // The platform issues `access-N` and `refresh-N` tokens.
    secrets.extend(["access-".to_string(), "refresh-".to_string()]);
    Scenario {
        job,
        attempts: attempts.json.as_array().unwrap().clone(),
        log,
        secrets,
        exports_before_stop,
    }
}

fn one<'a>(
    spans: &'a [ReceivedSpan],
    what: &str,
    test: impl Fn(&ReceivedSpan) -> bool,
) -> &'a ReceivedSpan {
    let found: Vec<_> = spans.iter().filter(|s| test(s)).collect();
    assert_eq!(found.len(), 1, "{what}: {found:#?}\nall spans: {spans:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_and_its_job_are_traced_to_the_collector_and_in_the_logs() {
    let collector = Collector::start().await;
    let scenario = publish_through_the_binary(
        &collector,
        &[
            ("POSTD_OTLP_ENDPOINT", collector.url.as_str()),
            ("POSTD_OTLP_SERVICE_NAME", "postd-test"),
            // No batch leaves on its own during the test (and probes are not traced, so no
            // batch fills up): everything arrives with the flush of the SIGTERM stop.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    )
    .await;
    assert_eq!(scenario.exports_before_stop, 0);
    assert!(collector.exports() >= 1, "the stop flushed the spans");
    let spans = collector.spans();
    assert!(
        spans.iter().all(|s| s.service == "postd-test"),
        "{spans:#?}"
    );
    // Readiness was polled all along: probes are not traced.
    assert!(
        !spans
            .iter()
            .any(|s| s.attribute("http.route") == Some("/readyz")),
        "{spans:#?}"
    );

    // The request continued the caller's trace, named by its route template.
    let request = one(&spans, "the POST /v1/posts span", |s| {
        s.kind == SERVER && s.attribute("http.route") == Some("/v1/posts")
    });
    assert_eq!(request.name, "POST /v1/posts");
    assert_eq!(
        (request.trace_id.as_str(), request.parent_span_id.as_str()),
        (CALLER_TRACE, CALLER_SPAN),
        "the request span continues the incoming traceparent"
    );
    assert_eq!(request.attribute("http.request.method"), Some("POST"));
    assert_eq!(request.attribute("http.response.status_code"), Some("202"));
    assert_ne!(request.status, STATUS_ERROR);
    // Requests without a traceparent start traces of their own, under their templates.
    let read = spans
        .iter()
        .find(|s| s.kind == SERVER && s.attribute("http.route") == Some("/v1/posts/{id}"))
        .expect("a span for GET /v1/posts/{id}");
    assert_ne!(read.trace_id, CALLER_TRACE);
    assert!(read.parent_span_id.is_empty(), "{read:#?}");
    let missing = one(&spans, "the span of the unknown job's attempts", |s| {
        s.attribute("http.route") == Some("/v1/jobs/{id}/attempts")
            && s.attribute("http.response.status_code") == Some("404")
    });
    assert_ne!(
        missing.status, STATUS_ERROR,
        "a 4xx is the caller's error, not the host's"
    );

    // The job's run: its own trace, linked to the request that accepted it.
    let attempt = scenario.attempts.last().unwrap();
    assert_eq!(attempt["outcome"], "published", "{attempt}");
    let trace = attempt["trace_id"]
        .as_str()
        .expect("the attempt's trace id");
    let run = one(&spans, "the job run span", |s| {
        s.kind == CONSUMER && s.attribute("job.id") == Some(&scenario.job)
    });
    assert_eq!(run.trace_id, trace, "the attempt's trace id is its run's");
    assert_eq!(run.name, "job publish");
    assert_eq!(run.attribute("tenant.id"), Some("default"));
    assert_eq!(run.attribute("plugin"), Some("pipeline"));
    assert_eq!(run.attribute("job.export"), Some("publish"));
    assert_eq!(run.attribute("job.attempt"), Some("1"));
    assert_eq!(run.attribute("job.outcome"), Some("published"));
    assert_eq!(
        run.links,
        vec![(CALLER_TRACE.to_string(), request.span_id.clone())],
        "the run links to the accepting request"
    );

    // The connector's calls to the platform, under the run: method and origin, no path.
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == CLIENT && s.trace_id == trace)
        .collect();
    assert!(calls.len() >= 2, "draft and publish: {calls:#?}");
    for call in &calls {
        assert_eq!(call.parent_span_id, run.span_id, "{call:#?}");
        assert_eq!(call.name, "POST");
        assert_eq!(call.attribute("http.request.method"), Some("POST"));
        assert_eq!(call.attribute("server.address"), Some("127.0.0.1"));
        assert_eq!(call.attribute("url.scheme"), Some("http"));
        assert_eq!(call.attribute("http.response.status_code"), Some("200"));
        assert_eq!(call.attribute("plugin"), Some("pipeline"));
    }
    // Nothing secret, and no path or query, in any span.
    for span in &spans {
        for (key, value) in &span.attributes {
            for secret in &scenario.secrets {
                assert!(
                    !value.contains(secret.as_str()),
                    "{key}={value} in {span:#?}"
                );
            }
            assert!(!value.contains("/drafts"), "{key}={value} in {span:#?}");
            assert!(!value.contains("code="), "{key}={value} in {span:#?}");
        }
    }

    // The logs carry the trace ids: the request's line, and the run's.
    let request_line = scenario
        .log
        .iter()
        .find(|l| l["fields"]["message"] == "request" && l["fields"]["route"] == "/v1/posts")
        .expect("the POST /v1/posts request line");
    assert_eq!(request_line["trace_id"], CALLER_TRACE, "{request_line}");
    assert_eq!(request_line["span_id"], request.span_id.as_str());
    let run_line = scenario
        .log
        .iter()
        .find(|l| l["fields"]["message"] == "job attempt finished")
        .expect("the run's log line");
    assert_eq!(run_line["trace_id"], trace, "{run_line}");
    assert_eq!(run_line["span_id"], run.span_id.as_str(), "{run_line}");
    // Lines outside any span have none.
    let started = scenario
        .log
        .iter()
        .find(|l| l["fields"]["message"] == "postd-host running; SIGTERM or Ctrl-C stops it")
        .expect("the start-up line");
    assert!(started.get("trace_id").is_none(), "{started}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_exported_and_attempts_have_no_trace() {
    let collector = Collector::start().await;
    // The SDK's own endpoint variable does not turn export on: the setting does.
    let scenario = publish_through_the_binary(
        &collector,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    assert_eq!(collector.exports(), 0);
    assert!(!scenario.attempts.is_empty());
    for attempt in &scenario.attempts {
        assert_eq!(attempt["trace_id"], Value::Null, "{attempt}");
    }
    assert!(
        scenario
            .log
            .iter()
            .any(|l| l["fields"]["message"] == "request"),
        "the host logged its requests"
    );
    for line in &scenario.log {
        assert!(line.get("trace_id").is_none(), "{line}");
        let spans = line["spans"].as_array().cloned().unwrap_or_default();
        assert!(
            spans
                .iter()
                .all(|s| !["http request", "job run", "http client"]
                    .contains(&s["name"].as_str().unwrap_or(""))),
            "the host opens no trace spans without export: {line}"
        );
    }
}

//! Outbound events: what the outbox adds to recording a publish, and how fast deliveries go out.
//!
//! 1. **Outbox cost.** Published outcomes recorded one transaction each (`Store::finish`, the
//!    pipeline's default) for a tenant with no event endpoint and for one with an endpoint that
//!    wants `post.published`: the difference is what writing the event costs the pipeline.
//! 2. **Delivery throughput.** Pending deliveries sent by one process's delivery loop
//!    (`event_concurrency` 16, signed, through the egress guard) to a receiver on loopback that
//!    answers 204 at once, each attempt recorded.
//!
//! On SQLite and on PostgreSQL (needs 127.0.0.1:5432; creates and drops its own
//! `postd_bench_events` database). Writes `bench/out/events.json`.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use postd_host::capability::http::Cidr;
use postd_host::capability::vault::{EncryptedSecretStore, KeyRing, LocalKeyProvider};
use postd_host::events::{EventDelivery, EventSettings};
use postd_host::jobs::{Clock, SystemClock};
use postd_host::store::{
    Finish, FinishOutcome, NewEventEndpoint, NewPost, PostContent, Store, Target,
    new_event_endpoint_id,
};
use serde_json::{Value, json};
use support::Summary;

/// Publishes recorded per tenant.
const FINISHES: usize = 2_000;
/// Deliveries sent.
const DELIVERIES: usize = 4_000;

/// Accepts and claims `n` one-target posts of `tenant`; returns the claimed jobs.
async fn claimed_jobs(store: &Store, tenant: &str, n: usize) -> Vec<postd_host::store::Claimed> {
    let now = SystemClock.now();
    let tenant_store = store.tenant(tenant);
    for i in 0..n {
        let post = NewPost {
            idempotency_key: format!("{tenant}-{}", uuid::Uuid::now_v7().simple()),
            content: PostContent {
                text: format!("post {i}"),
                ..PostContent::default()
            },
            targets: vec![Target {
                connection_id: "conn".into(),
                account_id: "acct-1".into(),
            }],
            scheduled_for: None,
        };
        tenant_store.accept(&post, &|_| true, now).await.unwrap();
    }
    let mut claimed = Vec::new();
    while claimed.len() < n {
        let batch = store
            .claim_due("bench", SystemClock.now(), 600_000, 500)
            .await
            .unwrap();
        assert!(!batch.is_empty());
        claimed.extend(batch.into_iter().filter(|c| c.job.tenant_id == tenant));
    }
    claimed
}

/// Records every claimed job as published, one transaction each; per-finish latencies.
async fn finish_all(store: &Store, jobs: &[postd_host::store::Claimed]) -> Summary {
    let mut samples = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let finish = Finish {
            export: "publish",
            worker: "bench".into(),
            started_at: SystemClock.now(),
            latency_ms: 1,
            fuel: 1,
            error_code: None,
            error: None,
            outcome: FinishOutcome::Published {
                result: json!({ "post_id": format!("p{i}"), "url": null, "scheduled_for": null })
                    .to_string(),
            },
            trace_id: None,
        };
        let started = Instant::now();
        assert!(store.finish(job, &finish, SystemClock.now()).await.unwrap());
        samples.push(started.elapsed());
    }
    Summary::of(&samples)
}

async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn backend(name: &str, url: &str, dir: &std::path::Path) -> Value {
    let store = Store::open(url).await.unwrap();
    let now = SystemClock.now();
    support::host::seed_tenant(&store, "quiet", now).await;
    support::host::seed_tenant(&store, "told", now).await;
    let key = LocalKeyProvider::open_or_create(&dir.join(format!("{name}.key"))).unwrap();
    let secrets = Arc::new(EncryptedSecretStore::new(
        KeyRing::new(Arc::new(key)),
        Arc::new(store.clone()),
    ));
    let settings = EventSettings {
        allowed_ranges: vec![Cidr::parse("127.0.0.0/8").unwrap()],
        ..EventSettings::default()
    };
    let delivery = EventDelivery::new(
        store.clone(),
        secrets,
        Arc::new(SystemClock),
        settings,
        "bench".into(),
    );
    let endpoint = new_event_endpoint_id();
    delivery
        .new_signing_secret("told", &endpoint, false)
        .await
        .unwrap();
    let new = NewEventEndpoint {
        url: receiver().await,
        event_types: vec!["post.published".into()],
        description: String::new(),
        enabled: true,
    };
    store
        .tenant("told")
        .create_event_endpoint(&endpoint, &new, "bench", now)
        .await
        .unwrap();

    // Interleaved halves, so drift (a growing table, a warming cache) hits both alike.
    let (quiet, told) = (
        claimed_jobs(&store, "quiet", FINISHES).await,
        claimed_jobs(&store, "told", FINISHES).await,
    );
    let half = FINISHES / 2;
    let mut without = Vec::new();
    let mut with = Vec::new();
    for part in 0..2 {
        let range = part * half..(part + 1) * half;
        without.push(finish_all(&store, &quiet[range.clone()]).await);
        with.push(finish_all(&store, &told[range]).await);
    }
    let mean = |s: &[Summary]| s.iter().map(|s| s.mean).sum::<f64>() / s.len() as f64;
    let p99 = |s: &[Summary]| s.iter().map(|s| s.p99).fold(0.0, f64::max);
    let (without_mean, with_mean) = (mean(&without), mean(&with));
    eprintln!(
        "{name}: finish without an endpoint {without_mean:.0} µs, with one {with_mean:.0} µs (+{:.0} µs)",
        with_mean - without_mean
    );

    // The told tenant's publishes left FINISHES deliveries; top up to DELIVERIES.
    let more = claimed_jobs(&store, "told", DELIVERIES - FINISHES).await;
    finish_all(&store, &more).await;
    let started = Instant::now();
    let sent = delivery.deliver_due().await;
    let elapsed = started.elapsed();
    assert_eq!(sent, DELIVERIES);
    assert_eq!(delivery.metrics().snapshot()[0].1, DELIVERIES as u64);
    let rate = sent as f64 / elapsed.as_secs_f64();
    eprintln!("{name}: {sent} deliveries in {elapsed:.2?}: {rate:.0}/s");
    json!({
        "backend": name,
        "finish_us": {
            "without_endpoint": { "mean": without_mean, "p99": p99(&without) },
            "with_endpoint": { "mean": with_mean, "p99": p99(&with) },
            "added_mean": with_mean - without_mean,
        },
        "deliveries": sent,
        "delivery_seconds": elapsed.as_secs_f64(),
        "deliveries_per_s": rate,
        "concurrency": 16,
    })
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}", dir.path().join("events.db").display());
        let mut rows = vec![backend("sqlite", &sqlite, dir.path()).await];
        let postgres = support::host::create_database("postd_bench_events").await;
        rows.push(backend("postgres", &postgres, dir.path()).await);
        support::host::drop_database("postd_bench_events").await;
        support::write_result("events", &json!({ "backends": rows }));
    });
}

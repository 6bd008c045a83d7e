//! End-to-end pipeline throughput and host-added latency: posts through the HTTP API
//! (`POST /v1/posts`), queued, dispatched, published by the pipeline fixture over HTTP to a
//! platform on loopback (draft, then publish), stored as published. Closed loop at 1, 100 and
//! 1,000 publishes in flight, on SQLite and on PostgreSQL (woken by `LISTEN`/`NOTIFY`);
//! resident memory of the (single) process at each level. Writes `bench/out/pipeline.json`.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 (`make services`). Creates
//! and drops its own `postd_bench_*` database and Redis keys.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;

use serde_json::json;
use support::host::Host;
use support::load;
use support::platform::Platform;

/// (publishes in flight, posts sent)
const LEVELS: &[(usize, usize)] = &[(1, 300), (100, 5_000), (1_000, 10_000)];
/// A warm-up run before the levels (compile caches, connection pools).
const WARMUP: (usize, usize) = (50, 500);

/// The highest level again on a fresh host that groups concurrent run outcomes and recovery
/// points into shared transactions (group commit, off by default), for comparison.
async fn grouped(name: &str, postgres: bool, client: &reqwest::Client) -> serde_json::Value {
    let (concurrency, total) = *LEVELS.last().unwrap();
    let platform = Platform::start().await;
    let plugin = Path::new(postd_test_artifacts::PIPELINE);
    let host = Host::start(postgres, plugin, &platform.url, true).await;
    let pool = host.store.pool().clone();
    let tag = format!("{name}-grouped");
    load::run(
        client,
        &host.target,
        &pool,
        &platform,
        &format!("{tag}-warmup"),
        WARMUP.0,
        WARMUP.1,
        &[],
    )
    .await;
    platform.reset();
    let run = load::run(
        client,
        &host.target,
        &pool,
        &platform,
        &tag,
        concurrency,
        total,
        &[],
    )
    .await;
    let analysis = load::analyse(&pool, run.started_ms, &platform.jobs()).await;
    eprintln!("{name} x{concurrency}, group commit: {:.0}/s", run.rate());
    host.stop().await;
    json!({
        "concurrency": concurrency,
        "sent": run.sent,
        "failed_requests": run.failed_requests,
        "publishes_per_s": run.rate(),
        "analysis": analysis.json(),
    })
}

async fn backend(name: &str, postgres: bool, client: &reqwest::Client) -> serde_json::Value {
    let platform = Platform::start().await;
    let plugin = Path::new(postd_test_artifacts::PIPELINE);
    let host = Host::start(postgres, plugin, &platform.url, false).await;
    let pool = host.store.pool().clone();
    let idle_rss = support::rss_kib();
    let me = vec!["self".to_string()];
    load::run(
        client,
        &host.target,
        &pool,
        &platform,
        &format!("{name}-warmup"),
        WARMUP.0,
        WARMUP.1,
        &me,
    )
    .await;
    let mut rows = Vec::new();
    for &(concurrency, total) in LEVELS {
        platform.reset();
        let run = load::run(
            client,
            &host.target,
            &pool,
            &platform,
            &format!("{name}-{concurrency}"),
            concurrency,
            total,
            &me,
        )
        .await;
        let analysis = load::analyse(&pool, run.started_ms, &platform.jobs()).await;
        eprintln!(
            "{name} x{concurrency}: {:.0}/s, host-added p50 {:.1} ms p99 {:.1} ms, rss {} KiB, failed requests {}",
            run.rate(),
            analysis.host_added.p50,
            analysis.host_added.p99,
            run.rss_peak_kib[0],
            run.failed_requests,
        );
        rows.push(json!({
            "concurrency": concurrency,
            "sent": run.sent,
            "failed_requests": run.failed_requests,
            "elapsed_s": run.elapsed.as_secs_f64(),
            "publishes_per_s": run.rate(),
            "rss_peak_kib": run.rss_peak_kib[0],
            "analysis": analysis.json(),
        }));
    }
    host.stop().await;
    let grouped = grouped(name, postgres, client).await;
    json!({ "backend": name, "idle_rss_kib": idle_rss, "levels": rows, "group_commit": grouped })
}

fn main() {
    let tokio = support::tokio_runtime();
    let results = tokio.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(2_000)
            .build()
            .unwrap();
        vec![
            backend("SQLite", false, &client).await,
            backend("PostgreSQL + Redis", true, &client).await,
        ]
    });
    support::write_result(
        "pipeline",
        &json!({ "job_slots": support::host::JOB_SLOTS, "backends": results }),
    );
}

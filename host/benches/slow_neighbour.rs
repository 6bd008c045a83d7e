//! A slow plugin beside a fast one (the fault suite's "slow or stuck component"): does the fast
//! plugin keep its throughput and latency while every call of its neighbour runs near its
//! deadline?
//!
//! One in-process host (`support::host`) serves the pipeline fixture twice: as `pipeline`,
//! against a platform that answers at once, and as `slow`, against one that answers each
//! request [`SLOW_REQUEST`] late — two requests per publish, so every call of `slow` takes 80 %
//! of its [`DEADLINE`]. Tenant `bench` posts to `pipeline`, tenant `noisy` to `slow`. The fast
//! run ([`FAST`] posts, closed loop) is measured alone, then again while `noisy` keeps
//! [`SLOW_BACKLOG`] posts queued for `slow` (its 32 concurrent calls always busy). Reported per
//! backend: publishes/s and end-to-end p50/p99 of the fast run, with and without the neighbour,
//! and what the slow plugin did meanwhile. Results: `bench/out/slow_neighbour.json`.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use support::host::{Host, plugin_entry, seed_tenant_with};
use support::load;
use support::platform::Platform;

/// The slow plugin's deadline.
const DEADLINE: Duration = Duration::from_secs(2);
/// How late the slow platform answers each request (two per publish).
const SLOW_REQUEST: Duration = Duration::from_millis(800);
/// Posts queued for the slow plugin before the measured run: more than it can finish during it.
const SLOW_BACKLOG: usize = 2_000;
/// The fast run: posts in flight, posts.
const FAST: (usize, usize) = (100, 4_000);
/// Warm-up of the fast plugin: in flight, posts.
const WARMUP: (usize, usize) = (100, 1_000);

fn main() {
    let tokio = support::tokio_runtime();
    let rows = tokio.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1_000)
            .build()
            .unwrap();
        vec![
            backend("SQLite", false, &client).await,
            backend("PostgreSQL + Redis", true, &client).await,
        ]
    });
    support::write_result(
        "slow_neighbour",
        &json!({
            "slow_deadline_ms": DEADLINE.as_millis() as u64,
            "slow_request_delay_ms": SLOW_REQUEST.as_millis() as u64,
            "fast_in_flight": FAST.0,
            "fast_posts": FAST.1,
            "backends": rows,
        }),
    );
}

async fn backend(name: &str, postgres: bool, client: &reqwest::Client) -> serde_json::Value {
    let fast = Platform::start().await;
    let slow = Platform::start_with_delay(SLOW_REQUEST).await;
    let plugin = Path::new(postd_test_artifacts::PIPELINE);
    let host = Host::start(postgres, plugin, &fast.url, true).await;
    let mut entry = plugin_entry(plugin, &slow.url);
    entry.id = "slow".into();
    entry.component = "pipeline".into();
    entry.limits.deadline = DEADLINE;
    entry.limits.max_concurrency = 32;
    host.runtime.configure_plugin(entry).await.unwrap();
    let noisy_key = seed_tenant_with(&host.store, "noisy", "slow", host.pipeline.now()).await;
    let pool = host.store.pool().clone();
    let me = vec!["self".to_string()];

    load::run(
        client,
        &host.target,
        &pool,
        &fast,
        "warmup",
        WARMUP.0,
        WARMUP.1,
        &me,
    )
    .await;
    fast.reset();
    let alone = load::run(
        client,
        &host.target,
        &pool,
        &fast,
        "alone",
        FAST.0,
        FAST.1,
        &me,
    )
    .await;
    let alone_analysis = load::analyse(&pool, alone.started_ms, &fast.jobs()).await;
    eprintln!(
        "{name}: alone {:.0}/s, end to end p50 {:.1} ms p99 {:.1} ms",
        alone.rate(),
        alone_analysis.total.p50,
        alone_analysis.total.p99
    );

    // The neighbour: a backlog for `slow`, then a few seconds for its calls to fill its slots.
    let api = host.target.api_urls[0].clone();
    let submitted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let posts = (0..SLOW_BACKLOG).map(|n| {
        let (client, api, key, submitted) = (
            client.clone(),
            api.clone(),
            noisy_key.clone(),
            submitted.clone(),
        );
        async move {
            let body = json!({
                "text": format!("slow post {n}"),
                "targets": [{ "connection_id": "conn", "account_id": "acct-1" }],
            });
            let accepted = client
                .post(format!("{api}/v1/posts"))
                .bearer_auth(&key)
                .header("idempotency-key", format!("slow-{n}"))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if accepted {
                submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    futures::stream::iter(posts)
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let slow_before = slow_counts(&pool).await;
    // The run gives up (panics) after 60 s without a fast post published: that is a result
    // here (the fast plugin starved), so it runs in a task of its own.
    fast.reset();
    let started_ms = now_ms();
    let beside = {
        let (client, target, pool, fast, me) = (
            client.clone(),
            host.target.clone(),
            pool.clone(),
            fast.clone(),
            me.clone(),
        );
        tokio::spawn(async move {
            load::run(
                &client,
                &target,
                &pool,
                &fast,
                "beside-slow",
                FAST.0,
                FAST.1,
                &me,
            )
            .await
        })
        .await
    };
    let slow_after = slow_counts(&pool).await;
    let beside_analysis = load::analyse(&pool, started_ms, &fast.jobs()).await;
    let beside_rate = beside.as_ref().ok().map(load::Run::rate);
    let ratio = beside_rate.map(|rate| rate / alone.rate());
    eprintln!(
        "{name}: beside a slow plugin {}, end to end p50 {:.1} ms p99 {:.1} ms ({} of {} fast jobs published); slow plugin meanwhile: {} published, {} attempts failed",
        match (beside_rate, ratio) {
            (Some(rate), Some(ratio)) => format!("{rate:.0}/s ({:.0} % of alone)", ratio * 100.0),
            _ => "starved: no fast post published for 60 s".to_string(),
        },
        beside_analysis.total.p50,
        beside_analysis.total.p99,
        beside_analysis.published,
        beside_analysis.jobs,
        slow_after.0 - slow_before.0,
        slow_after.1 - slow_before.1,
    );
    let row = json!({
        "backend": name,
        "slow_posts_accepted": submitted.load(std::sync::atomic::Ordering::Relaxed),
        "alone": {
            "publishes_per_s": alone.rate(),
            "analysis": alone_analysis.json(),
        },
        "beside_slow": {
            "publishes_per_s": beside_rate,
            "starved": beside.is_err(),
            "analysis": beside_analysis.json(),
            "slow_published_meanwhile": slow_after.0 - slow_before.0,
            "slow_failed_attempts_meanwhile": slow_after.1 - slow_before.1,
        },
        "throughput_ratio": ratio,
    });
    host.stop().await;
    row
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The slow plugin's published jobs and failed attempts so far.
async fn slow_counts(pool: &sqlx::AnyPool) -> (i64, i64) {
    use sqlx::Row;
    let published =
        sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE plugin = 'slow' AND state = 'published'")
            .fetch_one(pool)
            .await
            .unwrap()
            .get::<i64, _>("n");
    let failed = sqlx::query(
        "SELECT COUNT(*) AS n FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
         WHERE j.plugin = 'slow' AND a.outcome <> 'published'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get::<i64, _>("n");
    (published, failed)
}

//! A closed-loop load generator for the HTTP API: keeps `concurrency` publishes in flight (a
//! post is in flight from its `POST /v1/posts` until the platform has made the post; watching
//! the platform costs the host nothing, where polling the database would compete with it), then
//! waits until every job is stored as published; and the analysis of a run from the database's
//! timestamps and what the platform saw.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{AnyPool, Row};
use tokio::sync::Semaphore;

use super::Summary;
use super::platform::{JobSeen, Platform};

/// Where to send posts: one or more API base URLs and one or more tenants' API keys (posts go
/// round-robin over both).
#[derive(Clone)]
pub struct Target {
    /// API base URLs.
    pub api_urls: Vec<String>,
    /// Tenants' API keys.
    pub keys: Vec<String>,
    /// The connection to post to (the same id in every tenant).
    pub connection: String,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Run {
    /// Posts sent.
    pub sent: usize,
    /// Requests the API did not accept.
    pub failed_requests: usize,
    /// Wall time from the first request to the last job stored as published.
    pub elapsed: Duration,
    /// Jobs stored as published during the run.
    pub published: usize,
    /// Highest resident memory seen of each watched process, KiB.
    pub rss_peak_kib: Vec<u64>,
    /// Epoch milliseconds when the run started (its jobs were created at or after it).
    pub started_ms: i64,
}

impl Run {
    /// Publishes per second.
    pub fn rate(&self) -> f64 {
        self.published as f64 / self.elapsed.as_secs_f64()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn published_count(pool: &AnyPool) -> usize {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE state = 'published' AND plugin = 'pipeline'",
    )
    .fetch_one(pool)
    .await
    .expect("counting published jobs");
    row.get::<i64, _>("n") as usize
}

/// The body of post `n`: one target, the fixture's default two-step publish over HTTP.
pub fn body(target: &Target, n: usize) -> Value {
    json!({
        "text": format!("bench post {n}"),
        "targets": [{ "connection_id": target.connection, "account_id": "acct-1" }],
    })
}

/// Sends `total` posts keeping `concurrency` in flight; returns when all accepted posts are
/// stored as published (or panics after 60 s without progress). `rss_pids` are sampled as it
/// goes.
#[allow(clippy::too_many_arguments)] // a harness entry point: each argument is one knob of a run
pub async fn run(
    client: &reqwest::Client,
    target: &Target,
    pool: &AnyPool,
    platform: &Platform,
    run_tag: &str,
    concurrency: usize,
    total: usize,
    rss_pids: &[String],
) -> Run {
    let baseline = published_count(pool).await;
    let started_ms = now_ms();
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(concurrency));
    let failed = Arc::new(AtomicUsize::new(0));
    let submitter = {
        let (client, target, permits, failed) = (
            client.clone(),
            target.clone(),
            permits.clone(),
            failed.clone(),
        );
        let run_tag = run_tag.to_string();
        tokio::spawn(async move {
            for n in 0..total {
                permits.acquire().await.unwrap().forget();
                let url = format!("{}/v1/posts", target.api_urls[n % target.api_urls.len()]);
                let request = client
                    .post(url)
                    .bearer_auth(&target.keys[n % target.keys.len()])
                    .header("idempotency-key", format!("{run_tag}-{n}"))
                    .header("content-type", "application/json")
                    .body(body(&target, n).to_string());
                let (permits, failed) = (permits.clone(), failed.clone());
                tokio::spawn(async move {
                    let ok = match request.send().await {
                        Ok(response) => response.status().is_success(),
                        Err(_) => false,
                    };
                    if !ok {
                        failed.fetch_add(1, Ordering::SeqCst);
                        permits.add_permits(1);
                    }
                });
            }
        })
    };
    let mut rss_peak = vec![0; rss_pids.len()];
    let posts_before = platform.posts();
    let mut posted = 0;
    let mut progress_at = Instant::now();
    let mut ticks = 0u64;
    // Pace by the platform's posts (1 ms ticks).
    loop {
        if ticks.is_multiple_of(20) {
            for (peak, pid) in rss_peak.iter_mut().zip(rss_pids) {
                *peak = (*peak).max(super::rss_kib_of(pid));
            }
        }
        ticks += 1;
        let now = platform.posts() - posts_before;
        if now > posted {
            permits.add_permits(now - posted);
            posted = now;
            progress_at = Instant::now();
        }
        if posted + failed.load(Ordering::SeqCst) >= total {
            break;
        }
        assert!(
            progress_at.elapsed() < Duration::from_secs(60),
            "no progress for 60 s: {posted} of {total} posted"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Then until the last outcome is stored.
    let mut done;
    loop {
        done = published_count(pool).await - baseline;
        if done + failed.load(Ordering::SeqCst) >= total {
            break;
        }
        assert!(
            progress_at.elapsed() < Duration::from_secs(60),
            "no progress for 60 s: {done} of {total} stored as published"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    submitter.await.unwrap();
    Run {
        sent: total,
        failed_requests: failed.load(Ordering::SeqCst),
        elapsed,
        published: done,
        rss_peak_kib: rss_peak,
        started_ms,
    }
}

/// Latencies and exactly-once evidence of the jobs created since `started_ms`.
#[derive(Debug)]
pub struct Analysis {
    /// Jobs created in the run.
    pub jobs: usize,
    /// Of those, stored as published.
    pub published: usize,
    /// Attempts recorded for them.
    pub attempts: usize,
    /// Attempts that did not end `published`.
    pub failed_attempts: usize,
    /// Attempts per worker name.
    pub by_worker: HashMap<String, usize>,
    /// Posts the platform made for them.
    pub platform_posts: usize,
    /// Jobs for which the platform made other than exactly one post.
    pub not_exactly_once: usize,
    /// Accepted -> stored as published, ms (database timestamps, millisecond resolution).
    pub total: Summary,
    /// `total` minus the platform's handler time.
    pub host_added: Summary,
    /// Attempt duration minus the platform's handler time (no queueing), ms.
    pub in_attempt_host_added: Summary,
    /// Accepted -> attempt started, ms.
    pub queue_wait: Summary,
}

impl Analysis {
    /// As JSON (latencies in ms).
    pub fn json(&self) -> Value {
        let ms = |s: &Summary| json!({ "p50_ms": s.p50, "p99_ms": s.p99, "mean_ms": s.mean });
        json!({
            "jobs": self.jobs,
            "published": self.published,
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "attempts_by_worker": self.by_worker,
            "platform_posts": self.platform_posts,
            "jobs_not_posted_exactly_once": self.not_exactly_once,
            "total": ms(&self.total),
            "host_added": ms(&self.host_added),
            "in_attempt_host_added": ms(&self.in_attempt_host_added),
            "queue_wait": ms(&self.queue_wait),
        })
    }
}

/// Reads the run's jobs and attempts (of plugin `pipeline`: a neighbour's are not the run's)
/// and matches them with what the platform saw.
pub async fn analyse(pool: &AnyPool, started_ms: i64, seen: &HashMap<String, JobSeen>) -> Analysis {
    let jobs =
        sqlx::query("SELECT id, state, created_at, updated_at FROM jobs WHERE created_at >= $1 AND plugin = 'pipeline'")
            .bind(started_ms)
            .fetch_all(pool)
            .await
            .expect("reading jobs");
    let attempts = sqlx::query(
        "SELECT a.job_id, a.started_at, a.latency_ms, a.outcome, a.worker FROM job_attempts a \
         JOIN jobs j ON j.id = a.job_id WHERE j.created_at >= $1 AND j.plugin = 'pipeline'",
    )
    .bind(started_ms)
    .fetch_all(pool)
    .await
    .expect("reading attempts");
    let mut created = HashMap::new();
    let (mut total, mut host_added) = (Vec::new(), Vec::new());
    let mut published = 0;
    let (mut platform_posts, mut not_exactly_once) = (0, 0);
    for row in &jobs {
        let id: String = row.get("id");
        let (c, u): (i64, i64) = (row.get("created_at"), row.get("updated_at"));
        created.insert(id.clone(), c);
        let job = seen.get(&id).cloned().unwrap_or_default();
        platform_posts += job.posts as usize;
        if job.posts != 1 {
            not_exactly_once += 1;
        }
        if row.get::<String, _>("state") == "published" {
            published += 1;
            total.push((u - c) as f64);
            host_added.push((u - c) as f64 - job.handler_us / 1000.0);
        }
    }
    let (mut in_attempt, mut queue_wait) = (Vec::new(), Vec::new());
    let mut failed_attempts = 0;
    let mut by_worker: HashMap<String, usize> = HashMap::new();
    for row in &attempts {
        let job: String = row.get("job_id");
        *by_worker.entry(row.get("worker")).or_default() += 1;
        if row.get::<String, _>("outcome") != "published" {
            failed_attempts += 1;
            continue;
        }
        let handler = seen.get(&job).map_or(0.0, |j| j.handler_us / 1000.0);
        in_attempt.push(row.get::<i64, _>("latency_ms") as f64 - handler);
        queue_wait.push((row.get::<i64, _>("started_at") - created[&job]) as f64);
    }
    let summary = |v: &mut Vec<f64>| {
        if v.is_empty() {
            v.push(f64::NAN);
        }
        Summary::of_micros(v)
    };
    Analysis {
        jobs: jobs.len(),
        published,
        attempts: attempts.len(),
        failed_attempts,
        by_worker,
        platform_posts,
        not_exactly_once,
        total: summary(&mut total),
        host_added: summary(&mut host_added),
        in_attempt_host_added: summary(&mut in_attempt),
        queue_wait: summary(&mut queue_wait),
    }
}

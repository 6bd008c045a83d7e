//! Measuring one configuration: its processes, the closed loop, the waits, and the counters
//! read before and after.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::procs::{self, Group};
use crate::stack::{self, Backend, Deployment};
use crate::{Config, Shared, load, stats};

async fn platform_stats(client: &reqwest::Client, url: &str) -> anyhow::Result<(u64, u64)> {
    let v: Value = serde_json::from_slice(
        &client
            .get(format!("{url}/stats"))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    Ok((
        v["posts"].as_u64().unwrap_or(0),
        v["jobs"].as_u64().unwrap_or(0),
    ))
}

/// Waits until the platform has seen `jobs` distinct jobs, then until the stack stores
/// `published` jobs as published; fails after 120 s without progress.
async fn wait_published(
    shared: &Shared,
    deployment: &mut Deployment,
    platform_url: &str,
    jobs: u64,
    published: usize,
) -> anyhow::Result<()> {
    let mut progress_at = Instant::now();
    let mut seen = 0;
    loop {
        deployment.check_alive()?;
        let (_, now) = platform_stats(&shared.client, platform_url).await?;
        if now >= jobs {
            break;
        }
        if now > seen {
            seen = now;
            progress_at = Instant::now();
        }
        anyhow::ensure!(
            progress_at.elapsed() < Duration::from_secs(120),
            "no progress for 120 s: the platform saw {seen} of {jobs} jobs"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut last = 0;
    progress_at = Instant::now();
    loop {
        deployment.check_alive()?;
        let done = deployment.published_count().await?;
        if done >= published {
            return Ok(());
        }
        if done > last {
            last = done;
            progress_at = Instant::now();
        }
        anyhow::ensure!(
            progress_at.elapsed() < Duration::from_secs(120),
            "no progress for 120 s: {done} of {published} stored as published"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Snapshot {
    cpu: Vec<HashMap<String, u64>>,
    redis_commands: Option<u64>,
}

/// The process groups of the report, in its order.
const GROUPS: [&str; 5] = ["host", "database", "redis", "platform", "loader"];

async fn snapshot(groups: &[Group], redis: &mut Option<stats::Redis>) -> anyhow::Result<Snapshot> {
    let cpu = groups.iter().map(Group::snapshot).collect();
    let redis_commands = match redis {
        Some(r) => Some(r.commands().await?),
        None => None,
    };
    Ok(Snapshot {
        cpu,
        redis_commands,
    })
}

/// Measures one configuration: starts its processes, runs the loop, and reports its figures.
pub async fn measure(shared: &Shared, config: &Config) -> anyhow::Result<Value> {
    let name = format!("postd_xbench_{}_{}", shared.tag, config.index);
    // The platform.
    let platform_port = procs::free_port();
    let platform_url = format!("http://127.0.0.1:{platform_port}");
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("platform")
        .arg("--port")
        .arg(platform_port.to_string());
    let mut platform = procs::Proc::spawn("the platform", command, None)?;
    procs::wait_ready(
        &shared.client,
        &format!("{platform_url}/stats"),
        &mut platform,
        Duration::from_secs(20),
    )
    .await?;
    // The stack, its tenants and connections.
    let mut deployment = stack::start(shared, config, &name, &platform_url).await?;
    let result = run_loops(
        shared,
        config,
        &mut deployment,
        &mut platform,
        &platform_url,
    )
    .await
    .map_err(|e| e.context(deployment.log_tails()));
    deployment.stop(shared).await;
    platform.stop();
    result
}

async fn run_loops(
    shared: &Shared,
    config: &Config,
    deployment: &mut Deployment,
    platform: &mut procs::Proc,
    platform_url: &str,
) -> anyhow::Result<Value> {
    let poster = deployment.poster();
    let tag = format!("{}-{}", shared.tag, config.index);
    // Warm-up.
    let warm = load::run(
        &shared.client,
        poster.clone(),
        &format!("{tag}-warmup"),
        config.in_flight.min(50),
        config.warmup,
    )
    .await?;
    let warm_jobs: usize = warm.accepted.iter().map(|a| a.jobs.len()).sum();
    wait_published(
        shared,
        deployment,
        platform_url,
        warm_jobs as u64,
        warm_jobs,
    )
    .await?;
    // Measured.
    let mut redis = match &deployment.redis_url {
        Some(url) => Some(stats::Redis::connect(url).await?),
        None => None,
    };
    let redis_group = match &mut redis {
        Some(r) => r.pid().await.map_or(Group::None, |p| Group::Pids(vec![p])),
        None => Group::None,
    };
    let groups = [
        Group::Pids(deployment.pids()),
        match (&deployment.database, config.backend) {
            (Some(db), Backend::Postgres) => Group::Postgres {
                db: db.clone(),
                postmaster: shared.postgres.as_ref().and_then(|p| p.postmaster.clone()),
            },
            _ => Group::None,
        },
        redis_group,
        Group::Pids(vec![platform.pid()]),
        Group::Pids(vec![std::process::id().to_string()]),
    ];
    let pg_before = match (&shared.postgres, &deployment.database) {
        (Some(pg), Some(db)) => {
            // What the warm-up did is published by then: an idle backend holds its statistics
            // back at most 10 s (PGSTAT_IDLE_INTERVAL).
            tokio::time::sleep(Duration::from_millis(10_500)).await;
            Some(pg.counters(db).await?)
        }
        _ => None,
    };
    let queries_before = deployment.queries.load(Ordering::Relaxed);
    let before = snapshot(&groups, &mut redis).await?;
    let measured = load::run(
        &shared.client,
        poster.clone(),
        &tag,
        config.in_flight,
        config.posts,
    )
    .await?;
    let measured_jobs: usize = measured.accepted.iter().map(|a| a.jobs.len()).sum();
    wait_published(
        shared,
        deployment,
        platform_url,
        (warm_jobs + measured_jobs) as u64,
        warm_jobs + measured_jobs,
    )
    .await?;
    let after = snapshot(&groups, &mut redis).await?;
    // Latencies: accept from the loader; end to end = first request -> job stored as published.
    let published_at = deployment.published_times().await?;
    let runs = deployment.runs_since(measured.started_ms).await?;
    let polls = (deployment.queries.load(Ordering::Relaxed) - queries_before) as i64;
    // The stack stops here, so its database's backends exit and publish their statistics.
    deployment.shutdown().await;
    let pg_after = match (&shared.postgres, &deployment.database) {
        (Some(pg), Some(db)) => Some(pg.counters_after_exit(db).await?),
        _ => None,
    };
    let arrivals: Value = serde_json::from_slice(
        &shared
            .client
            .get(format!("{platform_url}/jobs"))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    let (mut accept, mut e2e, mut to_platform) = (Vec::new(), Vec::new(), Vec::new());
    let (mut not_once, mut missing) = (0, 0);
    let mut last_published = measured.started_ms;
    for post in &measured.accepted {
        accept.push(post.accept_us as f64 / 1000.0);
        for job in &post.jobs {
            match published_at.get(job) {
                Some(&at) => {
                    e2e.push((at - post.sent_ms) as f64);
                    last_published = last_published.max(at);
                }
                None => missing += 1,
            }
            match arrivals.get(job) {
                Some(seen) => {
                    if seen[0].as_u64() != Some(1) {
                        not_once += 1;
                    }
                    to_platform.push((seen[1].as_i64().unwrap_or(0) - post.sent_ms) as f64);
                }
                None => not_once += 1,
            }
        }
    }
    let elapsed_ms = (last_published - measured.started_ms).max(1) as f64;
    let publishes = measured_jobs as f64;
    let rate = publishes / (elapsed_ms / 1000.0);
    let (accept_p50, accept_p99) = load::p50_p99(&mut accept);
    let (e2e_p50, e2e_p99) = load::p50_p99(&mut e2e);
    let (plat_p50, plat_p99) = load::p50_p99(&mut to_platform);
    let mut cpu = serde_json::Map::new();
    for (i, group) in groups.iter().enumerate() {
        let value = if matches!(group, Group::None) {
            Value::Null
        } else {
            let ticks = procs::used(&before.cpu[i], &after.cpu[i]);
            json!(ticks as f64 * 1000.0 / shared.ticks / publishes)
        };
        cpu.insert(GROUPS[i].to_string(), value);
    }
    let redis_commands = match (before.redis_commands, after.redis_commands) {
        // The INFO that took the first reading is counted in the second.
        (Some(b), Some(a)) => json!((a.saturating_sub(b + 1)) as f64 / publishes),
        _ => Value::Null,
    };
    let (commits, statements, rows_written) = match (pg_before, pg_after) {
        (Some(b), Some(a)) => {
            // Each query of the loader on the database is one statement and one commit.
            (
                json!((a.commits - b.commits - polls) as f64 / publishes),
                match (b.statements, a.statements) {
                    (Some(sb), Some(sa)) => json!((sa - sb - polls) as f64 / publishes),
                    _ => Value::Null,
                },
                json!((a.rows_written - b.rows_written) as f64 / publishes),
            )
        }
        _ => (Value::Null, Value::Null, Value::Null),
    };
    eprintln!(
        "  {}: {:.0} publishes/s, accept p50 {:.1} ms p99 {:.1} ms, end-to-end p50 {:.0} ms p99 {:.0} ms, retried {}",
        config.label(),
        rate,
        accept_p50,
        accept_p99,
        e2e_p50,
        e2e_p99,
        measured.retried
    );
    Ok(json!({
        "stack": config.stack.name(),
        "backend": config.backend.name(),
        "tenants": config.tenants,
        "in_flight": config.in_flight,
        "posts": config.posts,
        "warmup_posts": config.warmup,
        "jobs": measured_jobs,
        "publishes_per_s": rate,
        "elapsed_s": elapsed_ms / 1000.0,
        "accept_phase_s": measured.elapsed.as_secs_f64(),
        "accept_ms": { "p50": accept_p50, "p99": accept_p99 },
        "end_to_end_ms": { "p50": e2e_p50, "p99": e2e_p99 },
        "to_platform_ms": { "p50": plat_p50, "p99": plat_p99 },
        "cpu_ms_per_publish": cpu,
        "sql_statements_per_publish": statements,
        "sql_commits_per_publish": commits,
        "sql_rows_written_per_publish": rows_written,
        "redis_commands_per_publish": redis_commands,
        "retried_requests": measured.retried,
        "request_errors": measured.errors,
        "runs_per_publish": runs as f64 / publishes,
        "jobs_not_published": missing,
        "jobs_not_posted_exactly_once": not_once,
        "workers": shared.workers(),
    }))
}

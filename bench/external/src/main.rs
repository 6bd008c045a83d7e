//! `postd-loadbench`: the external pipeline benchmark (issue 22, "Pipeline at speed").
//!
//! For each configuration (stack x backend x tenants x posts in flight) it starts, each as its
//! own process: the platform (`postd-loadbench platform`, answering the one POST of every
//! publish), and the stack under test — `target/release/postd-host run` on SQLite or on a fresh
//! PostgreSQL database with Redis, serving the `one-post` fixture — or the Node + BullMQ
//! baseline (`bench/baseline-node`). It creates the tenants (admin API), one API-key connection
//! each, then runs a closed loop from this process (the loader): `in_flight` clients post
//! `POST /v1/posts` with unique idempotency keys until N posts are accepted, then it waits until
//! every job is stored as published. It reports publishes/s, accept and end-to-end latency,
//! CPU time per publish of each process group, PostgreSQL commits (and statements when
//! `pg_stat_statements` is preloaded) and Redis commands per publish. Writes
//! `bench/out/external.json` and `bench/out/external.md`. See bench/NOTES.md.

mod load;
mod node;
mod platform;
mod procs;
mod stack;
mod stats;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use procs::Group;
use stack::{Backend, Deployment, StackKind};

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[derive(Parser)]
#[command(
    name = "postd-loadbench",
    version,
    about = "The external pipeline benchmark: release host binary, platform and load generator \
             in their own processes (make bench-external)",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the benchmark's platform on 127.0.0.1:<port> (the harness starts it itself).
    Platform {
        /// The port.
        #[arg(long)]
        port: u16,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(clap::Args, Clone, Debug)]
struct RunArgs {
    /// Stacks to measure: postd (the host), node (the Node + BullMQ baseline, PostgreSQL + Redis
    /// only; needs `npm ci` in --node-dir).
    #[arg(long, value_delimiter = ',', default_value = "postd")]
    stack: Vec<StackKind>,
    /// Backends: sqlite (a temporary file, database polling), postgres (a fresh database
    /// postd_xbench_* plus Redis).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<BackendArg>,
    /// Tenants the posts are spread over (round-robin), one connection each.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    tenants: Vec<usize>,
    /// Posts in flight (concurrent clients of the closed loop).
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    in_flight: Vec<usize>,
    /// Posts per configuration above 10 in flight.
    #[arg(long, default_value_t = 10_000)]
    posts: usize,
    /// Posts per configuration at 10 in flight or fewer.
    #[arg(long, default_value_t = 2_000)]
    posts_low: usize,
    /// Posts of the warm-up before each measured run (compile cache, pools), not measured.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// A smoke run: 300 posts per configuration (200 at 10 in flight or fewer), 50 warm-up.
    #[arg(long)]
    quick: bool,
    /// Jobs the host runs at once (POSTD_WORKERS; BullMQ worker concurrency for node).
    #[arg(long, default_value_t = 128)]
    workers: usize,
    /// The one-post plugin's max_concurrency in plugins.toml.
    #[arg(long, default_value_t = 256)]
    max_concurrency: usize,
    /// The host binary.
    #[arg(long, default_value = "target/release/postd-host")]
    host_bin: PathBuf,
    /// The one-post connector component.
    #[arg(
        long,
        default_value = "target/wasm/wasm32-wasip2/wasm/postd_fixture_one_post.wasm"
    )]
    plugin: PathBuf,
    /// The Node + BullMQ baseline (with node_modules installed).
    #[arg(long, default_value = "bench/baseline-node")]
    node_dir: PathBuf,
    /// Where external.json and external.md go.
    #[arg(long, default_value = "bench/out")]
    out: PathBuf,
    /// PostgreSQL (trust authentication, user postgres or root).
    #[arg(long, default_value = "127.0.0.1:5432")]
    postgres: String,
    /// Redis.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Start a private redis-server on a free port instead of using --redis-url, so Redis
    /// commands and CPU are this benchmark's alone.
    #[arg(long)]
    own_redis: bool,
    /// POSTD_LOG of the host.
    #[arg(long, default_value = "warn")]
    host_log: String,
    /// The host's per-tenant egress ceiling, requests a second (POSTD_TENANT_EGRESS_PER_SECOND,
    /// 0: none); the host's default (100) when absent. The Node baseline has no ceiling.
    #[arg(long)]
    tenant_egress: Option<u64>,
    /// More settings for the host, as NAME=VALUE environment variables (repeatable), e.g.
    /// --host-env POSTD_WORKERS=64.
    #[arg(long)]
    host_env: Vec<String>,
    /// Stop at the first configuration that fails (default: record it and go on).
    #[arg(long)]
    fail_fast: bool,
}

impl RunArgs {
    fn posts_for(&self, in_flight: usize) -> usize {
        match (self.quick, in_flight <= 10) {
            (true, true) => 200,
            (true, false) => 300,
            (false, true) => self.posts_low,
            (false, false) => self.posts,
        }
    }

    fn warmup(&self) -> usize {
        if self.quick { 50 } else { self.warmup }
    }
}

/// A path as given when it exists, else under the workspace root this binary was built in.
fn resolve(path: &Path) -> PathBuf {
    if path.exists() {
        return path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    }
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let under = root.join(path);
    if under.exists() {
        under.canonicalize().unwrap_or(under)
    } else {
        path.to_path_buf()
    }
}

/// One configuration to measure.
#[derive(Clone, Debug)]
pub struct Config {
    /// The stack.
    pub stack: StackKind,
    /// The backend.
    pub backend: Backend,
    /// Tenants.
    pub tenants: usize,
    /// Posts in flight.
    pub in_flight: usize,
    /// Posts measured.
    pub posts: usize,
    /// Warm-up posts.
    pub warmup: usize,
    /// Its index in the run (for names).
    pub index: usize,
}

impl Config {
    fn label(&self) -> String {
        format!(
            "{} {} {}t x{}",
            self.stack.name(),
            self.backend.name(),
            self.tenants,
            self.in_flight
        )
    }
}

/// What the run shares between configurations.
pub struct Shared {
    /// Options.
    args: RunArgs,
    /// HTTP client of the loader.
    pub client: reqwest::Client,
    /// PostgreSQL's administrative connection (when a configuration needs it).
    pub postgres: Option<stats::Postgres>,
    /// Redis URL in use.
    pub redis_url: String,
    /// A private redis-server, when --own-redis.
    _own_redis: Option<procs::Proc>,
    /// Scratch space of the run (component cache shared by the configurations).
    pub scratch: tempfile::TempDir,
    /// Clock ticks per second.
    ticks: f64,
    /// This run's unique tag.
    pub tag: String,
}

impl Shared {
    /// The host binary.
    pub fn host_bin(&self) -> PathBuf {
        resolve(&self.args.host_bin)
    }
    /// The one-post component.
    pub fn plugin(&self) -> PathBuf {
        resolve(&self.args.plugin)
    }
    /// The Node baseline's directory.
    pub fn node_dir(&self) -> PathBuf {
        resolve(&self.args.node_dir)
    }
    /// Workers.
    pub fn workers(&self) -> usize {
        self.args.workers
    }
    /// Plugin concurrency.
    pub fn max_concurrency(&self) -> usize {
        self.args.max_concurrency
    }
    /// POSTD_LOG.
    pub fn host_log(&self) -> &str {
        &self.args.host_log
    }
    /// Extra host environment (--tenant-egress, then --host-env).
    pub fn host_env(&self) -> Vec<(String, String)> {
        let ceiling = self
            .args
            .tenant_egress
            .map(|n| ("POSTD_TENANT_EGRESS_PER_SECOND".to_string(), n.to_string()));
        ceiling
            .into_iter()
            .chain(
                self.args
                    .host_env
                    .iter()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            )
            .collect()
    }
}

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

async fn measure(shared: &Shared, config: &Config) -> anyhow::Result<Value> {
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
            (Some(db), Backend::Postgres) => Group::Postgres { db: db.clone() },
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

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let version = |program: &str, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory_gib": memory,
        "commit": commit,
        "kernel": version("uname", "-r"),
        "node": version("node", "--version"),
        "redis_server": version("redis-server", "--version"),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_default()
}

fn fmt(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() => {
            if x >= 1000.0 {
                let whole = format!("{:.0}", x);
                let mut out = String::new();
                for (i, c) in whole.chars().enumerate() {
                    if i > 0 && (whole.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(c);
                }
                out
            } else {
                format!("{x:.digits$}")
            }
        }
        _ => "—".to_string(),
    }
}

fn markdown(report: &Value) -> String {
    let mut md = String::new();
    let m = &report["machine"];
    let _ = writeln!(md, "# External pipeline benchmark\n");
    let _ = writeln!(
        md,
        "Written by `postd-loadbench` (`make bench-external`), {} UTC. Machine: {} cores, {}, \
         {:.1} GiB; commit {}. Load average before / after: {} — {}.\n",
        report["finished"].as_str().unwrap_or(""),
        m["cores"],
        m["cpu"].as_str().unwrap_or("?"),
        m["memory_gib"].as_f64().unwrap_or(0.0),
        m["commit"].as_str().unwrap_or("?"),
        report["load_before"].as_str().unwrap_or(""),
        report["load_after"].as_str().unwrap_or(""),
    );
    let _ = writeln!(
        md,
        "Every process on the same machine: the stack under test, PostgreSQL, Redis, the platform \
         and the loader. Closed loop: N posts, C in flight, one job each; publishes/s is N over \
         first request -> last job stored as published. SQL statements: {}. Redis: {}.\n",
        report["postgres"]["statements"].as_str().unwrap_or("n/a"),
        report["redis"].as_str().unwrap_or(""),
    );
    let _ = writeln!(
        md,
        "| stack | backend | tenants | in flight | posts | publishes/s | accept p50 / p99 ms | \
         end-to-end p50 / p99 ms | CPU ms/publish: stack | database | Redis | platform | loader | \
         runs/publish | SQL statements/publish | commits/publish | rows written/publish | \
         Redis commands/publish | retried requests | not exactly once |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for row in report["rows"].as_array().into_iter().flatten() {
        if let Some(error) = row.get("error") {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | failed: {} | | | | | | | | | | | | | | |",
                row["stack"].as_str().unwrap_or(""),
                row["backend"].as_str().unwrap_or(""),
                row["tenants"],
                row["in_flight"],
                row["posts"],
                error
                    .as_str()
                    .unwrap_or("")
                    .replace('|', "/")
                    .replace('\n', " "),
            );
            continue;
        }
        let cpu = &row["cpu_ms_per_publish"];
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row["stack"].as_str().unwrap_or(""),
            row["backend"].as_str().unwrap_or(""),
            row["tenants"],
            fmt(&row["in_flight"], 0),
            fmt(&row["posts"], 0),
            fmt(&row["publishes_per_s"], 0),
            fmt(&row["accept_ms"]["p50"], 1),
            fmt(&row["accept_ms"]["p99"], 1),
            fmt(&row["end_to_end_ms"]["p50"], 0),
            fmt(&row["end_to_end_ms"]["p99"], 0),
            fmt(&cpu["host"], 2),
            fmt(&cpu["database"], 2),
            fmt(&cpu["redis"], 2),
            fmt(&cpu["platform"], 2),
            fmt(&cpu["loader"], 2),
            fmt(&row["runs_per_publish"], 2),
            fmt(&row["sql_statements_per_publish"], 1),
            fmt(&row["sql_commits_per_publish"], 1),
            fmt(&row["sql_rows_written_per_publish"], 1),
            fmt(&row["redis_commands_per_publish"], 1),
            row["retried_requests"],
            row["jobs_not_posted_exactly_once"],
        );
    }
    let _ = writeln!(
        md,
        "\nAccept: the loader's `POST /v1/posts` until its 2xx answer. End-to-end: that request's \
         start until the job's row is stored as published (its `updated_at`). CPU ms/publish: \
         utime + stime from /proc over the measured run, divided by the publishes; *stack* is \
         `postd-host` (or the baseline's API and worker processes), *database* the PostgreSQL \
         server's own processes and the measured database's backends (SQLite runs inside the \
         host), *Redis* the redis-server. Commits and rows written come from \
         `pg_stat_database` (the loader's own completion polls subtracted), Redis commands from \
         `INFO commandstats`. Runs/publish: the host's recorded attempts (rate-limited ones \
         included) or the baseline worker's runs, per job. Not exactly once: jobs the platform did not receive exactly once. \
         bench/NOTES.md describes the method."
    );
    md
}

async fn run(args: RunArgs) -> anyhow::Result<bool> {
    let mut configs = Vec::new();
    // Stacks innermost, so the rows of one level sit side by side.
    for &backend in &args.backends {
        let backend = match backend {
            BackendArg::Sqlite => Backend::Sqlite,
            BackendArg::Postgres => Backend::Postgres,
        };
        for &tenants in &args.tenants {
            for &in_flight in &args.in_flight {
                for &stack in &args.stack {
                    if stack == StackKind::Node && backend == Backend::Sqlite {
                        continue; // the baseline runs on PostgreSQL + Redis only
                    }
                    configs.push(Config {
                        stack,
                        backend,
                        tenants,
                        in_flight,
                        posts: args.posts_for(in_flight),
                        warmup: args.warmup(),
                        index: configs.len(),
                    });
                }
            }
        }
    }
    let needs_postgres = configs.iter().any(|c| c.backend == Backend::Postgres);
    if args.stack.contains(&StackKind::Postd) {
        for (what, path) in [
            ("host binary", resolve(&args.host_bin)),
            ("one-post component", resolve(&args.plugin)),
        ] {
            anyhow::ensure!(
                path.exists(),
                "the {what} {} is missing (make bench-external builds it)",
                path.display()
            );
        }
    }
    let postgres = if needs_postgres {
        Some(stats::Postgres::connect(&args.postgres, &["postgres", "root"]).await?)
    } else {
        None
    };
    let scratch = tempfile::Builder::new().prefix("postd-xbench-").tempdir()?;
    let (redis_url, own_redis) = if args.own_redis && needs_postgres {
        let port = procs::free_port();
        let mut command = std::process::Command::new("redis-server");
        command.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let proc = procs::Proc::spawn(
            "redis-server",
            command,
            Some(&scratch.path().join("redis.log")),
        )?;
        let url = format!("redis://127.0.0.1:{port}");
        let started = Instant::now();
        while stats::Redis::connect(&url).await.is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (url, Some(proc))
    } else {
        (args.redis_url.clone(), None)
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(120))
        .build()?;
    let shared = Shared {
        client,
        postgres,
        redis_url,
        _own_redis: own_redis,
        scratch,
        ticks: procs::clock_ticks(),
        tag: format!("{}", std::process::id()),
        args: args.clone(),
    };
    let load_before = loadavg();
    eprintln!(
        "postd-loadbench: {} configurations, load average {load_before}",
        configs.len()
    );
    let mut rows = Vec::new();
    let mut ok = true;
    for config in &configs {
        eprintln!(
            "{} ({} posts, {} warm-up) ...",
            config.label(),
            config.posts,
            config.warmup
        );
        match measure(&shared, config).await {
            Ok(row) => rows.push(row),
            Err(e) => {
                ok = false;
                eprintln!("  {} failed: {e:#}", config.label());
                rows.push(json!({
                    "stack": config.stack.name(),
                    "backend": config.backend.name(),
                    "tenants": config.tenants,
                    "in_flight": config.in_flight,
                    "posts": config.posts,
                    "error": e.root_cause().to_string(),
                    "detail": format!("{e:#}"),
                }));
                if args.fail_fast {
                    break;
                }
            }
        }
    }
    let finished = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let report = json!({
        "machine": machine(),
        "finished": finished,
        "load_before": load_before,
        "load_after": loadavg(),
        "quick": args.quick,
        "settings": {
            "workers": args.workers,
            "plugin_max_concurrency": args.max_concurrency,
            "host_log": args.host_log,
            "host_env": args.host_env,
            "tenant_egress_per_second": args.tenant_egress,
            "own_redis": args.own_redis,
            "warmup_posts": args.warmup(),
        },
        "postgres": {
            "statements": shared.postgres.as_ref().map(|p| p.statements_note.clone()),
        },
        "redis": if args.own_redis {
            format!("a private redis-server for this run ({}); commands counted are this run's alone", shared.redis_url)
        } else {
            format!("the shared server at {}; INFO commandstats counts every client's commands, so another user of that server during a run inflates the figure", shared.redis_url)
        },
        "rows": rows,
    });
    let out = resolve(&args.out);
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("external.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    let md = markdown(&report);
    std::fs::write(out.join("external.md"), &md)?;
    println!("{md}");
    eprintln!(
        "wrote {} and {}",
        out.join("external.json").display(),
        out.join("external.md").display()
    );
    Ok(ok)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Platform { port }) = cli.command {
        return match platform::serve(port) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("platform: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(cli.run)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("postd-loadbench: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

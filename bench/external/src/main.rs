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
mod measure;
mod node;
mod own_postgres;
mod platform;
mod procs;
mod report;
mod stack;
mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use stack::{Backend, StackKind};

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
    /// PostgreSQL (trust authentication, user postgres or root); not used with --own-postgres.
    #[arg(long, default_value = "127.0.0.1:5432")]
    postgres: String,
    /// Start a private PostgreSQL 15 cluster (initdb in a temporary directory, run as the
    /// postgres OS user, on 127.0.0.1 at a free port) instead of using --postgres, with
    /// pg_stat_statements preloaded so SQL statements per publish are measured; stopped and
    /// removed at the end. Needs root and /usr/lib/postgresql/15/bin.
    #[arg(long)]
    own_postgres: bool,
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
    /// The configuration's name in reports.
    pub fn label(&self) -> String {
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
    /// A private PostgreSQL cluster, when --own-postgres.
    _own_postgres: Option<own_postgres::OwnPostgres>,
    /// Redis URL in use.
    pub redis_url: String,
    /// A private redis-server, when --own-redis.
    _own_redis: Option<procs::Proc>,
    /// Scratch space of the run (component cache shared by the configurations).
    pub scratch: tempfile::TempDir,
    /// Clock ticks per second.
    pub ticks: f64,
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
    // The server every database URL of the run is made from (`stats::Postgres::server`).
    let own_postgres = if args.own_postgres && needs_postgres {
        let own = own_postgres::OwnPostgres::start().await?;
        eprintln!(
            "postd-loadbench: private PostgreSQL at {} (pid {}, log {})",
            own.addr,
            own.pid(),
            own.log.display()
        );
        Some(own)
    } else {
        None
    };
    let postgres = match (&own_postgres, needs_postgres) {
        (Some(own), _) => {
            let mut pg = stats::Postgres::connect(&own.addr, &["postgres"]).await?;
            pg.postmaster = Some(own.pid());
            Some(pg)
        }
        (None, true) => {
            Some(stats::Postgres::connect(&args.postgres, &["postgres", "root"]).await?)
        }
        (None, false) => None,
    };
    let postgres_server = match (&own_postgres, &postgres) {
        (Some(own), _) => format!(
            "a private PostgreSQL 15 cluster for this run ({}, pg_stat_statements preloaded)",
            own.addr
        ),
        (None, Some(_)) => format!("the server at {}", args.postgres),
        (None, None) => "none".to_string(),
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
        _own_postgres: own_postgres,
        redis_url,
        _own_redis: own_redis,
        scratch,
        ticks: procs::clock_ticks(),
        tag: format!("{}", std::process::id()),
        args: args.clone(),
    };
    let load_before = report::loadavg();
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
        match measure::measure(&shared, config).await {
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
        "machine": report::machine(),
        "finished": finished,
        "load_before": load_before,
        "load_after": report::loadavg(),
        "quick": args.quick,
        "settings": {
            "workers": args.workers,
            "plugin_max_concurrency": args.max_concurrency,
            "host_log": args.host_log,
            "host_env": args.host_env,
            "tenant_egress_per_second": args.tenant_egress,
            "own_redis": args.own_redis,
            "own_postgres": args.own_postgres,
            "warmup_posts": args.warmup(),
        },
        "postgres": {
            "server": postgres_server,
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
    let md = report::markdown(&report);
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

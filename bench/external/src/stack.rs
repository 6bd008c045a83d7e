//! The stacks under test, each started as its own processes for one configuration: the host
//! (`postd-host run` of the release build, serving the one-post fixture) on SQLite or on
//! PostgreSQL + Redis, or the Node + BullMQ baseline on PostgreSQL + Redis; their tenants and
//! connections; and what the harness reads of their database afterwards (jobs stored as
//! published and when).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::load::Poster;
use crate::procs::{self, Proc};
use crate::{Config, Shared};

/// The host's admin key in the benchmark (the admin API is off without one).
pub(crate) const ADMIN_KEY: &str = "postd-xbench-admin-key-0123456789";

/// Which implementation serves the posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StackKind {
    /// The host: `target/release/postd-host run`.
    Postd,
    /// The Node + BullMQ baseline in bench/baseline-node.
    Node,
}

impl StackKind {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            StackKind::Postd => "postd",
            StackKind::Node => "node+bullmq",
        }
    }
}

/// Where the stack keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (the host polls it for due jobs; no Redis).
    Sqlite,
    /// A fresh PostgreSQL database, with Redis (dispatch, rate buckets, locks).
    Postgres,
}

impl Backend {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres+redis",
        }
    }
}

enum Db {
    Pg(PgPool),
    Sqlite(SqlitePool),
}

/// A running stack.
pub struct Deployment {
    kind: StackKind,
    procs: Vec<Proc>,
    logs: Vec<PathBuf>,
    /// The PostgreSQL database, when on PostgreSQL.
    pub database: Option<String>,
    /// Redis, when used.
    pub redis_url: Option<String>,
    redis_prefix: Option<String>,
    db: Option<Db>,
    /// Queries the loader made on the stack's database (each one statement, one commit).
    pub queries: std::sync::atomic::AtomicU64,
    poster: Arc<dyn Poster>,
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// How the loader posts to it.
    pub fn poster(&self) -> Arc<dyn Poster> {
        self.poster.clone()
    }

    /// Its processes.
    pub fn pids(&self) -> Vec<String> {
        self.procs.iter().map(Proc::pid).collect()
    }

    /// Fails when one of its processes has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for proc in &mut self.procs {
            if let Err(e) = proc.check_alive() {
                return Err(e.context(self.log_tails()));
            }
        }
        Ok(())
    }

    /// Runs of the jobs created at or after `since_ms` (epoch ms): the host's recorded attempts
    /// (`job_attempts`, every outcome: published, rate-limited, retry…), or the baseline
    /// worker's runs (`jobs.attempts`). One query.
    pub async fn runs_since(&self, since_ms: i64) -> anyhow::Result<i64> {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sql = match self.kind {
            StackKind::Postd => {
                "SELECT COUNT(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
                 WHERE j.created_at >= $1"
            }
            StackKind::Node => {
                "SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM jobs WHERE created_at >= $1"
            }
        };
        Ok(match self.db()? {
            Db::Pg(pool) => sqlx::query(sql)
                .bind(since_ms)
                .fetch_one(pool)
                .await?
                .get(0),
            Db::Sqlite(pool) => sqlx::query(sql)
                .bind(since_ms)
                .fetch_one(pool)
                .await?
                .get(0),
        })
    }

    /// Replaces how the loader posts to it.
    pub(crate) fn set_poster(&mut self, poster: Arc<dyn Poster>) {
        self.poster = poster;
    }

    /// The last lines of its processes' logs.
    pub(crate) fn log_tails(&self) -> String {
        let mut out = String::new();
        for log in &self.logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            out.push_str(&format!("last lines of {}:\n{tail}\n", log.display()));
        }
        out
    }

    fn db(&self) -> anyhow::Result<&Db> {
        self.db
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no database connection"))
    }

    /// Jobs stored as published (one query).
    pub async fn published_count(&self) -> anyhow::Result<usize> {
        const COUNT: &str = "SELECT COUNT(*) FROM jobs WHERE state = 'published'";
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let n: i64 = match self.db()? {
            Db::Pg(pool) => sqlx::query(COUNT).fetch_one(pool).await?.get(0),
            Db::Sqlite(pool) => sqlx::query(COUNT).fetch_one(pool).await?.get(0),
        };
        Ok(n as usize)
    }

    /// When each published job was stored as published (epoch ms), by job id.
    pub async fn published_times(&self) -> anyhow::Result<HashMap<String, i64>> {
        const TIMES: &str = "SELECT id, updated_at FROM jobs WHERE state = 'published'";
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rows: Vec<(String, i64)> = match self.db()? {
            Db::Pg(pool) => sqlx::query(TIMES)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
            Db::Sqlite(pool) => sqlx::query(TIMES)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        };
        Ok(rows.into_iter().collect())
    }

    /// Stops its processes and closes the loader's database connection (idempotent): every
    /// backend of its database exits, which publishes what they did to `pg_stat_database`.
    pub async fn shutdown(&mut self) {
        for proc in &mut self.procs {
            proc.stop();
        }
        match self.db.take() {
            Some(Db::Pg(pool)) => pool.close().await,
            Some(Db::Sqlite(pool)) => pool.close().await,
            None => {}
        }
    }

    /// Stops it and removes its database and Redis keys.
    pub async fn stop(mut self, shared: &Shared) {
        self.shutdown().await;
        if let (Some(pg), Some(db)) = (&shared.postgres, &self.database) {
            pg.drop_database(db).await;
        }
        if let (Some(url), Some(prefix)) = (&self.redis_url, &self.redis_prefix)
            && let Ok(mut redis) = crate::stats::Redis::connect(url).await
        {
            redis.delete_prefix(prefix).await;
        }
    }
}

/// Posts to the host's API: `POST /v1/posts` with one target, round-robin over the tenants.
pub(crate) struct PostdPoster {
    pub(crate) url: String,
    pub(crate) keys: Vec<String>,
}

impl Poster for PostdPoster {
    fn request(&self, client: &reqwest::Client, n: usize, key: &str) -> reqwest::RequestBuilder {
        let body = json!({
            "text": format!("bench post {n}"),
            "targets": [{ "connection_id": "conn", "account_id": "acct-1" }],
        });
        client
            .post(&self.url)
            .bearer_auth(&self.keys[n % self.keys.len()])
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    fn job_ids(&self, answer: &Value) -> Vec<String> {
        answer["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|j| j["id"].as_str().map(str::to_string))
            .collect()
    }
}

/// Starts the configuration's stack with its tenants and connections.
pub async fn start(
    shared: &Shared,
    config: &Config,
    name: &str,
    platform_url: &str,
) -> anyhow::Result<Deployment> {
    match config.stack {
        StackKind::Postd => start_postd(shared, config, name, platform_url).await,
        StackKind::Node => crate::node::start(shared, config, name, platform_url).await,
    }
}

/// A command with no `POSTD_*` variable of the harness's own environment.
pub fn clean_command(program: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("POSTD_") {
            command.env_remove(&key);
        }
    }
    command
}

async fn start_postd(
    shared: &Shared,
    config: &Config,
    name: &str,
    platform_url: &str,
) -> anyhow::Result<Deployment> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir_in(shared.scratch.path())?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(dir.path().join("plugins"))?;
    std::fs::copy(shared.plugin(), dir.path().join("plugins/one-post.wasm"))?;
    let plugins = dir.path().join("plugins.toml");
    std::fs::write(
        &plugins,
        format!(
            "plugin_dir = \"plugins\"\n\n[plugins.one-post]\npath = \"one-post.wasm\"\n\
             allowed_hosts = [\"{platform_url}\"]\nallowed_ranges = [\"127.0.0.0/8\"]\n\
             tenants = [\"*\"]\nlimits = {{ max_concurrency = {} }}\n\
             settings = {{ base-url = \"{platform_url}\" }}\n",
            shared.max_concurrency()
        ),
    )?;
    let (database_url, database, redis) = match config.backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("postd.db").display()),
            None,
            None,
        ),
        Backend::Postgres => {
            let pg = shared
                .postgres
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no PostgreSQL"))?;
            let url = pg.create_database(name).await?;
            (url, Some(name.to_string()), Some(shared.redis_url.clone()))
        }
    };
    let port = procs::free_port();
    let api = format!("http://127.0.0.1:{port}");
    let prefix = format!("{name}:");
    let mut settings = format!(
        "data_dir = \"{}\"\ncache_dir = \"{}\"\ndatabase_url = \"{database_url}\"\n\
         listen = \"127.0.0.1:{port}\"\nplugins = \"{}\"\nworkers = {}\nlog_format = \"json\"\n\
         shutdown_grace_secs = 5\n",
        data.display(),
        shared.scratch.path().join("cache").display(),
        plugins.display(),
        shared.workers(),
    );
    if let Some(redis) = &redis {
        settings.push_str(&format!(
            "redis_url = \"{redis}\"\nredis_namespace = \"{prefix}\"\n"
        ));
    }
    let settings_path = dir.path().join("postd.toml");
    std::fs::write(&settings_path, settings)?;
    let mut command = clean_command(&shared.host_bin());
    command
        .arg("run")
        .current_dir(dir.path())
        .env("POSTD_CONFIG", &settings_path)
        .env("POSTD_ADMIN_KEY", ADMIN_KEY)
        .env("POSTD_LOG", shared.host_log());
    for (k, v) in shared.host_env() {
        command.env(k, v);
    }
    let log = dir.path().join("host.log");
    let host = Proc::spawn("postd-host", command, Some(&log))?;
    let mut deployment = Deployment {
        kind: StackKind::Postd,
        procs: vec![host],
        logs: vec![log],
        database,
        redis_url: redis,
        redis_prefix: Some(prefix),
        db: None,
        queries: Default::default(),
        poster: Arc::new(PostdPoster {
            url: String::new(),
            keys: vec![],
        }),
        _dir: dir,
    };
    match setup_postd(shared, config, &mut deployment, &api, &database_url).await {
        Ok(()) => Ok(deployment),
        Err(e) => {
            let e = e.context(deployment.log_tails());
            deployment.stop(shared).await;
            Err(e)
        }
    }
}

async fn setup_postd(
    shared: &Shared,
    config: &Config,
    deployment: &mut Deployment,
    api: &str,
    database_url: &str,
) -> anyhow::Result<()> {
    procs::wait_ready(
        &shared.client,
        &format!("{api}/readyz"),
        &mut deployment.procs[0],
        Duration::from_secs(180),
    )
    .await?;
    let keys = create_tenants(shared, api, config.tenants).await?;
    deployment.poster = Arc::new(PostdPoster {
        url: format!("{api}/v1/posts"),
        keys,
    });
    deployment.db = Some(match database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .read_only(true)
                .create_if_missing(false);
            Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?,
            )
        }
        None => Db::Pg(
            PgPoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect(database_url)
                .await?,
        ),
    });
    Ok(())
}

/// Creates `tenants` tenants `t00`, `t01`, … through the admin API, each with one API-key
/// connection `conn` of plugin `one-post`; returns their API keys.
pub async fn create_tenants(
    shared: &Shared,
    api: &str,
    tenants: usize,
) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    for t in 0..tenants {
        let tenant = format!("t{t:02}");
        let made = expect_json(
            shared
                .client
                .post(format!("{api}/admin/tenants"))
                .bearer_auth(ADMIN_KEY)
                .json_body(&json!({ "id": tenant, "name": tenant })),
            "creating a tenant",
        )
        .await?;
        let key = made["api_key"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no api_key in {made}"))?
            .to_string();
        expect_json(
            shared
                .client
                .post(format!("{api}/v1/connections"))
                .bearer_auth(&key)
                .json_body(&json!({ "plugin": "one-post", "api_key": format!("token-{tenant}"), "id": "conn" })),
            "creating a connection",
        )
        .await?;
        keys.push(key);
    }
    Ok(keys)
}

/// A JSON body without reqwest's `json` feature.
pub trait JsonBody {
    /// Sets `value` as the JSON body.
    fn json_body(self, value: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, value: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(value.to_string())
    }
}

/// Sends `request`, fails on anything but 2xx (with the answer), returns the JSON answer.
pub async fn expect_json(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "{what}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A deployment of processes already started (the Node baseline).
#[allow(clippy::too_many_arguments)]
pub(crate) fn deployment(
    procs: Vec<Proc>,
    logs: Vec<PathBuf>,
    database: String,
    database_url: &str,
    redis_url: String,
    redis_prefix: String,
    poster: Arc<dyn Poster>,
    dir: tempfile::TempDir,
) -> anyhow::Result<Deployment> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_lazy(database_url)?;
    Ok(Deployment {
        kind: StackKind::Node,
        procs,
        logs,
        database: Some(database),
        redis_url: Some(redis_url),
        redis_prefix: Some(redis_prefix),
        db: Some(Db::Pg(pool)),
        queries: Default::default(),
        poster,
        _dir: dir,
    })
}

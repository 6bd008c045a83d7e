//! An in-process host for the pipeline benchmarks: the store (SQLite file, or a fresh
//! `postd_bench_*` PostgreSQL database, the queue woken by `LISTEN`/`NOTIFY`), the runtime with the
//! pipeline fixture as plugin `pipeline` reaching the platform on loopback, the job workers,
//! and the HTTP API on a free loopback port with a tenant, its API key and a connection.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use postd_host::api::{ApiState, service};
use postd_host::capability::vault::LocalKeyProvider;
use postd_host::config::PluginEntry;
use postd_host::jobs::{
    CHECKPOINT_BATCH, Clock, Dispatcher, Pipeline, PipelineSettings, StoreJobSink, SystemClock,
    Workers,
};
use postd_host::runtime::{Runtime, RuntimeSettings};
use postd_host::store::{NewConnection, Store};

use super::load::Target;

/// PostgreSQL's administrative URL on this machine.
pub const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Redis on this machine.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Jobs the host runs at once.
pub const JOB_SLOTS: usize = 128;

/// A running in-process host.
pub struct Host {
    /// The pipeline.
    pub pipeline: Arc<Pipeline>,
    /// The store.
    pub store: Store,
    /// The runtime.
    pub runtime: Arc<Runtime>,
    /// Where to send posts.
    pub target: Target,
    workers: Option<Workers>,
    database: Option<String>,
    _dir: tempfile::TempDir,
}

/// The pipeline fixture's entry: `path`, reaching `platform_url` on loopback.
pub fn plugin_entry(path: &Path, platform_url: &str) -> PluginEntry {
    let mut entry = PluginEntry::new("pipeline", path);
    entry.allowed_hosts = vec![platform_url.to_string()];
    entry.allowed_ranges = vec!["127.0.0.0/8".into()];
    entry.settings = BTreeMap::from([("base-url".to_string(), platform_url.to_string())]);
    entry.limits.max_concurrency = 2 * JOB_SLOTS;
    entry
}

/// Creates database `name` (dropping a leftover of the same name) and returns its URL.
pub async fn create_database(name: &str) -> String {
    assert!(name.starts_with("postd_bench_"));
    let admin = Store::connect(POSTGRES_ADMIN)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432");
    drop_database_with(&admin, name).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .unwrap();
    format!("postgres://postgres@127.0.0.1:5432/{name}")
}

async fn drop_database_with(admin: &Store, name: &str) {
    assert!(name.starts_with("postd_bench_"));
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(admin.pool())
    .await;
}

/// Drops database `name` (a `postd_bench_*` one).
pub async fn drop_database(name: &str) {
    if let Ok(admin) = Store::connect(POSTGRES_ADMIN).await {
        drop_database_with(&admin, name).await;
    }
}

/// Deletes the Redis keys under `namespace` (a `postd_bench_*` one).
pub async fn drop_redis_keys(namespace: &str) {
    assert!(namespace.starts_with("postd_bench_"));
    let Ok(client) = redis::Client::open(REDIS_URL) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    for key in keys {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(key).query_async(&mut conn).await;
    }
}

/// Creates tenant `id` with connection `conn` to plugin `pipeline`; returns its API key.
pub async fn seed_tenant(store: &Store, id: &str, now: i64) -> String {
    seed_tenant_with(store, id, "pipeline", now).await
}

/// Creates tenant `id` with connection `conn` to `plugin`; returns its API key.
pub async fn seed_tenant_with(store: &Store, id: &str, plugin: &str, now: i64) -> String {
    store.create_tenant(id, id, now).await.unwrap();
    let connection = NewConnection {
        id: "conn".into(),
        plugin: plugin.into(),
        external_id: "acct-1".into(),
        display_name: "bench".into(),
        ..NewConnection::default()
    };
    let tenant = store.tenant(id);
    tenant
        .upsert_connection(&connection, "bench", now)
        .await
        .unwrap();
    tenant.create_api_key("bench", now).await.unwrap()
}

impl Host {
    /// Starts a host on SQLite (`postgres` false) or PostgreSQL + Redis, serving `plugin` (a
    /// component file) as `pipeline`, with its workers running. `grouped` false records every
    /// run outcome and recovery point in its own transaction (no group commit).
    pub async fn start(postgres: bool, plugin: &Path, platform_url: &str, grouped: bool) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let tag = format!("postd_bench_{}_{}", std::process::id(), fastrand::u32(..));
        let (url, database) = if postgres {
            (create_database(&tag).await, Some(tag.clone()))
        } else {
            (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            )
        };
        let store = Store::open(&url).await.unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let key = LocalKeyProvider::open_or_create(&dir.path().join("vault.key")).unwrap();
        let mut services =
            postd_host::service::store_services(&store, Arc::new(key), clock.clone());
        if grouped {
            services.jobs = Arc::new(
                StoreJobSink::new(store.clone(), clock.clone()).with_max_batch(CHECKPOINT_BATCH),
            );
        }
        let settings = RuntimeSettings {
            cache_dir: Some(std::env::temp_dir().join("postd_bench_component_cache")),
            // The tenant's egress ceiling would bind first; the bench measures the host.
            tenant_rate: None,
            tenant_concurrency: 2 * JOB_SLOTS,
            ..RuntimeSettings::default()
        };
        let runtime = Arc::new(Runtime::new(settings, services).unwrap());
        runtime
            .configure_plugin(plugin_entry(plugin, platform_url))
            .await
            .unwrap();
        let dispatcher = if postgres {
            Dispatcher::postgres(&store, &url)
        } else {
            Dispatcher::local()
        };
        let settings = PipelineSettings {
            concurrency: JOB_SLOTS,
            worker_id: "bench".into(),
            finish_batch: if grouped { CHECKPOINT_BATCH } else { 1 },
            ..PipelineSettings::default()
        };
        let pipeline = Pipeline::new(store.clone(), runtime.clone(), clock, dispatcher, settings);
        let key = seed_tenant(&store, "bench", pipeline.now()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ApiState::new(pipeline.clone(), None, api_url.clone(), None));
        tokio::spawn(async move { axum::serve(listener, service(state)).await.unwrap() });
        let workers = Some(pipeline.start());
        Host {
            pipeline,
            store,
            runtime,
            target: Target {
                api_urls: vec![api_url],
                keys: vec![key],
                connection: "conn".into(),
            },
            workers,
            database,
            _dir: dir,
        }
    }

    /// Stops the workers and removes the host's database.
    pub async fn stop(mut self) {
        if let Some(workers) = self.workers.take() {
            workers.stop().await;
        }
        self.store.pool().close().await;
        if let Some(name) = &self.database {
            drop_database(name).await;
        }
    }
}

//! Durable storage: the source of truth for tenants, connections, secrets and jobs.
//!
//! One [`Store`] over two backends: PostgreSQL (production, several replicas) and SQLite (the
//! embedded default, one file). Both run most of the same SQL through sqlx's `Any` driver —
//! numbered `$n` parameters, `ON CONFLICT`, `RETURNING` and Unix-millisecond `BIGINT` times work
//! on both — and differ where a backend has a better tool ([`Backend`]): on PostgreSQL the
//! pipeline's hot statements (claim, outcomes, recovery points, accepts) run on its own driver,
//! checked at compile time, with `FOR UPDATE SKIP LOCKED` claims and batches bound as arrays
//! (`postgres/`); SQLite's single writer makes the shared `UPDATE … RETURNING` claim atomic.
//!
//! Tenant isolation is structural: every tenant-owned table is keyed by `(tenant_id, id)` with
//! composite foreign keys, and tenant-facing reads and writes exist only on [`TenantStore`],
//! which binds its tenant into every statement. The pipeline's cross-tenant operations (claiming
//! due jobs, finding connections due for refresh) live on [`Store`] and are not reachable from
//! the tenant API. The choice over PostgreSQL row-level security is recorded in the README.

mod accept;
mod access;
mod admin;
mod connection_lookups;
mod connections;
mod console;
mod deliveries;
mod events;
mod finish;
pub(crate) mod group;
mod jobs;
mod limits;
mod model;
mod outbox;
mod outcome_columns;
mod pipeline;
mod plugins;
mod postgres;
mod record_retention;
mod refresh_leases;
mod retention;
mod sqlite;
mod statistics;
mod target_cache;
mod tenants;
mod vault;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use accept::ResolvedTarget;
pub use access::{ApiKeyRecord, MAX_ACTIVE_KEYS, NewApiKey, OAUTH_STATE, OAuthState, random_token};
pub use admin::{
    AuditFilter, AuditRecord, KeyOwner, PAUSED_FOR_TENANT, TenantDeletion, TenantRecord,
    TenantStatus,
};
pub use connections::PAUSED_FOR_CONNECTION;
pub use console::{ConnectSession, ConsoleSession};
pub use deliveries::{
    AttemptRecord, ClaimedDelivery, DeliveryAttempt, DeliveryNext, EventDeliveryRecord, Redelivery,
};
pub use events::NewWebhookEvent;
pub use jobs::JobFilter;
pub use model::*;
pub use outbox::{EventEndpoint, EventEndpointChange, NewEventEndpoint, new_event_endpoint_id};
pub use pipeline::{Claimed, Finish, FinishOutcome, HeldScopes};
pub use plugins::{
    HOST_TENANT, PLUGINS_CHANNEL, PluginConfigRow, PluginVersionRow, UploadedComponent,
};
#[doc(hidden)]
pub use postgres::{
    ACCEPT_SQL as POSTGRES_ACCEPT_SQL, CLAIM_SQL as POSTGRES_CLAIM_SQL,
    FINISH_SQL as POSTGRES_FINISH_SQL,
};
pub use record_retention::{RECORD_BATCH, RECORD_BATCHES, Recorded};
pub use retention::{RETENTION_BATCH, RETENTION_BATCHES, RetentionPass};
pub use tenants::{PAUSED_FOR_PLUGIN, RunGate, TenantStore};

/// Set on every SQLite connection: write-ahead log (readers never block the writer), fsync at
/// checkpoints rather than every commit (a crash loses at most the last transactions, never
/// consistency), foreign keys enforced, and waiting for the writer instead of failing.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
];

/// Read connections to a SQLite database (writes have their own one).
const SQLITE_READERS: u32 = 4;

/// PostgreSQL connections of one process on the shared (`Any`) driver: API reads and writes,
/// the vault, administration.
const ANY_CONNECTIONS: u32 = 8;

/// PostgreSQL connections of one process on the native driver: the pipeline's hot statements
/// (claims, outcomes, recovery points, accepts).
const NATIVE_CONNECTIONS: u32 = 12;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A storage fault. Messages name the operation, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {operation}: {source}")]
    Database {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The request contradicts what is stored (an idempotency key reused with another payload).
    #[error("conflict: {0}")]
    Conflict(String),
    /// No such row for this tenant.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// The kind of row.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The request is malformed.
    #[error("invalid: {0}")]
    Invalid(String),
}

impl StoreError {
    pub(crate) fn db(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { operation, source }
    }

    pub(crate) fn not_found(what: &'static str, id: &str) -> StoreError {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

/// The database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads (and on PostgreSQL everything).
    pool: AnyPool,
    /// Writes: on SQLite one connection, so writers queue here in order instead of contending
    /// for the database's write lock in SQLite's busy handler (which sleeps and retries); on
    /// PostgreSQL the same pool as `pool`.
    writer: AnyPool,
    backend: Backend,
    /// PostgreSQL's own driver, for the pipeline's hot statements (`postgres/`).
    native: Option<sqlx::PgPool>,
    /// Concurrent accepts written together (see `accept.rs` and `group.rs`).
    accepts: std::sync::Arc<accept::AcceptGroup>,
    /// Usable connections' plugins, for accepts (see `target_cache.rs`).
    targets: std::sync::Arc<target_cache::TargetCache>,
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite://path`, created if missing) and applies
    /// pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (for `postd-host migrate`, which reports what it applied).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            let file = std::path::Path::new(path.split('?').next().unwrap_or(path));
            let io = |operation| {
                move |e| StoreError::Database {
                    operation,
                    source: sqlx::Error::Io(e),
                }
            };
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::create_private_dir(dir).map_err(io("creating the data directory"))?;
            }
            // Created here, 0600, rather than by SQLite under the umask; SQLite gives the WAL
            // and shared-memory files the database file's mode.
            if !file.as_os_str().is_empty() && !path.starts_with(":memory:") {
                crate::files::create_private_file(file)
                    .map_err(io("creating the database file"))?;
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            (Backend::Sqlite, format!("{url}{sep}mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::Invalid(
                "database URL must start with postgres:// or sqlite://".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(StoreError::db("parsing the database URL"))?;
        let open = |connections: u32| {
            let pool = match backend {
                Backend::Sqlite => AnyPoolOptions::new()
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // One statement each: a multi-statement string may stop at the first.
                            for pragma in SQLITE_PRAGMAS {
                                conn.execute(*pragma).await?;
                            }
                            Ok(())
                        })
                    })
                    // A write SQLite rolled back by itself (a full disk) leaves sqlx believing
                    // the connection is still in its transaction, and every later `BEGIN` on it
                    // fails: such a connection is closed, not handed out again, so the host
                    // recovers once space returns.
                    .before_acquire(|conn, _| {
                        Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
                    })
                    // A connection to a file in this process cannot go away: no ping (a round
                    // trip through its thread) before handing it out.
                    .test_before_acquire(false),
                Backend::Postgres => AnyPoolOptions::new(),
            };
            pool.max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
        };
        let mut native = None;
        let (pool, writer) = match backend {
            // One writer at a time is SQLite's model: writes queue for the one write
            // connection; readers share the WAL on their own.
            Backend::Sqlite => {
                let writer = open(1)
                    .await
                    .map_err(StoreError::db("opening the database"))?;
                let readers = open(SQLITE_READERS)
                    .await
                    .map_err(StoreError::db("opening the database"))?;
                (readers, writer)
            }
            Backend::Postgres => {
                let pool = open(ANY_CONNECTIONS)
                    .await
                    .map_err(StoreError::db("opening the database"))?;
                let options = sqlx::postgres::PgConnectOptions::from_str(&url)
                    .map_err(StoreError::db("parsing the database URL"))?;
                native = Some(
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(NATIVE_CONNECTIONS)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_with(options)
                        .await
                        .map_err(StoreError::db("opening the database"))?,
                );
                (pool.clone(), pool)
            }
        };
        let accepts = std::sync::Arc::new(match &native {
            Some(pool) => postgres::accept_group(pool.clone()),
            None => sqlite::accept_group(writer.clone()),
        });
        Ok(Store {
            pool,
            writer,
            backend,
            accepts,
            native,
            targets: Default::default(),
        })
    }

    /// Applies the migrations this binary carries that the database lacks, then (when it applied
    /// any) refreshes the statistics of the tables that hold rows; returns how many it applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let migrator = match self.backend {
            Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
        };
        let before = self.applied_migrations().await;
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Database {
                operation: "migrating",
                source: e.into(),
            })?;
        let applied = self.applied_migrations().await.saturating_sub(before);
        // New indexes and columns get statistics at once (see `statistics.rs`, also for why
        // empty tables are left alone); a failure here costs plan quality, not the start.
        if applied > 0
            && let Err(error) = self.analyze_tables().await
        {
            tracing::warn!(%error, "refreshing planner statistics after migrating failed");
        }
        Ok(applied)
    }

    async fn applied_migrations(&self) -> usize {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
            .map(|n| n as usize)
            .unwrap_or(0)
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), waiting up to the busy timeout: a deferred transaction that reads and then
    /// writes fails at once with `SQLITE_BUSY` when another connection wrote in between, and that
    /// would reach a caller as "the database is unavailable".
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
        .map_err(StoreError::db("starting a transaction"))
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// PostgreSQL's native pool (the hot statements' driver); `None` on SQLite.
    fn native(&self) -> Option<&sqlx::PgPool> {
        self.native.as_ref()
    }

    /// The pool, for the few callers that need a raw connection (advisory locks, benches).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// A new row id: a time-ordered UUID (v7) with a short prefix naming the kind of row.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A SQLite store in `dir` for unit tests, with tenant `t` and its connection `c` (plugin `p`).
#[cfg(test)]
pub(crate) async fn test_store(dir: &std::path::Path) -> Store {
    let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display()))
        .await
        .unwrap();
    store.create_tenant("t", "t", 1).await.unwrap();
    let connection = NewConnection {
        id: "c".into(),
        plugin: "p".into(),
        external_id: "x".into(),
        display_name: "x".into(),
        ..NewConnection::default()
    };
    store
        .tenant("t")
        .upsert_connection(&connection, "t", 1)
        .await
        .unwrap();
    store
}

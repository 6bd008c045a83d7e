//! The databases the suite runs on: a fresh SQLite file, or a fresh PostgreSQL database (and a
//! Redis key namespace of its own). PostgreSQL and Redis must answer on 127.0.0.1: the suite
//! fails loudly instead of skipping when they do not.

use std::path::PathBuf;

use postd_host::store::Store;

pub const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Which backends a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQLite, database polling, in-process locks: the embedded default.
    Sqlite,
    /// PostgreSQL (the queue, woken by `NOTIFY`) and Redis locks: production.
    PostgresRedis,
    /// PostgreSQL alone: database polling with `SKIP LOCKED`, advisory locks.
    Postgres,
}

/// A database made for one test (dropped with the temp dir; PostgreSQL databases are dropped
/// when the next run starts, since a test that failed may still hold connections).
pub struct Database {
    pub url: String,
    pub namespace: String,
    pub dir: tempfile::TempDir,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

impl Database {
    pub async fn create(kind: Kind) -> Database {
        let dir = tempfile::tempdir().unwrap();
        let namespace = format!("{}:", unique("postd_test"));
        let url = match kind {
            Kind::Sqlite => format!("sqlite://{}", dir.path().join("postd.db").display()),
            Kind::PostgresRedis | Kind::Postgres => {
                let name = unique("postd_test");
                let admin = Store::connect(POSTGRES_ADMIN).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL must answer at {POSTGRES_ADMIN} for this suite: {e}")
                });
                drop_stale_databases(&admin).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(admin.pool())
                    .await
                    .expect("creating a test database");
                check_redis().await;
                format!("postgres://postgres@127.0.0.1:5432/{name}")
            }
        };
        Database {
            url,
            namespace,
            dir,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

async fn check_redis() {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis must answer at {REDIS_URL} for this suite: {e}"));
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");
    drop_stale_keys(&mut conn).await;
}

/// Whether a test namespace (`postd_test_<pid>_…`) belongs to a process that has ended, so that
/// runs on one machine may overlap without dropping each other's databases and keys.
fn owner_gone(name: &str) -> bool {
    let pid = name
        .strip_prefix("postd_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    match pid {
        Some(pid) => {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        None => false,
    }
}

/// Deletes the Redis keys of test namespaces whose process has ended.
async fn drop_stale_keys(conn: &mut redis::aio::MultiplexedConnection) {
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("postd_test_*")
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await
            .unwrap_or((0, Vec::new()));
        let stale: Vec<&String> = keys.iter().filter(|k| owner_gone(k)).collect();
        if !stale.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(&stale).query_async(conn).await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// Drops the test databases of processes that have ended.
async fn drop_stale_databases(admin: &Store) {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'postd_test_%'",
    )
    .fetch_all(admin.pool())
    .await
    .unwrap_or_default();
    for row in rows {
        let name: String = row.get("datname");
        if owner_gone(&name) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(admin.pool())
            .await;
        }
    }
}

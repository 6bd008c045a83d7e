//! What the database and Redis say they did: PostgreSQL's `pg_stat_database` (commits, rows
//! written) and `pg_stat_statements` when the server preloads it (statements), read from the
//! administrative database so reading them adds nothing to the measured database; Redis's
//! `INFO commandstats` (commands executed, the whole server).

use std::time::{Duration, Instant};

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// PostgreSQL's administrative connection, to create, watch and drop benchmark databases.
pub struct Postgres {
    /// The pool (database `postgres`).
    pub admin: PgPool,
    /// `postgres://user@host:port` without a database.
    pub server: String,
    /// Whether `pg_stat_statements` can be read (preloaded and created).
    pub statements: bool,
    /// Why not, when it cannot.
    pub statements_note: String,
    /// The server's postmaster process id, when the server runs on this machine (the parent of
    /// the administrative connection's backend): whose processes the database CPU counts.
    pub postmaster: Option<String>,
}

/// Counters of one database at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgCounters {
    /// `xact_commit`.
    pub commits: i64,
    /// `tup_inserted + tup_updated + tup_deleted`.
    pub rows_written: i64,
    /// Sum of `pg_stat_statements.calls` for the database, when available.
    pub statements: Option<i64>,
}

impl Postgres {
    /// Connects as `postgres`, else as `root` (trust authentication), to database `postgres`
    /// at `host_port`; sees whether `pg_stat_statements` can be used.
    pub async fn connect(host_port: &str, users: &[&str]) -> anyhow::Result<Postgres> {
        let mut last = None;
        for user in users {
            let server = format!("postgres://{user}@{host_port}");
            match PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&format!("{server}/postgres"))
                .await
            {
                Ok(admin) => {
                    let mut pg = Postgres {
                        admin,
                        server,
                        statements: false,
                        statements_note: String::new(),
                        postmaster: None,
                    };
                    pg.probe_statements().await;
                    pg.postmaster = pg.find_postmaster().await;
                    return Ok(pg);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(anyhow::anyhow!(
            "PostgreSQL at {host_port} (users {users:?}): {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }

    /// The postmaster: the parent of this connection's backend, when that backend is a
    /// `postgres` process of this machine.
    async fn find_postmaster(&self) -> Option<String> {
        let backend: i32 = sqlx::query("SELECT pg_backend_pid()")
            .fetch_one(&self.admin)
            .await
            .ok()?
            .get(0);
        let backend = backend.to_string();
        let is_postgres =
            |pid: &str| crate::procs::comm(pid).is_some_and(|c| c.starts_with("postgres"));
        if !is_postgres(&backend) {
            return None;
        }
        let postmaster = crate::procs::parent(&backend)?;
        is_postgres(&postmaster).then_some(postmaster)
    }

    async fn probe_statements(&mut self) {
        let preload: String = sqlx::query("SELECT current_setting('shared_preload_libraries')")
            .fetch_one(&self.admin)
            .await
            .map(|r| r.get(0))
            .unwrap_or_default();
        if !preload.contains("pg_stat_statements") {
            self.statements_note = "n/a: pg_stat_statements is not in shared_preload_libraries \
                                    (the server was not restarted to add it)"
                .into();
            return;
        }
        let created = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(&self.admin)
            .await;
        let readable = sqlx::query("SELECT count(*) FROM pg_stat_statements")
            .fetch_one(&self.admin)
            .await;
        match (created, readable) {
            (Ok(_), Ok(_)) => {
                self.statements = true;
                self.statements_note = "pg_stat_statements (calls, top-level)".into();
            }
            (Err(e), _) | (_, Err(e)) => {
                self.statements_note = format!("n/a: pg_stat_statements unusable: {e}");
            }
        }
    }

    /// Creates database `name` (dropping a leftover of that name); returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            name.starts_with("postd_xbench_")
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        );
        self.drop_database(name).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&self.admin)
            .await?;
        Ok(format!("{}/{name}", self.server))
    }

    /// Drops database `name` (a `postd_xbench_*` one), closing its connections.
    pub async fn drop_database(&self, name: &str) {
        if !name.starts_with("postd_xbench_") {
            return;
        }
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&self.admin)
        .await;
    }

    /// The database's counters now.
    pub async fn counters(&self, db: &str) -> anyhow::Result<PgCounters> {
        let row = sqlx::query(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS written \
             FROM pg_stat_database WHERE datname = $1",
        )
        .bind(db)
        .fetch_one(&self.admin)
        .await?;
        let statements = if self.statements {
            let row = sqlx::query(
                "SELECT COALESCE(sum(s.calls), 0)::bigint FROM pg_stat_statements s \
                 JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
            )
            .bind(db)
            .fetch_one(&self.admin)
            .await?;
            Some(row.get::<i64, _>(0))
        } else {
            None
        };
        Ok(PgCounters {
            commits: row.get("xact_commit"),
            rows_written: row.get("written"),
            statements,
        })
    }

    /// The counters once no backend of the database is left (each publishes its statistics
    /// when it exits; an idle one may hold them back up to 10 s, PGSTAT_IDLE_INTERVAL). Waits
    /// at most 20 s for the backends to go.
    pub async fn counters_after_exit(&self, db: &str) -> anyhow::Result<PgCounters> {
        let started = Instant::now();
        loop {
            let left: i64 = sqlx::query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                .bind(db)
                .fetch_one(&self.admin)
                .await?
                .get(0);
            if left == 0 || started.elapsed() > Duration::from_secs(20) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.counters(db).await
    }
}

/// Redis.
pub struct Redis {
    conn: redis::aio::MultiplexedConnection,
}

impl Redis {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Redis> {
        let client = redis::Client::open(url)?;
        let conn = tokio::time::timeout(
            Duration::from_secs(10),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| anyhow::anyhow!("Redis at {url}: no answer in 10 s"))??;
        Ok(Redis { conn })
    }

    /// Commands the server has executed since it started (`INFO commandstats`, all `calls=`
    /// together). The `INFO` that reads them is counted by the next read.
    pub async fn commands(&mut self) -> anyhow::Result<u64> {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.conn)
            .await?;
        Ok(info
            .lines()
            .filter(|l| l.starts_with("cmdstat_"))
            .filter_map(|l| l.split("calls=").nth(1))
            .filter_map(|v| v.split(',').next()?.parse::<u64>().ok())
            .sum())
    }

    /// The server's process id (`INFO server`).
    pub async fn pid(&mut self) -> Option<String> {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut self.conn)
            .await
            .ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .map(|p| p.trim().to_string())
    }

    /// Deletes every key under `prefix` (a `postd_xbench_*` one).
    pub async fn delete_prefix(&mut self, prefix: &str) {
        if !prefix.starts_with("postd_xbench_") {
            return;
        }
        let mut cursor: u64 = 0;
        loop {
            let answer: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut self.conn)
                .await;
            let Ok((next, keys)) = answer else { return };
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL")
                    .arg(&keys)
                    .query_async(&mut self.conn)
                    .await;
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}

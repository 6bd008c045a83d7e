//! A private PostgreSQL 15 cluster on a free loopback port, to stop and start at will: the
//! shared server on 5432 serves other suites and is never touched. PostgreSQL refuses to run as
//! root, so the cluster belongs to the `postgres` OS user (`runuser`); trust authentication on
//! loopback, durability settings left at their defaults (fsync and synchronous commit on: an
//! immediate shutdown is then the crash it stands for).

use std::path::PathBuf;
use std::process::Command;

use super::{free_port, require, run};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// How PostgreSQL is stopped (`pg_ctl stop -m …`).
#[derive(Debug, Clone, Copy)]
pub enum Shutdown {
    /// `-m fast`: sessions are ended, open transactions rolled back, a checkpoint written.
    Fast,
    /// `-m immediate`: every server process quits at once; the next start replays the WAL, as
    /// after a crash.
    Immediate,
}

impl Shutdown {
    fn mode(self) -> &'static str {
        match self {
            Shutdown::Fast => "fast",
            Shutdown::Immediate => "immediate",
        }
    }
}

/// A running cluster; stopped (immediately) and deleted when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub url: String,
}

impl Postgres {
    /// Creates a cluster in a temporary directory and starts it.
    pub fn start() -> Postgres {
        for tool in ["initdb", "pg_ctl", "postgres"] {
            require(
                &format!("{BIN}/{tool}"),
                "(PostgreSQL 15's server binaries, Debian package postgresql-15)",
            );
        }
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(dir.path()));
        let port = free_port();
        let postgres = Postgres {
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
        };
        run(postgres
            .as_postgres("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
                "-D",
            ])
            .arg(postgres.data()));
        postgres.start_again();
        postgres
    }

    /// Starts the stopped cluster again on its port; returns once it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        run(self
            .as_postgres("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &options]));
    }

    /// Stops the cluster; returns once its processes are gone.
    pub fn stop(&self, how: Shutdown) {
        run(self
            .as_postgres("pg_ctl")
            .args(["stop", "-w", "-t", "60", "-m", how.mode(), "-D"])
            .arg(self.data()));
    }

    /// Makes every transaction of the cluster read-only (`default_transaction_read_only`,
    /// reloaded: sessions already open take it too), or writable again.
    pub async fn read_only(&self, on: bool) {
        let admin = postd_host::store::Store::connect(&self.url).await.unwrap();
        let mut session = admin.pool().acquire().await.unwrap();
        let value = if on { "on" } else { "off" };
        for statement in [
            "SET default_transaction_read_only = off".to_string(),
            format!("ALTER SYSTEM SET default_transaction_read_only = {value}"),
            "SELECT pg_reload_conf()".to_string(),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut *session)
                .await
                .unwrap();
        }
        // The reload reaches the other sessions asynchronously.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, tool: &str) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(format!("{BIN}/{tool}"))
            .current_dir(self.dir.path());
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .output();
    }
}

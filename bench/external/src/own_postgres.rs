//! `--own-postgres`: a private PostgreSQL 15 cluster for the run, so `pg_stat_statements` can
//! be preloaded (the machine's server does not preload it and is not restarted for the
//! benchmark). The cluster is made by `initdb` in a directory of its own under the system's
//! temporary directory, run as the `postgres` OS user (initdb and postgres refuse root), on
//! 127.0.0.1 at a free port with trust authentication for user `postgres`. It has the durability
//! of a default server (fsync and synchronous_commit on) and the settings of the machine's
//! server that bear on the figures (shared_buffers 128MB, autovacuum off as in its
//! `conf.d/90-ci.conf`), with `max_connections` 200. Stopped (fast shutdown) and removed when
//! dropped, also when the run fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::procs::{self, Proc};

/// Where the PostgreSQL 15 binaries are.
const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The OS user the cluster runs as.
const OS_USER: &str = "postgres";

/// A running private cluster.
pub struct OwnPostgres {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// The server's log.
    pub log: PathBuf,
    server: Proc,
    /// Removed after the server stopped (see Drop).
    dir: Option<tempfile::TempDir>,
}

impl OwnPostgres {
    /// Makes the cluster (initdb), starts the server and waits until it accepts connections
    /// (at most 60 s).
    pub async fn start() -> anyhow::Result<OwnPostgres> {
        let (uid, gid) = os_user(OS_USER)?;
        let dir = tempfile::Builder::new()
            .prefix("postd-xbench-pg-")
            .tempdir()?;
        // The postgres user must reach the data directory inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data)?;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))?;
        std::os::unix::fs::chown(&data, Some(uid), Some(gid))?;

        let initdb_log = dir.path().join("initdb.log");
        let mut initdb = as_postgres(Path::new(BIN).join("initdb"), uid, gid, dir.path());
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .stdin(std::process::Stdio::null());
        let output = initdb
            .output()
            .map_err(|e| anyhow::anyhow!("running {}/initdb: {e}", BIN))?;
        std::fs::write(&initdb_log, [output.stdout, output.stderr].concat())?;
        anyhow::ensure!(
            output.status.success(),
            "initdb failed ({}); {}",
            output.status,
            keep_log(&initdb_log)
        );

        let port = procs::free_port();
        let mut command = as_postgres(Path::new(BIN).join("postgres"), uid, gid, dir.path());
        command.arg("-D").arg(&data).arg("-k").arg(&data);
        for setting in [
            "listen_addresses=127.0.0.1".to_string(),
            format!("port={port}"),
            "max_connections=200".into(),
            "shared_buffers=128MB".into(),
            "autovacuum=off".into(),
            "shared_preload_libraries=pg_stat_statements".into(),
            "pg_stat_statements.track=top".into(),
        ] {
            command.arg("-c").arg(setting);
        }
        let log = dir.path().join("postgres.log");
        let server = Proc::spawn("postgres (--own-postgres)", command, Some(&log))?
            // SIGINT is a fast shutdown: clients disconnected, a checkpoint, exit. SIGTERM
            // (smart) would wait for every client.
            .stop_with("INT", Duration::from_secs(30));
        let mut own = OwnPostgres {
            addr: format!("127.0.0.1:{port}"),
            log,
            server,
            dir: Some(dir),
        };
        own.wait_ready(Duration::from_secs(60)).await?;
        Ok(own)
    }

    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let url = format!("postgres://postgres@{}/postgres", self.addr);
        let started = Instant::now();
        loop {
            if let Err(e) = self.server.check_alive() {
                anyhow::bail!("{e}; {}", keep_log(&self.log));
            }
            let attempt =
                tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url))
                    .await;
            if let Ok(Ok(conn)) = attempt {
                let _ = conn.close().await;
                return Ok(());
            }
            if started.elapsed() > limit {
                anyhow::bail!(
                    "the private PostgreSQL did not accept connections at {} within {limit:?}; {}",
                    self.addr,
                    keep_log(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> String {
        self.server.pid()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        // Server first, then its directory.
        self.server.stop();
        drop(self.dir.take());
    }
}

/// A command run as `uid`:`gid` (no supplementary groups) in `dir`, with no `PG*` variable of
/// the harness's environment.
fn as_postgres(program: PathBuf, uid: u32, gid: u32, dir: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(&key);
        }
    }
    command
        .uid(uid)
        .gid(gid)
        .current_dir(dir)
        .env("HOME", dir)
        .env("LC_ALL", "C.UTF-8");
    command
}

/// The uid and gid of OS user `name` (from `id`).
fn os_user(name: &str) -> anyhow::Result<(u32, u32)> {
    let id = |flag: &str| -> anyhow::Result<u32> {
        let out = Command::new("id").arg(flag).arg(name).output()?;
        anyhow::ensure!(
            out.status.success(),
            "--own-postgres needs an OS user `{name}`: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    };
    Ok((id("-u")?, id("-g")?))
}

/// For an error message: copies a log of the cluster's directory (removed when the start
/// fails) to `postd-xbench-<pid>-<name>` in the temporary directory, and names it with its last
/// lines.
fn keep_log(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let kept = std::env::temp_dir().join(format!("postd-xbench-{}-{name}", std::process::id()));
    let shown = match std::fs::write(&kept, &text) {
        Ok(()) => kept,
        Err(_) => path.to_path_buf(),
    };
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "log {} ends:\n{}",
        shown.display(),
        lines[lines.len().saturating_sub(20)..].join("\n")
    )
}

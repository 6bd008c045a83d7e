//! Processes: CPU time from `/proc/<pid>/stat` (utime + stime, all threads), the process groups
//! the report names (host, database, Redis, platform, loader), and child processes stopped when
//! dropped.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of `pid` (or `self`), in clock ticks; `None` when it is gone.
pub fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is rest[0]; utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The parent process id of `pid`; `None` when it is gone.
pub fn parent(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    // Field 4 (ppid) is rest[1].
    rest.split_whitespace().nth(1).map(str::to_string)
}

/// The command name of `pid` (`/proc/<pid>/comm`).
pub fn comm(pid: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn cmdline(pid: &str) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn all_pids() -> Vec<String> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                .collect()
        })
        .unwrap_or_default()
}

/// Which processes make up one group.
#[derive(Clone, Debug)]
pub enum Group {
    /// These process ids.
    Pids(Vec<String>),
    /// PostgreSQL: the server's own processes (postmaster, writers, launchers) and the
    /// backends and autovacuum workers of database `db`; other databases' backends left out.
    /// The server is the one the run uses: the postmaster `postmaster` and its children (every
    /// process of a PostgreSQL server is a child of its postmaster), so another server on the
    /// machine (the machine's own beside `--own-postgres`'s private one) is not counted. When
    /// the postmaster is not known (a server not seen in this machine's `/proc`), every process
    /// named `postgres*` on the machine, as before.
    Postgres {
        db: String,
        postmaster: Option<String>,
    },
    /// Nothing (the group does not exist for this configuration).
    None,
}

impl Group {
    fn pids(&self) -> Vec<String> {
        match self {
            Group::Pids(pids) => pids.clone(),
            Group::None => vec![],
            Group::Postgres { db, postmaster } => all_pids()
                .into_iter()
                .filter(|p| match postmaster {
                    Some(pm) => p == pm || parent(p).as_ref() == Some(pm),
                    None => true,
                })
                .filter(|p| {
                    comm(p)
                        .as_deref()
                        .is_some_and(|c| c == "postgres" || c.starts_with("postgres"))
                })
                .filter(|p| {
                    let line = cmdline(p);
                    let words: Vec<&str> = line.split_whitespace().collect();
                    let ours = words.contains(&db.as_str());
                    // A client backend's title ends with its peer: `127.0.0.1(5432) idle`.
                    let client = line.contains("127.0.0.1(")
                        || line.contains("[local]")
                        || line.contains("::1(")
                        || line.contains("autovacuum worker");
                    ours || !client
                })
                .collect(),
        }
    }

    /// CPU ticks per process of the group now.
    pub fn snapshot(&self) -> HashMap<String, u64> {
        self.pids()
            .into_iter()
            .filter_map(|p| cpu_ticks(&p).map(|t| (p, t)))
            .collect()
    }
}

/// CPU ticks used between two snapshots of a group: processes in both count their
/// difference, processes that appeared count all they used (a process that exited between the
/// two is lost: its time is not counted).
pub fn used(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum()
}

/// A child process, stopped (SIGTERM or the signal of `stop_with`, then SIGKILL after `grace`)
/// when dropped.
pub struct Proc {
    /// What it is, for messages.
    pub name: String,
    child: Child,
    grace: Duration,
    signal: &'static str,
}

impl Proc {
    /// Spawns `command` (stdin closed; stdout and stderr to `log` when given, else discarded).
    pub fn spawn(name: &str, mut command: Command, log: Option<&Path>) -> anyhow::Result<Proc> {
        command.stdin(Stdio::null());
        match log {
            Some(path) => {
                let file = std::fs::File::create(path)?;
                command.stdout(file.try_clone()?).stderr(file);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = command
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {name} ({command:?}): {e}"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
            grace: Duration::from_secs(10),
            signal: "TERM",
        })
    }

    /// Stops it with `signal` (a name for `kill -<signal>`) instead of SIGTERM, waiting at most
    /// `grace` before SIGKILL.
    pub fn stop_with(mut self, signal: &'static str, grace: Duration) -> Proc {
        self.signal = signal;
        self.grace = grace;
        self
    }

    /// Its process id.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Fails when it has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!("{} exited: {status}", self.name);
        }
        Ok(())
    }

    /// Stops it: SIGTERM (or its stop signal), then SIGKILL if it has not exited within its
    /// grace.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .arg(format!("-{}", self.signal))
            .arg(self.pid())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let started = Instant::now();
        while started.elapsed() < self.grace {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until `url` answers 2xx (or fails after `limit`), checking `proc` is still alive.
pub async fn wait_ready(
    client: &reqwest::Client,
    url: &str,
    proc: &mut Proc,
    limit: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        proc.check_alive()?;
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if started.elapsed() > limit {
            anyhow::bail!("{} did not answer {url} within {limit:?}", proc.name);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

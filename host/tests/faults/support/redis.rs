//! A private `redis-server` on a free loopback port, in memory only (`--save ""`, no append
//! log), so a restart comes back empty: the shared server on 6379 serves other suites and is
//! never touched.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{eventually, free_port};

/// A Redis server that can be lost and brought back; killed when dropped.
pub struct Redis {
    port: u16,
    child: Option<Child>,
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
}

impl Redis {
    /// Starts a server; returns once it answers `PING`.
    pub async fn start() -> Redis {
        let found = Command::new("redis-server").arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "redis-server is not on PATH; the fault suite needs it (Debian package redis-server)"
        );
        let port = free_port();
        let mut redis = Redis {
            port,
            child: None,
            url: format!("redis://127.0.0.1:{port}"),
        };
        redis.start_again().await;
        redis
    }

    /// Starts the stopped server again on its port, empty; returns once it answers `PING`.
    pub async fn start_again(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        eventually(
            Duration::from_secs(10),
            "redis-server to answer",
            || async { self.keys("*").await.is_some() },
        )
        .await;
    }

    /// Loses the server: SIGKILL, so nothing is saved and connections break at once.
    pub fn lose(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The keys matching `pattern`, or `None` when the server does not answer.
    pub async fn keys(&self, pattern: &str) -> Option<Vec<String>> {
        let client = redis::Client::open(self.url.as_str()).ok()?;
        let mut connection = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut connection)
            .await
            .ok()
    }

    /// Clients connected to the server, counting the connection that asks.
    pub async fn clients(&self) -> i64 {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let info: String = redis::cmd("INFO")
            .arg("clients")
            .query_async(&mut connection)
            .await
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("connected_clients in INFO clients")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.lose();
    }
}

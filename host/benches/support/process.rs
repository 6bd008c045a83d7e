//! Host processes for the benchmarks: the `postd-host` binary of this build, started with its
//! settings in the environment, stopped (killed) when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `postd-host run`.
pub struct HostProcess {
    /// Its API base URL.
    pub url: String,
    child: Child,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl HostProcess {
    /// Starts the binary with `plugins` and `env` (`POSTD_*` pairs) over `data_dir`, on a free
    /// port; waits until `/livez` answers.
    pub async fn start(data_dir: &Path, plugins: &Path, env: &[(&str, String)]) -> HostProcess {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_postd-host"));
        command
            .arg("run")
            .env("POSTD_DATA_DIR", data_dir)
            .env("POSTD_PLUGINS", plugins)
            .env("POSTD_LISTEN", format!("127.0.0.1:{port}"))
            .env("POSTD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("starting postd-host");
        let process = HostProcess { url, child };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let live = client.get(format!("{}/livez", process.url)).send().await;
            if live.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "postd-host did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    /// Its process id.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

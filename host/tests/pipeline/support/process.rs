//! Host processes: `postd-host run` as a worker on the harness's database (and Redis), with
//! the pipeline fixture configured against the harness's platform.

use std::process::{Child, Command, Stdio};

use super::{Harness, Kind, REDIS_URL, shared_cache};

/// A worker process; killed (SIGKILL) when dropped.
pub struct Worker {
    child: Child,
}

impl Worker {
    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Harness {
    /// Starts `postd-host run` as worker `id` with `concurrency` job slots and a 2 s lease.
    pub fn spawn_worker(&self, id: &str, concurrency: usize) -> Worker {
        let dir = self.db.data_dir();
        let plugins = dir.join("plugins.toml");
        let url = &self.platform.url;
        std::fs::write(
            &plugins,
            format!(
                "[plugins.pipeline]\npath = {path:?}\nallowed_hosts = [{url:?}]\nallowed_ranges = [\"127.0.0.0/8\"]\n\
                 settings = {{ base-url = {url:?} }}\njobs = {{ max_attempts = 50 }}\n",
                path = postd_test_artifacts::PIPELINE,
            ),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_postd-host"));
        command
            .args(["run", "--plugins"])
            .arg(&plugins)
            .env("POSTD_DATA_DIR", &dir)
            .env("POSTD_CACHE_DIR", shared_cache())
            .env("POSTD_DATABASE_URL", &self.db.url)
            .env("POSTD_WORKERS", concurrency.to_string())
            .env("POSTD_LEASE_SECS", "2")
            .env("POSTD_LISTEN", "127.0.0.1:0")
            .env_remove("POSTD_CONFIG")
            .env("POSTD_WORKER_ID", id)
            .env("POSTD_LOG", "warn")
            .env_remove("POSTD_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if self.kind == Kind::PostgresRedis {
            command
                .env("POSTD_REDIS_URL", REDIS_URL)
                .env("POSTD_REDIS_NAMESPACE", &self.db.namespace);
        }
        Worker {
            child: command.spawn().expect("starting postd-host"),
        }
    }
}

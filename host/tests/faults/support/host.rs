//! `postd-host run` replicas with their HTTP API on a known port: the binary the suite built,
//! the pipeline fixture configured against the test platform, settings from the environment
//! only (nothing inherited from the machine running the suite).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use postd_host::store::Store;

use super::pipeline::Database;
use super::pipeline::server::{ADMIN_KEY, Api};
use super::pipeline::shared_cache;
use super::redis::Redis;
use super::{Platform, eventually, free_port};

/// The `plugins.toml` of the pipeline fixture reaching `platform`, with `extra` lines in its
/// entry (`rate_limit = …`).
pub fn plugins_toml(platform: &Platform, extra: &str) -> String {
    format!(
        "[plugins.pipeline]\npath = {path:?}\nallowed_hosts = [{url:?}]\nallowed_ranges = [\"127.0.0.0/8\"]\n\
         settings = {{ base-url = {url:?} }}\njobs = {{ max_attempts = 50 }}\n{extra}",
        path = postd_test_artifacts::PIPELINE,
        url = platform.url,
    )
}

/// How to start replicas: a database, optionally Redis, a directory for the plugins file, the
/// data directory (the vault's key file: replicas of one database share it).
pub struct Fleet {
    /// `POSTD_DATABASE_URL`.
    pub database_url: String,
    /// `POSTD_REDIS_URL` and `POSTD_REDIS_NAMESPACE`, if any.
    pub redis: Option<(String, String)>,
    /// `POSTD_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Where `plugins.toml` and each replica's log are written.
    pub dir: PathBuf,
    /// `POSTD_LEASE_SECS`.
    pub lease_secs: u32,
}

/// A running replica; killed when dropped.
pub struct Host {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Its HTTP API.
    pub api: Api,
    /// Its log (stderr, `POSTD_LOG=warn`).
    pub log: PathBuf,
}

impl Fleet {
    /// Replicas on the test database `db` (its data directory for the key, the plugins files
    /// and the logs) and the private `redis` (under the database's namespace).
    pub fn on(db: &Database, redis: &Redis, lease_secs: u32) -> Fleet {
        Fleet {
            database_url: db.url.clone(),
            redis: Some((redis.url.clone(), db.namespace.clone())),
            data_dir: db.data_dir(),
            dir: db.data_dir(),
            lease_secs,
        }
    }

    /// Creates tenant `tenant` with an API key in the fleet's database (migrating it first).
    pub async fn tenant_key(&self, tenant: &str) -> String {
        let store = Store::open(&self.database_url)
            .await
            .expect("opening the database");
        let now = postd_host::time::UnixMs::now().get();
        store.create_tenant(tenant, tenant, now).await.unwrap();
        store
            .tenant(tenant)
            .create_api_key("faults", now)
            .await
            .unwrap()
    }

    /// Starts replica `name` with `workers` job slots and `plugins` as its plugins file;
    /// returns once it is ready (`/readyz`).
    pub async fn start(&self, name: &str, workers: usize, plugins: &str) -> Host {
        self.start_with(name, workers, plugins, &[]).await
    }

    /// [`Fleet::start`] with more settings in the environment. The binary is the suite's own
    /// build, or `POSTD_HOST_BIN` when set (`make soak` runs the release build).
    pub async fn start_with(
        &self,
        name: &str,
        workers: usize,
        plugins: &str,
        settings: &[(&str, String)],
    ) -> Host {
        let port = free_port();
        let plugins_file = self.dir.join(format!("plugins-{name}.toml"));
        std::fs::write(&plugins_file, plugins).unwrap();
        let log = self.dir.join(format!("{name}.log"));
        let binary = std::env::var("POSTD_HOST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_postd-host").to_string());
        let mut command = Command::new(binary);
        for inherited in ["POSTD_CONFIG", "POSTD_REDIS_URL", "POSTD_REDIS_NAMESPACE"] {
            command.env_remove(inherited);
        }
        command
            .args(["run", "--plugins"])
            .arg(&plugins_file)
            .env("POSTD_DATA_DIR", &self.data_dir)
            .env("POSTD_CACHE_DIR", shared_cache())
            .env("POSTD_DATABASE_URL", &self.database_url)
            .env("POSTD_WORKERS", workers.to_string())
            .env("POSTD_LEASE_SECS", self.lease_secs.to_string())
            .env("POSTD_LISTEN", format!("127.0.0.1:{port}"))
            .env("POSTD_WORKER_ID", name)
            .env("POSTD_ADMIN_KEY", ADMIN_KEY)
            .env("POSTD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        command.envs(settings.iter().map(|(k, v)| (k, v)));
        if let Some((url, namespace)) = &self.redis {
            command
                .env("POSTD_REDIS_URL", url)
                .env("POSTD_REDIS_NAMESPACE", namespace);
        }
        let child = command.spawn().expect("starting postd-host");
        let api = Api {
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        let pid = child.id();
        let mut host = Host {
            child,
            pid,
            api,
            log,
        };
        // Ready: database (and Redis) answering, the plugin loaded. Generous: a first start
        // may compile the component (a debug build, on a busy machine).
        eventually(
            Duration::from_secs(120),
            "the replica to be ready",
            || async { host.ready().await == 200 },
        )
        .await;
        assert!(host.running(), "replica {name} exited: {}", host.log_text());
        host
    }
}

impl Host {
    /// Whether the process is still running (it was never restarted by the test).
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last 4,000 bytes of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log_text();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        log[start..].to_string()
    }

    /// Its `GET /readyz` status.
    pub async fn ready(&self) -> u16 {
        match self
            .api
            .client
            .get(format!("{}/readyz", self.api.url))
            .send()
            .await
        {
            Ok(answer) => answer.status().as_u16(),
            Err(_) => 0,
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects `tenant` (through `host`'s API and the platform's OAuth flow); returns the
/// connection id.
pub async fn connect(host: &Host, key: &str) -> String {
    let api = &host.api;
    let start = api.get("/v1/oauth/pipeline/start", key).await;
    assert!(start.status.is_success(), "{start:?}");
    let state = start.json["state"].as_str().unwrap();
    let callback = api
        .send(api.request(
            reqwest::Method::GET,
            &format!("/v1/oauth/pipeline/callback?code=abc&state={state}"),
            None,
        ))
        .await;
    assert!(callback.status.is_success(), "{callback:?}");
    callback.json["id"].as_str().unwrap().to_string()
}

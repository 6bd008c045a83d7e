//! The Node + BullMQ baseline (`bench/baseline-node`, `--stack node`): the same design in the
//! usual Node way — an Express API process (tenant key checked, post and jobs stored in one
//! PostgreSQL transaction under the idempotency key, one BullMQ job each) and a BullMQ worker
//! process (the job and its connection's sealed token read, the token opened with AES-256-GCM,
//! one POST to the same platform, the job stored as published). It answers the routes the
//! harness uses with the host, so the same tenants, connections and load drive both.

use std::sync::Arc;
use std::time::Duration;

use crate::procs::{self, Proc};
use crate::stack::{self, Backend, Deployment, PostdPoster};
use crate::{Config, Shared};

/// Starts the baseline for `config` (PostgreSQL + Redis only).
pub async fn start(
    shared: &Shared,
    config: &Config,
    name: &str,
    platform_url: &str,
) -> anyhow::Result<Deployment> {
    anyhow::ensure!(
        config.backend == Backend::Postgres,
        "the Node baseline runs on PostgreSQL + Redis only"
    );
    let node_dir = shared.node_dir();
    anyhow::ensure!(
        node_dir.join("node_modules/bullmq").exists(),
        "{} has no node_modules: run `npm ci` there (make bench-external does)",
        node_dir.display()
    );
    let pg = shared
        .postgres
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL"))?;
    let database_url = pg.create_database(name).await?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir_in(shared.scratch.path())?;
    let port = procs::free_port();
    let api = format!("http://127.0.0.1:{port}");
    // One key-encryption key per run, as the host's local key file.
    let master_key: String = (0..32)
        .map(|i| format!("{:02x}", (std::process::id() as usize * 31 + i * 7) as u8))
        .collect();
    let env = |command: &mut std::process::Command| {
        command
            .current_dir(&node_dir)
            .env("DATABASE_URL", &database_url)
            .env("REDIS_URL", &shared.redis_url)
            .env("QUEUE_PREFIX", name)
            .env("PORT", port.to_string())
            .env("PLATFORM_URL", platform_url)
            .env("CONCURRENCY", shared.workers().to_string())
            .env("ADMIN_KEY", stack::ADMIN_KEY)
            .env("MASTER_KEY", &master_key);
    };
    let api_log = dir.path().join("api.log");
    let worker_log = dir.path().join("worker.log");
    let mut command = std::process::Command::new("node");
    command.arg("api.js");
    env(&mut command);
    let mut api_proc = Proc::spawn("node api.js", command, Some(&api_log))?;
    let ready = procs::wait_ready(
        &shared.client,
        &format!("{api}/readyz"),
        &mut api_proc,
        Duration::from_secs(60),
    )
    .await;
    let mut procs = vec![api_proc];
    if ready.is_ok() {
        let mut command = std::process::Command::new("node");
        command.arg("worker.js");
        env(&mut command);
        procs.push(Proc::spawn("node worker.js", command, Some(&worker_log))?);
    }
    let mut deployment = stack::deployment(
        procs,
        vec![api_log, worker_log],
        name.to_string(),
        &database_url,
        shared.redis_url.clone(),
        format!("{name}:"),
        Arc::new(PostdPoster {
            url: String::new(),
            keys: vec![],
        }),
        dir,
    )?;
    let setup = async {
        ready?;
        let keys = stack::create_tenants(shared, &api, config.tenants).await?;
        anyhow::Ok(keys)
    };
    match setup.await {
        Ok(keys) => {
            deployment.set_poster(Arc::new(PostdPoster {
                url: format!("{api}/v1/posts"),
                keys,
            }));
            Ok(deployment)
        }
        Err(e) => {
            let e = e.context(deployment.log_tails());
            deployment.stop(shared).await;
            Err(e)
        }
    }
}

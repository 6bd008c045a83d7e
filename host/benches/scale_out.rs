//! Scale-out: the pipeline with one, then two `postd-host` processes on one PostgreSQL database
//! and one Redis, posts spread round-robin over the processes' APIs and over 64 tenants (so the
//! default per-tenant egress ceiling of 100 requests a second, kept in Redis, does not bind).
//! Throughput, and proof that every job ran once: attempts per job, posts the platform made per
//! job, attempts per process. Writes `bench/out/scale_out.json`.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379; creates and drops its own
//! `postd_bench_*` database and Redis keys.

#[path = "support/mod.rs"]
mod support;

use postd_host::store::Store;
use serde_json::json;
use support::host::{REDIS_URL, create_database, drop_database, drop_redis_keys, seed_tenant};
use support::load::{self, Target};
use support::platform::Platform;
use support::process::HostProcess;

const TENANTS: usize = 64;
const POSTS: usize = 5_000;
const IN_FLIGHT: usize = 500;
const WORKERS_PER_PROCESS: usize = 128;

async fn run(processes: usize, client: &reqwest::Client) -> serde_json::Value {
    let tag = format!("postd_bench_scale_{}_{processes}", std::process::id());
    let url = create_database(&tag).await;
    let namespace = format!("{tag}:");
    let store = Store::open(&url).await.unwrap();
    let platform = Platform::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut keys = Vec::new();
    for n in 0..TENANTS {
        keys.push(seed_tenant(&store, &format!("tenant-{n}"), now).await);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        postd_test_artifacts::PIPELINE,
        dir.path().join("plugins/pipeline.wasm"),
    )
    .unwrap();
    let plugins = dir.path().join("plugins.toml");
    std::fs::write(
        &plugins,
        format!(
            "plugin_dir = \"plugins\"\n\n[plugins.pipeline]\npath = \"pipeline.wasm\"\n\
             allowed_hosts = [\"{0}\"]\nallowed_ranges = [\"127.0.0.0/8\"]\ntenants = [\"*\"]\n\
             limits = {{ max_concurrency = 256 }}\nsettings = {{ base-url = \"{0}\" }}\n",
            platform.url
        ),
    )
    .unwrap();
    let mut hosts = Vec::new();
    for n in 0..processes {
        let data = dir.path().join(format!("data-{n}"));
        std::fs::create_dir_all(&data).unwrap();
        // One vault key for all processes: they share the database's secrets.
        if n > 0 {
            std::fs::copy(dir.path().join("data-0/vault.key"), data.join("vault.key")).unwrap();
        }
        let env = [
            ("POSTD_DATABASE_URL", url.clone()),
            ("POSTD_REDIS_URL", REDIS_URL.to_string()),
            ("POSTD_REDIS_NAMESPACE", namespace.clone()),
            ("POSTD_WORKERS", WORKERS_PER_PROCESS.to_string()),
            ("POSTD_WORKER_ID", format!("host-{n}")),
        ];
        hosts.push(HostProcess::start(&data, &plugins, &env).await);
    }
    let target = Target {
        api_urls: hosts.iter().map(|h| h.url.clone()).collect(),
        keys,
        connection: "conn".into(),
    };
    let pids: Vec<String> = hosts.iter().map(HostProcess::pid).collect();
    let pool = store.pool().clone();
    let run = load::run(
        client, &target, &pool, &platform, &tag, IN_FLIGHT, POSTS, &pids,
    )
    .await;
    let analysis = load::analyse(&pool, run.started_ms, &platform.jobs()).await;
    eprintln!("{processes} process(es): {:.0}/s; {analysis:?}", run.rate());
    drop(hosts);
    pool.close().await;
    drop_database(&tag).await;
    drop_redis_keys(&namespace).await;
    json!({
        "processes": processes,
        "posts": POSTS,
        "in_flight": IN_FLIGHT,
        "tenants": TENANTS,
        "failed_requests": run.failed_requests,
        "publishes_per_s": run.rate(),
        "elapsed_s": run.elapsed.as_secs_f64(),
        "rss_peak_kib": run.rss_peak_kib,
        "analysis": analysis.json(),
    })
}

fn main() {
    let tokio = support::tokio_runtime();
    let rows = tokio.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1_000)
            .build()
            .unwrap();
        vec![run(1, &client).await, run(2, &client).await]
    });
    support::write_result("scale_out", &json!({ "rows": rows }));
}

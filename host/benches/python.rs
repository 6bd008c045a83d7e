//! What a Python connector costs beside a Rust one: the Python example (`connectors-python/
//! example`, componentize-py, `target/python/example-py.wasm`, built by `make
//! python-connectors`) and the Rust example (`connectors/example`), which do the same work.
//!
//! Per connector: component size; load time with a cold compile cache and from the cache;
//! instantiate + call + drop of `manifest` (no I/O) and of `publish` (vault read, one HTTP POST
//! to a loopback platform, JSON both ways), with on-demand and with pooling instance allocation:
//! p50, p99 and mean of single calls, and fuel per call; the smallest linear-memory limit
//! (`memory_mb`) under which a publish still succeeds; how many of 8 overlapping publishes
//! succeed in an instance pool sized for 8 instances (the pool provides 4 core instances per
//! component instance); the idle RSS of a `postd-host run` serving that connector alone. Writes
//! `bench/out/python.json`.
//!
//! Without the Python component the bench says so and measures the Rust rows only.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use postd_host::capability::CallContext;
use postd_host::capability::http::Budget;
use postd_host::capability::vault::{MemorySecretStore, SecretScope};
use postd_host::config::PluginEntry;
use postd_host::runtime::{Allocation, Answer, HostServices, Invocation, Runtime, RuntimeSettings};
use serde_json::{Value, json};
use support::Summary;
use support::process::HostProcess;

const TENANT: &str = "bench";
/// How long the slow platform route takes to answer.
const SLOW_ANSWER: Duration = Duration::from_millis(300);
const CONNECTION: &str = "conn-1";

/// A connector measured: plugin id (its manifest id), component, and calls per timing loop
/// (the Python calls are much slower; their loops are shorter).
struct Subject {
    plugin: &'static str,
    path: PathBuf,
    timed_calls: usize,
}

fn subjects() -> Vec<Subject> {
    let mut subjects = vec![Subject {
        plugin: "example",
        path: PathBuf::from(postd_test_artifacts::EXAMPLE),
        timed_calls: 5_000,
    }];
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/python/example-py.wasm");
    if python.is_file() {
        subjects.push(Subject {
            plugin: "example-py",
            path: python,
            timed_calls: 500,
        });
    } else {
        eprintln!(
            "python: {} is missing, so the Python rows are skipped; run `make python-connectors` \
             to build it",
            python.display()
        );
    }
    subjects
}

/// The platform's answer to a post.
const CREATED: &str = r#"{"id":"post-1","url":"https://platform.test/p/post-1"}"#;

/// A loopback platform that answers `POST /posts` with a created post at once, and
/// `POST /slow/posts` after [`SLOW_ANSWER`], so calls waiting for it overlap.
async fn platform() -> String {
    let created = || {
        (
            StatusCode::CREATED,
            [("content-type", "application/json")],
            CREATED,
        )
    };
    let app = Router::new()
        .route("/posts", post(move || async move { created() }))
        .route(
            "/slow/posts",
            post(move || async move {
                tokio::time::sleep(SLOW_ANSWER).await;
                created()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The plugin entry for `subject` against `platform`, with budgets out of the way of a loop.
fn entry(subject: &Subject, platform: &str) -> PluginEntry {
    let mut entry = PluginEntry::new(subject.plugin, &subject.path);
    entry.allowed_hosts = vec![platform.to_string()];
    entry.allowed_ranges = vec!["127.0.0.0/8".into()];
    entry.rate_limit = Some(Budget::per_seconds(u32::MAX, 1));
    entry
        .settings
        .insert("base-url".to_string(), platform.to_string());
    entry
}

/// A runtime with the API key of the bench connection stored for `plugin`.
fn runtime(plugin: &str, allocation: Allocation, cache: Option<&Path>) -> Runtime {
    let secrets = Arc::new(MemorySecretStore::default());
    secrets.insert(
        &SecretScope::new(TENANT, plugin, CONNECTION),
        "api-key",
        "bench-key",
    );
    let services = HostServices {
        secrets,
        ..HostServices::in_memory()
    };
    let settings = RuntimeSettings {
        allocation,
        cache_dir: cache.map(Path::to_path_buf),
        tenant_rate: None,
        // A release build compiles the Python component in seconds; leave room anyway.
        compile_budget: postd_host::trial::OFFLINE_COMPILE_BUDGET,
        ..RuntimeSettings::default()
    };
    Runtime::new(settings, services).unwrap()
}

fn publish() -> Invocation {
    let post = r#"{"account-id": "acct-1", "text": "hello from the benchmark"}"#;
    postd_host::trial::args::invocation("publish", Some(post), "job-1").expect("a valid publish")
}

/// One call; its fuel. Panics unless the connector answered successfully.
async fn call(runtime: &Runtime, plugin: &str, export: &str) -> u64 {
    let context = CallContext::tenant(TENANT)
        .with_connection(CONNECTION)
        .with_job("job-1");
    let invocation = match export {
        "manifest" => Invocation::Manifest,
        _ => publish(),
    };
    let served = runtime.invoke(plugin, context, invocation).await.unwrap();
    match &served.answer {
        Answer::Manifest(_) | Answer::Publish(Ok(_)) => {}
        other => panic!("{plugin} {export} answered {other:?}"),
    }
    served.fuel_used
}

/// Times `n` single calls after `n / 10` warm-up calls.
async fn time_calls(runtime: &Runtime, plugin: &str, export: &str, n: usize) -> (Summary, u64) {
    for _ in 0..n / 10 {
        call(runtime, plugin, export).await;
    }
    let mut samples = Vec::with_capacity(n);
    let mut fuel = 0;
    for _ in 0..n {
        let started = Instant::now();
        fuel = call(runtime, plugin, export).await;
        samples.push(started.elapsed());
    }
    (Summary::of(&samples), fuel)
}

/// Whether `subject` loads and publishes with `memory_mb` of linear memory.
async fn publishes_within(
    subject: &Subject,
    platform: &str,
    cache: &Path,
    memory_mb: usize,
) -> bool {
    let runtime = runtime(subject.plugin, Allocation::OnDemand, Some(cache));
    let mut entry = entry(subject, platform);
    entry.limits.memory_bytes = memory_mb << 20;
    if runtime.configure_plugin(entry).await.is_err() {
        return false;
    }
    let context = CallContext::tenant(TENANT)
        .with_connection(CONNECTION)
        .with_job("job-1");
    matches!(
        runtime.invoke(subject.plugin, context, publish()).await,
        Ok(served) if matches!(served.answer, Answer::Publish(Ok(_)))
    )
}

/// The smallest `memory_mb` under which a publish succeeds (bisection over 1..=256).
async fn smallest_memory_mb(subject: &Subject, platform: &str, cache: &Path) -> usize {
    let (mut low, mut high) = (0, 256);
    assert!(
        publishes_within(subject, platform, cache, high).await,
        "{} does not publish within {high} MiB",
        subject.plugin
    );
    while high - low > 1 {
        let middle = (low + high) / 2;
        if publishes_within(subject, platform, cache, middle).await {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// `calls` simultaneous publishes, each waiting [`SLOW_ANSWER`] for the platform so that their
/// instances are alive together, in a pool sized for `calls` instances: how many succeeded, and
/// the first failure.
async fn pooled_burst(
    subject: &Subject,
    platform: &str,
    cache: &Path,
    calls: u32,
) -> (usize, Option<String>) {
    let allocation = Allocation::Pooling {
        instances: calls,
        memory_bytes: 64 << 20,
        table_elements: 20_000,
    };
    let runtime = Arc::new(runtime(subject.plugin, allocation, Some(cache)));
    let mut entry = entry(subject, platform);
    entry
        .settings
        .insert("base-url".to_string(), format!("{platform}/slow"));
    runtime.configure_plugin(entry).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(calls as usize));
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let (runtime, barrier, plugin) = (runtime.clone(), barrier.clone(), subject.plugin);
            tokio::spawn(async move {
                barrier.wait().await;
                let context = CallContext::tenant(TENANT)
                    .with_connection(CONNECTION)
                    .with_job("job-1");
                match runtime.invoke(plugin, context, publish()).await {
                    Ok(served) => match served.answer {
                        Answer::Publish(Ok(_)) => Ok(()),
                        other => Err(format!("{other:?}")),
                    },
                    Err(error) => Err(error.to_string()),
                }
            })
        })
        .collect();
    let (mut ok, mut failure) = (0, None);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    (ok, failure)
}

/// Idle VmRSS (KiB) of `postd-host run` serving `subject` alone, started over a warm compile
/// cache, two seconds after it is ready.
async fn idle_rss_kib(subject: &Subject, dir: &Path) -> u64 {
    let plugins_dir = dir.join("plugins");
    std::fs::create_dir_all(&plugins_dir).unwrap();
    let id = subject.plugin;
    std::fs::copy(&subject.path, plugins_dir.join(format!("{id}.wasm"))).unwrap();
    let file = dir.join("plugins.toml");
    std::fs::write(
        &file,
        format!(
            "plugin_dir = \"plugins\"\n\n[plugins.{id}]\npath = \"{id}.wasm\"\ntenants = [\"*\"]\n"
        ),
    )
    .unwrap();
    let data = dir.join("data");
    let mut rss = 0;
    // The first start compiles into the cache; the second loads from it, as a restart does.
    for _ in 0..2 {
        let host = HostProcess::start(&data, &file, &[]).await;
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let ready = client.get(format!("{}/readyz", host.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: the host never became ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss = support::rss_kib_of(&host.pid());
    }
    rss
}

fn main() {
    let tokio = support::tokio_runtime();
    let platform = tokio.block_on(platform());
    let mut results = Vec::new();
    for subject in subjects() {
        let plugin = subject.plugin;
        let size = std::fs::metadata(&subject.path).unwrap().len();
        let cache = tempfile::tempdir().unwrap();

        // Loading: validation (compile, instantiate, `manifest`), cold and from the cache.
        let mut loads = Vec::new();
        for _ in 0..2 {
            let runtime = runtime(plugin, Allocation::OnDemand, Some(cache.path()));
            let started = Instant::now();
            tokio
                .block_on(runtime.configure_plugin(entry(&subject, &platform)))
                .unwrap();
            loads.push(started.elapsed().as_secs_f64() * 1e3);
        }
        eprintln!(
            "{plugin}: {size} bytes; load {:.0} ms cold, {:.0} ms from the compile cache",
            loads[0], loads[1]
        );

        let mut calls = Vec::new();
        for (allocation_name, allocation) in support::allocation_strategies() {
            let runtime = runtime(plugin, allocation, Some(cache.path()));
            tokio
                .block_on(runtime.configure_plugin(entry(&subject, &platform)))
                .unwrap();
            for export in ["manifest", "publish"] {
                let (summary, fuel) =
                    tokio.block_on(time_calls(&runtime, plugin, export, subject.timed_calls));
                eprintln!("{plugin} {allocation_name} {export}: {summary:?}, fuel {fuel}");
                calls.push(json!({
                    "allocation": allocation_name,
                    "export": export,
                    "fuel": fuel,
                    "timing": summary.json(),
                }));
            }
        }

        let memory_mb = tokio.block_on(smallest_memory_mb(&subject, &platform, cache.path()));
        eprintln!("{plugin}: smallest memory_mb that publishes: {memory_mb}");
        let (burst_ok, burst_failure) =
            tokio.block_on(pooled_burst(&subject, &platform, cache.path(), 8));
        eprintln!(
            "{plugin}: 8 overlapping publishes, pool of 8: {burst_ok} ok, first failure {burst_failure:?}"
        );
        let host_dir = tempfile::tempdir().unwrap();
        let rss = tokio.block_on(idle_rss_kib(&subject, host_dir.path()));
        eprintln!("{plugin}: idle postd-host RSS serving it alone: {rss} KiB");
        results.push(json!({
            "plugin": plugin,
            "component_bytes": size,
            "load_cold_ms": loads[0],
            "load_cached_ms": loads[1],
            "calls": calls,
            "smallest_memory_mb": memory_mb,
            "pool_of_8_overlapping_ok": burst_ok,
            "pool_of_8_first_failure": burst_failure,
            "idle_host_rss_kib": rss,
        }));
    }
    let value: Value = json!({ "connectors": results });
    support::write_result("python", &value);
}

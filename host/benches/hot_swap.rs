//! Hot swap under load: 10,000 publishes through the HTTP API (100 in flight, SQLite) while the
//! plugin's component file is replaced 10 times, alternating two versions of the pipeline
//! fixture (0.1.0 and 0.2.0). Measures failed calls (requests refused, attempts not published,
//! jobs not posted exactly once) and the time from each file change (an atomic rename into the
//! plugin directory, as a deploy does) to the new version serving. Writes
//! `bench/out/hot_swap.json`.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use postd_host::runtime::PluginWatcher;
use serde_json::json;
use support::host::Host;
use support::load;
use support::platform::Platform;

const POSTS: usize = 10_000;
const IN_FLIGHT: usize = 100;
const SWAPS: usize = 10;
const SWAP_EVERY: Duration = Duration::from_millis(700);

fn serving(host: &Host) -> String {
    host.runtime
        .status("pipeline")
        .and_then(|s| s.version)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn main() {
    let tokio = support::tokio_runtime();
    let result = tokio.block_on(async {
        let plugins = tempfile::tempdir().unwrap();
        let file = plugins.path().join("pipeline.wasm");
        std::fs::copy(postd_test_artifacts::PIPELINE, &file).unwrap();
        let platform = Platform::start().await;
        let host = Host::start(false, &file, &platform.url, false).await;
        let _watcher = PluginWatcher::start(host.runtime.clone(), plugins.path()).unwrap();
        let client = reqwest::Client::new();
        let pool = host.store.pool().clone();
        let versions = [
            (postd_test_artifacts::PIPELINE_NEXT, "0.2.0"),
            (postd_test_artifacts::PIPELINE, "0.1.0"),
        ];
        let started_version = serving(&host);
        let swapper = {
            let dir = plugins.path().to_path_buf();
            let runtime = host.runtime.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                for n in 0..SWAPS {
                    tokio::time::sleep(SWAP_EVERY).await;
                    let (source, version) = versions[n % 2];
                    let staged = dir.join(".pipeline.wasm.new");
                    std::fs::copy(source, &staged).unwrap();
                    let changed = Instant::now();
                    std::fs::rename(&staged, dir.join("pipeline.wasm")).unwrap();
                    loop {
                        let now = runtime.status("pipeline").and_then(|s| s.version);
                        if now.as_deref() == Some(version) {
                            break;
                        }
                        assert!(
                            changed.elapsed() < Duration::from_secs(60),
                            "swap {n} never served"
                        );
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    times.push(changed.elapsed());
                }
                times
            })
        };
        let run = load::run(
            &client,
            &host.target,
            &pool,
            &platform,
            "swap",
            IN_FLIGHT,
            POSTS,
            &[],
        )
        .await;
        let swap_done_before_load = swapper.is_finished();
        let times = swapper.await.unwrap();
        let analysis = load::analyse(&pool, run.started_ms, &platform.jobs()).await;
        let ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
        eprintln!("swap times (ms): {ms:?}; {analysis:?}");
        let failed = run.failed_requests
            + analysis.failed_attempts
            + analysis.not_exactly_once
            + (analysis.jobs - analysis.published);
        let result = json!({
            "posts": POSTS,
            "in_flight": IN_FLIGHT,
            "swaps": SWAPS,
            "first_version": started_version,
            "all_swaps_during_load": swap_done_before_load,
            "swap_to_serving_ms": ms,
            "failed_calls": failed,
            "failed_requests": run.failed_requests,
            "publishes_per_s": run.rate(),
            "analysis": analysis.json(),
        });
        host.stop().await;
        drop(plugins);
        result
    });
    support::write_result("hot_swap", &result);
}

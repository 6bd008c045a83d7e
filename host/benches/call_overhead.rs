//! What the sandbox costs per call: instantiate a fresh instance, call an export that does
//! trivial work (`manifest()`), drop the store — with on-demand and with pooling instance
//! allocation. Criterion gives the mean and median; a timing loop of single calls gives the
//! p50 and p99 written to `bench/out/call_overhead.json`.

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use postd_host::capability::CallContext;
use postd_host::config::PluginEntry;
use postd_host::runtime::{Allocation, HostServices, Invocation, Runtime, RuntimeSettings};
use postd_test_artifacts::EXAMPLE;
use serde_json::json;
use support::Summary;

/// Single calls timed for the percentiles, after as many warm-up calls.
const TIMED_CALLS: usize = 20_000;

fn runtime(tokio: &tokio::runtime::Runtime, allocation: Allocation) -> Runtime {
    tokio.block_on(async {
        let settings = RuntimeSettings {
            allocation,
            ..RuntimeSettings::default()
        };
        let runtime = Runtime::new(settings, HostServices::in_memory()).unwrap();
        runtime
            .configure_plugin(PluginEntry::new("example", EXAMPLE))
            .await
            .unwrap();
        runtime
    })
}

async fn call(runtime: &Runtime) {
    black_box(
        runtime
            .invoke(
                "example",
                CallContext::tenant("bench"),
                Invocation::Manifest,
            )
            .await
            .unwrap(),
    );
}

fn call_overhead(c: &mut Criterion) {
    let tokio = support::tokio_runtime();
    let mut group = c.benchmark_group("instantiate+call+drop");
    let mut rows = Vec::new();
    for (name, allocation) in support::allocation_strategies() {
        let runtime = runtime(&tokio, allocation);
        group.bench_function(name, |b| b.to_async(&tokio).iter(|| call(&runtime)));
        let samples: Vec<Duration> = tokio.block_on(async {
            for _ in 0..TIMED_CALLS {
                call(&runtime).await;
            }
            let mut samples = Vec::with_capacity(TIMED_CALLS);
            for _ in 0..TIMED_CALLS {
                let started = Instant::now();
                call(&runtime).await;
                samples.push(started.elapsed());
            }
            samples
        });
        let summary = Summary::of(&samples);
        eprintln!("{name}: {summary:?}");
        rows.push(json!({ "allocation": name, "export": "manifest", "timing": summary.json() }));
    }
    group.finish();
    support::write_result("call_overhead", &json!({ "rows": rows }));
}

criterion_group!(benches, call_overhead);
criterion_main!(benches);

//! What the sandbox costs per call: instantiate a fresh instance, call an export that does
//! trivial work, drop the store — with on-demand and with pooling instance allocation.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use postd_host::capability::CallContext;
use postd_host::config::PluginEntry;
use postd_host::runtime::{Allocation, HostServices, Invocation, Runtime, RuntimeSettings};
use postd_test_artifacts::EXAMPLE;

fn call_overhead(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let strategies = [
        ("on-demand", Allocation::OnDemand),
        (
            "pooling",
            Allocation::Pooling {
                instances: 128,
                memory_bytes: 64 << 20,
            },
        ),
    ];
    let mut group = c.benchmark_group("instantiate+call+drop");
    for (name, allocation) in strategies {
        let runtime = tokio.block_on(async {
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
        });
        group.bench_function(name, |b| {
            b.to_async(&tokio).iter(|| async {
                black_box(
                    runtime
                        .invoke(
                            "example",
                            CallContext::tenant("bench"),
                            Invocation::Manifest,
                        )
                        .await
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, call_overhead);
criterion_main!(benches);

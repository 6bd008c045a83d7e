//! A CPU-heavy connector function — build a JSON document of 8,192 posts (about 1 MiB) and
//! HMAC-SHA256 the body — as a component (`tests/fixtures/cpu-heavy`) and as the same Rust
//! (`tests/fixtures/cpu-work`) compiled natively and called in-process; the component with fuel
//! metering (the production setting) and with epoch interruption only. Writes
//! `bench/out/cpu_heavy.json`.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use postd_fixture_cpu_work::{ONE_MIB_ITEMS, sign_document};
use postd_host::capability::CallContext;
use postd_host::config::PluginEntry;
use postd_host::runtime::wit::connector::{JobContext, Post, PublishOutcome};
use postd_host::runtime::{Answer, HostServices, Invocation, Runtime, RuntimeSettings};
use serde_json::json;
use support::Summary;

const WARMUP: usize = 5;
const RUNS: usize = 60;
const KEY: &str = "bench-signing-key";

fn post() -> Post {
    Post {
        account_id: "a".into(),
        text: KEY.into(),
        link: None,
        media: vec![],
        scheduled_for: None,
        options: vec![("items".into(), ONE_MIB_ITEMS.to_string())],
    }
}

async fn runtime(fuel_metering: bool) -> Runtime {
    let settings = RuntimeSettings {
        fuel_metering,
        ..RuntimeSettings::default()
    };
    let runtime = Runtime::new(settings, HostServices::in_memory()).unwrap();
    runtime
        .configure_plugin(PluginEntry::new(
            "cpu-heavy",
            postd_test_artifacts::CPU_HEAVY,
        ))
        .await
        .unwrap();
    runtime
}

/// One publish through the sandbox: the post id it answers, and the fuel it used.
async fn component_call(runtime: &Runtime) -> (String, u64) {
    let job = JobContext {
        job_id: "job".into(),
        attempt: 1,
        recovery_point: None,
    };
    let served = runtime
        .invoke(
            "cpu-heavy",
            CallContext::tenant("bench"),
            Invocation::Publish(post(), job),
        )
        .await
        .unwrap();
    match served.answer {
        Answer::Publish(Ok(PublishOutcome::Published(p))) => (p.post_id, served.fuel_used),
        other => panic!("unexpected answer {other:?}"),
    }
}

async fn time_component(runtime: &Runtime, expected: &str) -> (Summary, u64) {
    let mut fuel = 0;
    for _ in 0..WARMUP {
        let (id, used) = component_call(runtime).await;
        assert_eq!(id, expected, "the component and native code disagree");
        fuel = used;
    }
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        component_call(runtime).await;
        samples.push(started.elapsed());
    }
    (Summary::of(&samples), fuel)
}

fn main() {
    let tokio = support::tokio_runtime();
    // Native: the same function, in-process.
    let reference = sign_document(ONE_MIB_ITEMS, KEY.as_bytes());
    let expected = format!("{}:{}", reference.body_len, reference.signature);
    let native = {
        for _ in 0..WARMUP {
            std::hint::black_box(sign_document(ONE_MIB_ITEMS, KEY.as_bytes()));
        }
        let samples: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(sign_document(ONE_MIB_ITEMS, KEY.as_bytes()));
                started.elapsed()
            })
            .collect();
        Summary::of(&samples)
    };
    let (fuel, fuel_used) =
        tokio.block_on(async { time_component(&runtime(true).await, &expected).await });
    let (epoch, _) =
        tokio.block_on(async { time_component(&runtime(false).await, &expected).await });
    eprintln!("native {native:?}\ncomponent+fuel {fuel:?}\ncomponent epoch-only {epoch:?}");
    support::write_result(
        "cpu_heavy",
        &json!({
            "body_bytes": reference.body_len,
            "items": ONE_MIB_ITEMS,
            "fuel_used": fuel_used,
            "native": native.json(),
            "component_fuel": fuel.json(),
            "component_epoch_only": epoch.json(),
            "ratio_fuel_p50": fuel.p50 / native.p50,
            "ratio_epoch_p50": epoch.p50 / native.p50,
            "fuel_overhead_p50": fuel.p50 / epoch.p50 - 1.0,
        }),
    );
}

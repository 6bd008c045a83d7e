//! Every limit ends the offending call with its own error; the host and other calls carry on.

use std::time::Duration;

use postd_host::config::LimitsOverride;
use postd_host::runtime::wit::types::ConnectorError;
use postd_host::runtime::{Answer, CallError, Runtime};
use postd_test_artifacts::{EXAMPLE, HOSTILE};

use crate::support::{self, TENANT, call, publish};

/// A runtime serving `hostile` with `limits` and `example` with defaults.
async fn setup(limits: LimitsOverride) -> std::sync::Arc<Runtime> {
    let runtime = support::runtime();
    runtime
        .configure_plugin(support::entry("hostile", HOSTILE, limits))
        .await
        .expect("hostile loads");
    support::serve(&runtime, "example", EXAMPLE).await;
    runtime
}

/// Runs the hostile `behaviour` and, concurrently, a well-behaved call; returns the hostile
/// call's error after checking the well-behaved call succeeded.
async fn trips(runtime: &Runtime, behaviour: &str) -> CallError {
    let (hostile, neighbour) = tokio::join!(call(runtime, "hostile", publish(behaviour)), async {
        // Start once the hostile call is surely running.
        tokio::time::sleep(Duration::from_millis(20)).await;
        support::manifest_versions(runtime, "example").await
    });
    let (reported, served_by) = neighbour.expect("the well-behaved call succeeds");
    assert_eq!(reported, served_by);
    // The offending plugin itself still serves the next, harmless call.
    let after = call(runtime, "hostile", publish("fine"))
        .await
        .expect("hostile plugin still serves");
    assert!(matches!(after.answer, Answer::Publish(Ok(_))));
    hostile.expect_err("the hostile call must be stopped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guest_runs_out_of_fuel() {
    let runtime = setup(LimitsOverride {
        fuel: Some(50_000_000),
        ..Default::default()
    })
    .await;
    let error = trips(&runtime, "spin").await;
    assert!(
        matches!(
            error,
            CallError::FuelExhausted {
                budget: 50_000_000,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.code(), "fuel-exhausted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guest_hits_the_epoch_deadline_when_fuel_is_plentiful() {
    let limits = LimitsOverride {
        fuel: Some(u64::MAX / 2),
        deadline_ms: Some(300),
        ..Default::default()
    };
    let runtime = setup(limits).await;
    let error = trips(&runtime, "spin").await;
    assert!(
        matches!(
            error,
            CallError::DeadlineExceeded {
                during: "in guest code",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_blocked_in_a_host_call_hits_the_call_timeout() {
    let runtime = setup(LimitsOverride {
        deadline_ms: Some(300),
        ..Default::default()
    })
    .await;
    let error = trips(&runtime, "sleep").await;
    assert!(
        matches!(
            error,
            CallError::DeadlineExceeded {
                during: "waiting on host I/O",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_hits_the_memory_limit() {
    let runtime = setup(LimitsOverride {
        memory_mb: Some(16),
        ..Default::default()
    })
    .await;
    let error = trips(&runtime, "balloon").await;
    assert!(
        matches!(error, CallError::MemoryLimit { limit_bytes, .. } if limit_bytes == 16 << 20),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_overflows_the_stack() {
    let runtime = setup(LimitsOverride::default()).await;
    let error = trips(&runtime, "recurse").await;
    assert!(matches!(error, CallError::StackOverflow { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_guest_is_reported_as_a_trap() {
    let runtime = setup(LimitsOverride::default()).await;
    let error = trips(&runtime, "panic").await;
    assert!(matches!(error, CallError::Trap { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_plugin_answers_busy() {
    let limits = LimitsOverride {
        max_concurrency: Some(1),
        queue_wait_ms: Some(0),
        fuel: Some(u64::MAX / 2),
        deadline_ms: Some(2_000),
        ..Default::default()
    };
    let runtime = setup(limits).await;
    let holder = tokio::spawn({
        let runtime = runtime.clone();
        async move { call(&runtime, "hostile", publish("spin")).await }
    });
    while runtime.status("hostile").unwrap().running == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused = call(&runtime, "hostile", publish("fine"))
        .await
        .expect_err("the only slot is taken");
    assert!(
        matches!(
            refused,
            CallError::Busy {
                scope: "plugin",
                limit: 1,
                ..
            }
        ),
        "{refused}"
    );
    // Another plugin is unaffected.
    support::manifest_versions(&runtime, "example")
        .await
        .expect("other plugins keep serving");
    let held = holder
        .await
        .unwrap()
        .expect_err("the holder spins until its deadline");
    assert!(matches!(held, CallError::DeadlineExceeded { .. }));
    // The slot is free again.
    assert!(call(&runtime, "hostile", publish("fine")).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_ungranted_hosts_never_leave() {
    let runtime = setup(LimitsOverride::default()).await;
    let served = call(&runtime, "hostile", publish("egress"))
        .await
        .expect("the call itself completes");
    match served.answer {
        Answer::Publish(Err(ConnectorError::Platform(e))) => {
            assert_eq!(e.code, "egress-denied");
            assert!(e.message.contains("not-granted.example"), "{}", e.message);
        }
        other => panic!("expected the egress refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_is_recorded_per_tenant_and_plugin() {
    let runtime = setup(LimitsOverride {
        fuel: Some(20_000_000),
        ..Default::default()
    })
    .await;
    let before = runtime.fuel().usage(TENANT, "hostile");
    call(&runtime, "hostile", publish("fine")).await.unwrap();
    let _ = call(&runtime, "hostile", publish("spin")).await;
    let after = runtime.fuel().usage(TENANT, "hostile");
    assert_eq!(after.calls, before.calls + 2);
    // The spinning call burnt its whole budget; the harmless one a little.
    assert!(after.fuel - before.fuel >= 20_000_000, "{after:?}");
    assert_eq!(runtime.fuel().usage("someone-else", "hostile").calls, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fuel_metering_the_epoch_deadline_still_stops_a_spinning_guest() {
    let settings = postd_host::runtime::RuntimeSettings {
        cache_dir: Some(support::shared_cache()),
        fuel_metering: false,
        ..Default::default()
    };
    let runtime = std::sync::Arc::new(
        Runtime::new(settings, postd_host::runtime::HostServices::in_memory()).unwrap(),
    );
    let limits = LimitsOverride {
        // A budget that would trip at once if fuel were metered.
        fuel: Some(1_000),
        deadline_ms: Some(300),
        ..Default::default()
    };
    runtime
        .configure_plugin(support::entry("hostile", HOSTILE, limits))
        .await
        .expect("hostile loads");
    support::serve(&runtime, "example", EXAMPLE).await;
    let error = trips(&runtime, "spin").await;
    assert!(
        matches!(
            error,
            CallError::DeadlineExceeded {
                during: "in guest code",
                ..
            }
        ),
        "{error}"
    );
    let served = call(
        &runtime,
        "example",
        postd_host::runtime::Invocation::Manifest,
    )
    .await
    .unwrap();
    assert_eq!(served.fuel_used, 0);
}

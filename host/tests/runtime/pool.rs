//! Pooling instance allocation: the pool the service builds by default serves the connectors,
//! refuses configurations over its slots with a clear message, answers `busy` when every slot
//! is taken, and cannot be built where it cannot be reserved.

use std::sync::Arc;
use std::time::Duration;

use postd_host::config::{Limits, LimitsOverride, PluginsFile, ServiceSettings};
use postd_host::runtime::{Allocation, CallError, HostServices, Runtime, RuntimeSettings};
use postd_host::store::Store;
use postd_test_artifacts::{EXAMPLE, HOSTILE, MAILCHIMP, META};

use crate::support::{self, call, publish};

fn pooled(allocation: Allocation) -> Arc<Runtime> {
    let settings = RuntimeSettings {
        allocation,
        cache_dir: Some(support::shared_cache()),
        ..RuntimeSettings::default()
    };
    Arc::new(Runtime::new(settings, HostServices::in_memory()).expect("the pool is reserved"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_pools_by_default_sized_from_the_plugin_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugins.toml");
    std::fs::write(
        &file,
        format!(
            "[defaults]\nmax_concurrency = 8\n\n[plugins.example]\npath = {EXAMPLE:?}\n\n\
             [plugins.meta]\npath = {META:?}\nlimits = {{ memory_mb = 96, max_concurrency = 16 }}\n\
             settings = {{ client-id = \"1\" }}\nsecrets = {{ client-secret = {{ value = \"s\" }} }}\n\n\
             [plugins.mailchimp]\npath = {MAILCHIMP:?}\n"
        ),
    )
    .unwrap();
    let file = PluginsFile::load(&file);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let settings = ServiceSettings::from_parts(None, |_| None).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("db").display()))
        .await
        .unwrap();
    let allocation = postd_host::service::instance_allocation(&settings, &file, &store).await;
    // (8 + 1) for example and mailchimp, (16 + 1) for meta, (8 + 1) of room for one more;
    // slots of twice the largest memory_mb (96).
    assert_eq!(
        allocation,
        Allocation::Pooling {
            instances: 9 + 17 + 9 + 9,
            memory_bytes: 192 << 20,
            table_elements: 40_000,
        }
    );
    let runtime = pooled(allocation);
    assert!(matches!(runtime.allocation(), Allocation::Pooling { .. }));
    assert!(runtime.configure(&file).await.is_empty());
    for plugin in ["example", "meta", "mailchimp"] {
        support::manifest_versions(&runtime, plugin)
            .await
            .unwrap_or_else(|e| panic!("{plugin}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_over_the_pool_is_refused_when_configured_not_at_call_time() {
    let runtime = pooled(Allocation::pooling_for([&Limits::default()]));
    support::serve(&runtime, "example", EXAMPLE).await;
    let over = LimitsOverride {
        memory_mb: Some(256),
        ..Default::default()
    };
    let refused = runtime
        .configure_plugin(support::entry("big", EXAMPLE, over.clone()))
        .await
        .expect_err("256 MiB does not fit slots of 128 MiB");
    let message = refused.to_string();
    assert!(
        message.contains("memory_mb = 256")
            && message.contains("128 MiB")
            && message.contains("instance_allocation"),
        "{message}"
    );
    assert!(runtime.status("big").is_none());
    // A change of a serving plugin is refused the same way and leaves its configuration.
    runtime
        .reconfigure(support::entry("example", EXAMPLE, over))
        .await
        .expect_err("refused");
    let kept = runtime.plugin_config("example").unwrap();
    assert_eq!(kept.entry.limits.memory_bytes, 64 << 20);
    support::manifest_versions(&runtime, "example")
        .await
        .expect("still serving");
    // On demand, there is no slot to outgrow.
    let on_demand = support::runtime();
    assert!(
        on_demand
            .check_entry(&support::entry(
                "big",
                EXAMPLE,
                LimitsOverride {
                    memory_mb: Some(256),
                    ..Default::default()
                }
            ))
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_answers_busy() {
    let runtime = pooled(Allocation::Pooling {
        instances: 1,
        memory_bytes: 128 << 20,
        table_elements: 40_000,
    });
    let limits = LimitsOverride {
        fuel: Some(u64::MAX / 2),
        deadline_ms: Some(1_500),
        queue_wait_ms: Some(0),
        ..Default::default()
    };
    runtime
        .configure_plugin(support::entry("hostile", HOSTILE, limits))
        .await
        .expect("hostile loads");
    let holder = tokio::spawn({
        let runtime = runtime.clone();
        async move { call(&runtime, "hostile", publish("spin")).await }
    });
    while runtime.status("hostile").unwrap().running == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Admitted by its plugin; the pool slot follows at once.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = call(&runtime, "hostile", publish("fine"))
        .await
        .expect_err("the pool's only slot is taken");
    assert!(
        matches!(
            refused,
            CallError::Busy {
                scope: "instance pool",
                limit: 1,
                ..
            }
        ),
        "{refused}"
    );
    assert!(
        holder.await.unwrap().is_err(),
        "the holder spins to its deadline"
    );
    assert!(call(&runtime, "hostile", publish("fine")).await.is_ok());
}

#[test]
fn a_pool_that_cannot_be_reserved_is_a_clear_error() {
    let absurd = Limits {
        max_concurrency: 100_000,
        ..Limits::default()
    };
    let settings = RuntimeSettings {
        allocation: Allocation::pooling_for([&absurd]),
        ..RuntimeSettings::default()
    };
    let error = match Runtime::new(settings, HostServices::in_memory()) {
        Ok(_) => panic!("800 TiB of address space was reserved"),
        Err(error) => format!("{error:#}"),
    };
    for named in [
        "cannot reserve an instance pool of 100001 instances",
        "max_concurrency",
        "memory_mb",
        "POSTD_INSTANCE_ALLOCATION",
    ] {
        assert!(error.contains(named), "`{named}` missing from: {error}");
    }
}

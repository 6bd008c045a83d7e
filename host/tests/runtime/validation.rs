//! Validating a component costs the host little and gives it nothing: `manifest()` runs with no
//! egress and a short deadline of its own, plugins load concurrently, compiles have a budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postd_host::config::{LimitsOverride, PluginsFile};
use postd_host::runtime::{HostServices, LoadProblem, MANIFEST_DEADLINE, Runtime, RuntimeSettings};
use postd_test_artifacts::{EXAMPLE, HOSTILE};

use crate::support;

/// A hostile entry whose `manifest()` misbehaves as `behaviour` says, with a 30 s deadline.
fn hostile(behaviour: &str) -> postd_host::config::PluginEntry {
    let mut entry = support::entry(
        "hostile",
        HOSTILE,
        LimitsOverride {
            deadline_ms: Some(30_000),
            ..Default::default()
        },
    );
    entry.settings.insert("manifest".into(), behaviour.into());
    entry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_gets_no_egress_even_to_granted_hosts() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn({
        let connections = connections.clone();
        async move {
            while let Ok((_socket, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let mut entry = hostile(&format!("egress:http://127.0.0.1:{port}/manifest"));
    entry.allowed_hosts = vec![format!("http://127.0.0.1:{port}")];
    entry.allowed_ranges = vec!["127.0.0.1/32".into()];

    let runtime = support::runtime();
    runtime
        .configure_plugin(entry)
        .await
        .expect("the manifest still answers");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a validation call must not reach the network"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_manifest_meets_its_own_deadline_not_the_plugins() {
    let runtime = support::runtime();
    let error = runtime
        .configure_plugin(hostile("sleep"))
        .await
        .expect_err("a manifest that blocks cannot serve");
    assert!(
        matches!(&error.problem, LoadProblem::ManifestFailed(why) if why.contains(&format!("{MANIFEST_DEADLINE:?} deadline"))),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_load_concurrently_and_report_loading_meanwhile() {
    // Compiled once already, so the well-behaved plugin loads from the cache.
    support::serve(&support::runtime(), "example", EXAMPLE).await;
    let runtime = support::runtime();
    let file = PluginsFile {
        source: "plugins.toml".into(),
        plugin_dir: ".".into(),
        defaults: Default::default(),
        plugins: vec![
            hostile("sleep"),
            support::entry("example", EXAMPLE, LimitsOverride::default()),
        ],
        problems: vec![],
        digest: None,
    };
    let loading = tokio::spawn({
        let runtime = runtime.clone();
        async move { runtime.configure(&file).await }
    });
    crate::support::eventually(Duration::from_secs(60), "example to serve", || {
        let runtime = runtime.clone();
        async move {
            runtime
                .status("example")
                .is_some_and(|s| s.version.is_some())
        }
    })
    .await;
    let slow = runtime
        .status("hostile")
        .expect("configured before loading");
    assert!(
        slow.loading && slow.version.is_none(),
        "example serves while hostile's manifest is still running: {slow:?}"
    );
    let failures = loading.await.unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let slow = runtime.status("hostile").unwrap();
    assert!(!slow.loading && slow.last_error.is_some(), "{slow:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compile_past_its_budget_is_refused() {
    let settings = RuntimeSettings {
        // No cache: the component must really be compiled.
        cache_dir: None,
        compile_budget: Duration::from_millis(1),
        ..RuntimeSettings::default()
    };
    let runtime = Arc::new(Runtime::new(settings, HostServices::in_memory()).unwrap());
    let error = runtime
        .configure_plugin(support::entry(
            "example",
            EXAMPLE,
            LimitsOverride::default(),
        ))
        .await
        .expect_err("no component compiles in a millisecond");
    assert!(
        error.to_string().contains("longer than the 1ms budget"),
        "{error}"
    );
}

//! Hot swap: atomic, whole-version calls, validation off the request path, rollback, file watch.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postd_host::capability::CallContext;
use postd_host::capability::vault::{MemorySecretStore, SecretScope};
use postd_host::config::LimitsOverride;
use postd_host::runtime::{Answer, HostServices, PluginWatcher};
use postd_test_artifacts::{EXAMPLE, EXAMPLE_NEXT, bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::support::{self, TENANT, manifest_versions, publish};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_calls_during_five_swaps_all_succeed_on_whole_versions() {
    let runtime = support::runtime();
    let limits = LimitsOverride {
        max_concurrency: Some(200),
        ..Default::default()
    };
    runtime
        .configure_plugin(support::entry("example", EXAMPLE, limits))
        .await
        .unwrap();
    let versions = [bytes(EXAMPLE_NEXT), bytes(EXAMPLE)];

    let mut calls = Vec::new();
    for wave in 0..5 {
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..40 {
            let (runtime, finished) = (runtime.clone(), finished.clone());
            calls.push(tokio::spawn(async move {
                let result = manifest_versions(&runtime, "example").await;
                finished.fetch_add(1, Ordering::SeqCst);
                result
            }));
        }
        // Let this wave start serving on the current version, then swap under it.
        while finished.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let status = runtime
            .install("example", versions[wave % 2].clone())
            .await
            .expect("swap validates");
        assert_eq!(status.swaps, wave as u64 + 1);
    }

    let mut seen = BTreeSet::new();
    for call in calls {
        let (reported, served_by) = call.await.unwrap().expect("no call fails during swaps");
        assert_eq!(
            reported, served_by,
            "a call's answer comes from the version that served it"
        );
        seen.insert(reported);
    }
    assert_eq!(
        seen,
        BTreeSet::from(["0.1.0".to_string(), "0.2.0".to_string()])
    );
    assert_eq!(
        runtime.status("example").unwrap().version.as_deref(),
        Some("0.2.0")
    );
}

/// A one-request HTTP server that answers only when told to.
async fn held_server() -> (u16, oneshot::Sender<()>, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (release, released) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let n = socket.read(&mut request).await.unwrap();
        released.await.unwrap();
        let body = r#"{"id":"post-1","url":"http://127.0.0.1/post-1"}"#;
        let answer = format!(
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request[..n]).into_owned()
    });
    (port, release, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_call_finishes_on_the_version_it_began_with() {
    let secrets = Arc::new(MemorySecretStore::default());
    let scope = SecretScope::new(TENANT, "example", "conn-1");
    secrets.insert(&scope, "api-key", "key-for-the-example-api");
    let services = HostServices {
        secrets: secrets.clone(),
        ..HostServices::in_memory()
    };
    let runtime = support::runtime_with(&support::shared_cache(), services);

    let (port, release, server) = held_server().await;
    let mut entry = support::entry("example", EXAMPLE, LimitsOverride::default());
    entry.allowed_hosts = vec![format!("http://127.0.0.1:{port}")];
    entry.allowed_ranges = vec!["127.0.0.1/32".into()];
    entry
        .settings
        .insert("base-url".into(), format!("http://127.0.0.1:{port}"));
    runtime.configure_plugin(entry).await.unwrap();

    let in_flight = tokio::spawn({
        let runtime = runtime.clone();
        async move {
            let context = CallContext::tenant(TENANT)
                .with_connection("conn-1")
                .with_job("job-1");
            runtime.invoke("example", context, publish("hello")).await
        }
    });
    while runtime.status("example").unwrap().running == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    runtime
        .install("example", bytes(EXAMPLE_NEXT))
        .await
        .unwrap();
    assert_eq!(
        manifest_versions(&runtime, "example").await.unwrap().1,
        "0.2.0",
        "new calls get the new version"
    );

    release.send(()).unwrap();
    let served = in_flight
        .await
        .unwrap()
        .expect("the in-flight publish completes");
    assert_eq!(&*served.version, "0.1.0");
    assert!(
        matches!(served.answer, Answer::Publish(Ok(_))),
        "{:?}",
        served.answer
    );
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /posts HTTP/1.1"), "{request}");
    assert!(
        request.contains("authorization: Bearer key-for-the-example-api"),
        "{request}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_returns_to_the_previous_version_and_back() {
    let runtime = support::runtime();
    support::serve(&runtime, "example", EXAMPLE).await;
    assert!(
        runtime.rollback("example").is_none(),
        "nothing to roll back to yet"
    );
    runtime
        .install("example", bytes(EXAMPLE_NEXT))
        .await
        .unwrap();

    let status = runtime
        .rollback("example")
        .expect("a previous version exists");
    assert_eq!(status.version.as_deref(), Some("0.1.0"));
    assert_eq!(status.previous_version.as_deref(), Some("0.2.0"));
    assert_eq!(
        manifest_versions(&runtime, "example").await.unwrap().1,
        "0.1.0"
    );

    let status = runtime.rollback("example").unwrap();
    assert_eq!(status.version.as_deref(), Some("0.2.0"));
}

async fn wait_for_version(runtime: &postd_host::runtime::Runtime, version: &str) {
    // Bounded wait for the watcher; generous because CI machines are shared.
    for _ in 0..400 {
        if runtime.status("example").unwrap().version.as_deref() == Some(version) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the watcher did not install {version}: {:?}",
        runtime.status("example")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_in_the_plugin_directory_is_swapped_in_and_a_broken_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.wasm");
    std::fs::write(&path, bytes(EXAMPLE)).unwrap();
    let runtime = support::runtime();
    runtime
        .configure_plugin(support::entry("example", &path, LimitsOverride::default()))
        .await
        .unwrap();
    let _watcher = PluginWatcher::start(runtime.clone(), dir.path()).unwrap();

    std::fs::write(&path, bytes(EXAMPLE_NEXT)).unwrap();
    wait_for_version(&runtime, "0.2.0").await;

    // A truncated write is refused; 0.2.0 keeps serving and the reason is recorded.
    let next = bytes(EXAMPLE);
    std::fs::write(&path, &next[..next.len() / 3]).unwrap();
    for _ in 0..400 {
        if runtime.status("example").unwrap().last_error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = runtime.status("example").unwrap();
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("not a valid WebAssembly component"),
        "{status:?}"
    );
    assert_eq!(
        manifest_versions(&runtime, "example").await.unwrap().1,
        "0.2.0"
    );

    // Finishing the write fixes it.
    std::fs::write(&path, &next).unwrap();
    wait_for_version(&runtime, "0.1.0").await;
}

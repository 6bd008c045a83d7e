//! Operations: liveness, readiness, metrics, the OpenAPI document, the binary itself.

use super::*;

#[tokio::test]
async fn operations_metrics_and_the_openapi_document_match_the_routes() {
    let (h, api, key) = setup().await;
    connect(&api, &key).await;
    assert_eq!(
        api.send(api.request(Method::GET, "/livez", None))
            .await
            .status,
        StatusCode::OK
    );
    let ready = api.send(api.request(Method::GET, "/readyz", None)).await;
    assert_eq!(
        (ready.status, ready.json["database"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{ready:?}"
    );
    let metrics = api.send(api.request(Method::GET, "/metrics", None)).await;
    let text = metrics.json.as_str().unwrap();
    for series in [
        "postd_http_requests_total{",
        "postd_jobs",
        "postd_dead_letters ",
        "postd_fuel_consumed_total{tenant=\"acme\",plugin=\"pipeline\"}",
        "postd_egress_request_duration_seconds_bucket{plugin=\"pipeline\"",
        "postd_token_expiry_seconds ",
        "postd_plugin_swaps_total{plugin=\"pipeline\"}",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    let document = api
        .send(api.request(Method::GET, "/openapi.json", None))
        .await
        .json;
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        OPERATIONS.len()
    );
    // Every documented operation is routed, and guarded as documented.
    for op in OPERATIONS {
        let path = op
            .path
            .replace("{id}", "x1")
            .replace("{plugin}", "pipeline")
            .replace("{tenant}", "acme");
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let answer = api.send(api.request(method, &path, None)).await;
        assert_ne!(
            answer.code(),
            "no-route",
            "{} {} is documented but not routed",
            op.method,
            op.path
        );
        if op.access != Access::Public {
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{} {} without a key",
                op.method,
                op.path
            );
        }
        assert!(paths[op.path][op.method].is_object());
    }
    drop(h);
}

#[tokio::test]
async fn the_binary_serves_the_api_with_a_first_tenant_and_stops_gracefully() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A plugin whose manifest() blocks: the API must answer while it loads, and its failure
    // must not keep the replica out of service.
    std::fs::write(
        dir.path().join("plugins.toml"),
        format!(
            "[plugins.hostile]\npath = {:?}\nsettings = {{ manifest = \"sleep\" }}\n",
            postd_test_artifacts::HOSTILE
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(["run", "--plugins"])
        .arg(dir.path().join("plugins.toml"))
        .env("POSTD_DATA_DIR", dir.path())
        .env("POSTD_LISTEN", format!("127.0.0.1:{port}"))
        .env("POSTD_LOG", "warn")
        .env("POSTD_SHUTDOWN_DELAY_SECS", "5")
        .env_remove("POSTD_DATABASE_URL")
        .env_remove("POSTD_REDIS_URL")
        .env_remove("POSTD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first start prints the default tenant's key. The pipe is read to its end, so the host
    // never writes into a closed pipe.
    let stdout = child.stdout.take().unwrap();
    let (found, key) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.trim().strip_prefix("pdk_")
                && let Some(found) = found.take()
            {
                let _ = found.send(format!("pdk_{rest}"));
            }
        }
    });
    let key = key.await.expect("the first tenant's key is printed");
    let api = Api {
        url: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
    };
    crate::support::eventually(
        std::time::Duration::from_secs(30),
        "the API to answer",
        || async {
            api.client
                .get(format!("{}/livez", api.url))
                .send()
                .await
                .is_ok()
        },
    )
    .await;
    assert_eq!(api.get("/v1/connections", &key).await.json, json!([]));
    let loading = api.send(api.request(Method::GET, "/readyz", None)).await;
    assert_eq!(
        (loading.status, loading.json["plugins"]["hostile"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("loading")),
        "the API answers before the plugins loaded: {loading:?}"
    );
    // The replica is ready once no first load is running, whether it served or failed.
    crate::support::eventually(
        std::time::Duration::from_secs(60),
        "the host to be ready",
        || async {
            api.send(api.request(Method::GET, "/readyz", None))
                .await
                .status
                == StatusCode::OK
        },
    )
    .await;
    let ready = api.send(api.request(Method::GET, "/readyz", None)).await;
    assert_eq!(
        ready.json["plugins"]["hostile"].as_str(),
        Some("not-loaded"),
        "{ready:?}"
    );
    // SIGTERM, as Kubernetes, systemd and Docker send it: readiness fails at once while
    // requests are still served for the delay, then the process drains and exits 0.
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    crate::support::eventually(
        std::time::Duration::from_secs(4),
        "readiness to fail while draining",
        || async {
            let ready = api.send(api.request(Method::GET, "/readyz", None)).await;
            ready.status == StatusCode::SERVICE_UNAVAILABLE && ready.json["draining"] == true
        },
    )
    .await;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_keeps_its_files_private_and_the_first_key_out_of_the_log() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    // A fresh data directory, created by the host.
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // One plugin, so the compile cache holds a compiled component.
    let plugins = dir.path().join("plugins.toml");
    std::fs::write(
        &plugins,
        format!(
            "[plugins.pipeline]\npath = {:?}\n",
            postd_test_artifacts::PIPELINE
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("host.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(["run", "--plugins"])
        .arg(&plugins)
        .env("POSTD_DATA_DIR", &data)
        .env("POSTD_LISTEN", format!("127.0.0.1:{port}"))
        // Everything the host and its database driver log, at every level.
        .env("POSTD_LOG", "info,postd_host=trace,sqlx=trace")
        .env_remove("POSTD_DATABASE_URL")
        .env_remove("POSTD_CACHE_DIR")
        .env_remove("POSTD_REDIS_URL")
        .env_remove("POSTD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (found, key) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.trim().strip_prefix("pdk_")
                && let Some(found) = found.take()
            {
                let _ = found.send(format!("pdk_{rest}"));
            }
        }
    });
    let key = key.await.expect("the first tenant's key is printed");
    let api = Api {
        url: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
    };
    crate::support::eventually(
        std::time::Duration::from_secs(120),
        "the API to answer",
        || async {
            api.client
                .get(format!("{}/livez", api.url))
                .send()
                .await
                .is_ok()
        },
    )
    .await;
    assert_eq!(
        api.get("/v1/connections", &key).await.status,
        StatusCode::OK
    );
    // Plugins load behind the live API: the cache is written once the replica is ready.
    crate::support::eventually(
        std::time::Duration::from_secs(120),
        "the plugin to load",
        || async {
            api.send(api.request(Method::GET, "/readyz", None))
                .await
                .json["plugins"]["pipeline"]
                == "serving"
        },
    )
    .await;

    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("vault.key")), 0o600, "the local key");
    let cache = data.join("cache");
    assert_eq!(mode(&cache), 0o700, "the compile cache");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!cached.is_empty(), "the plugin was compiled into the cache");
    let databases: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("postd.db")
        })
        .collect();
    assert!(databases.iter().any(|p| p.ends_with("postd.db")));
    for file in cached.iter().chain(&databases) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    let logged = std::fs::read_to_string(dir.path().join("host.log")).unwrap();
    assert!(
        logged.contains("postd-host running"),
        "the log was captured"
    );
    assert!(
        !logged.contains(&key) && !logged.contains(&key[4..]),
        "the first tenant's key is in the log"
    );
}

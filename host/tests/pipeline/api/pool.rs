//! The instance pool of the real binary: on by default and sized from `plugins.toml`, a plugin
//! configured over its slots refused (admin API and plugin file alike) rather than failing at
//! call time, and a pool the machine cannot reserve stopping the host at start with an error
//! that names what to lower.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::binary::HostProcess;
use super::*;

async fn admin(host: &HostProcess, method: Method, path: &str, body: Option<&str>) -> Answer {
    let mut request = host.api.request(method, path, Some(ADMIN_KEY));
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    host.api.send(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_pools_instances_and_refuses_plugins_over_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    // The largest memory_mb is 64 (the default): slots of 128 MiB.
    let plugins = format!(
        "[plugins.example]\npath = {:?}\n",
        postd_test_artifacts::EXAMPLE
    );
    let host = HostProcess::start(
        dir.path(),
        dir.path(),
        &plugins,
        &[("POSTD_ADMIN_KEY", ADMIN_KEY)],
        Stdio::inherit(),
    )
    .await;
    crate::support::eventually(Duration::from_secs(60), "example to serve", || async {
        admin(&host, Method::GET, "/admin/plugins", None).await.json[0]["version"].is_string()
    })
    .await;
    let path = format!("path = {:?}\n", postd_test_artifacts::EXAMPLE);

    // Within the pool's margin: applied live.
    let raised = admin(
        &host,
        Method::PUT,
        "/admin/plugins/example/config",
        Some(&format!("{path}limits = {{ memory_mb = 128 }}\n")),
    )
    .await;
    assert_eq!(raised.status, StatusCode::OK, "{raised:?}");

    // Over it: refused with what to do, nothing applied.
    let refused = admin(
        &host,
        Method::PUT,
        "/admin/plugins/example/config",
        Some(&format!("{path}limits = {{ memory_mb = 512 }}\n")),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-configuration"),
        "{refused:?}"
    );
    let message = refused.json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("memory_mb = 512")
            && message.contains("128 MiB")
            && message.contains("instance_allocation"),
        "{message}"
    );
    let config = admin(&host, Method::GET, "/admin/plugins/example/config", None).await;
    assert!(
        config.json.to_string().contains("memory_mb = 128"),
        "{config:?}"
    );

    // A plugin file asking for more is refused whole; the running configuration stays.
    std::fs::write(
        dir.path().join("plugins.toml"),
        format!("{plugins}limits = {{ memory_mb = 1024 }}\n"),
    )
    .unwrap();
    crate::support::eventually(
        Duration::from_secs(30),
        "the file to be refused",
        || async {
            admin(&host, Method::GET, "/admin/config", None).await.json["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("memory_mb = 1024"))
        },
    )
    .await;
    let served = admin(&host, Method::GET, "/admin/plugins", None).await;
    assert!(served.json[0]["version"].is_string(), "{served:?}");
    host.signal("-TERM");
    assert!(host.exited_cleanly().await);
}

#[tokio::test]
async fn an_instance_pool_the_machine_cannot_reserve_stops_the_host_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // 100,001 instances, two memory slots of 4 GiB of address space each: 800 TiB, past what
    // a 64-bit process can map.
    let plugins = dir.path().join("plugins.toml");
    std::fs::write(
        &plugins,
        format!(
            "[plugins.example]\npath = {:?}\nlimits = {{ max_concurrency = 100000 }}\n",
            postd_test_artifacts::EXAMPLE
        ),
    )
    .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_postd-host"));
        for inherited in ["POSTD_DATABASE_URL", "POSTD_CACHE_DIR", "POSTD_REDIS_URL"] {
            command.env_remove(inherited);
        }
        command
            .args(["run", "--plugins"])
            .arg(&plugins)
            .env("POSTD_CONFIG", "")
            .env("POSTD_DATA_DIR", dir.path().join("data"))
            .env("POSTD_LISTEN", "127.0.0.1:0")
            .env("POSTD_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for named in [
        "cannot reserve an instance pool of 100034 instances",
        "max_concurrency",
        "memory_mb",
        "instance_allocation = \"on-demand\"",
        "POSTD_INSTANCE_ALLOCATION",
    ] {
        assert!(stderr.contains(named), "`{named}` missing from: {stderr}");
    }
}

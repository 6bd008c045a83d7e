//! Plugins as fleet state, through two real `postd-host` processes on one PostgreSQL database:
//! an upload to one serves on both within seconds and survives a restart of both; a rollback
//! on one reaches the other; a refused upload changes nothing anywhere.

use std::process::Stdio;
use std::time::Duration;

use super::binary::HostProcess;
use super::*;
use crate::support::backend::Database;

async fn serving_version(host: &HostProcess) -> Option<String> {
    let plugins = host
        .api
        .send(
            host.api
                .request(Method::GET, "/admin/plugins", Some(ADMIN_KEY)),
        )
        .await;
    plugins.json[0]["version"].as_str().map(str::to_string)
}

async fn both_serve(a: &HostProcess, b: &HostProcess, version: &str, what: &str) {
    // Generous: a first start compiles the component (a debug build, on a loaded machine).
    crate::support::eventually(Duration::from_secs(120), what, || async {
        serving_version(a).await.as_deref() == Some(version)
            && serving_version(b).await.as_deref() == Some(version)
    })
    .await;
}

#[tokio::test]
async fn an_upload_reaches_every_replica_and_survives_their_restart() {
    let db = Database::create(Kind::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let plugins = format!(
        "[plugins.pipeline]\npath = {:?}\n",
        postd_test_artifacts::PIPELINE
    );
    let env = [
        ("POSTD_DATABASE_URL", db.url.as_str()),
        ("POSTD_ADMIN_KEY", ADMIN_KEY),
    ];
    let start = async |key: Option<&str>| match key {
        None => HostProcess::start(&a_dir, &a_dir, &plugins, &env, Stdio::inherit()).await,
        Some(key) => HostProcess::restart(&a_dir, &a_dir, &plugins, &env, key).await,
    };
    let a = start(None).await;
    let key = a.key.clone();
    let b = HostProcess::restart(&b_dir, &b_dir, &plugins, &env, &key).await;
    both_serve(
        &a,
        &b,
        "0.1.0",
        "both replicas to serve the file's component",
    )
    .await;

    let next = std::fs::read(postd_test_artifacts::PIPELINE_NEXT).unwrap();
    let uploaded = a
        .api
        .send(
            a.api
                .request(Method::PUT, "/admin/plugins/pipeline", Some(ADMIN_KEY))
                .body(next),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{uploaded:?}");
    let version = uploaded.json["version"].as_str().unwrap().to_string();
    assert_ne!(version, "0.1.0");
    assert_eq!(serving_version(&a).await.as_deref(), Some(version.as_str()));
    // Notified, not polled: well within the 5 s poll.
    both_serve(&a, &b, &version, "the other replica to serve the upload").await;

    // A restart of both keeps the upload, whatever the plugin file holds.
    for host in [a, b] {
        host.signal("-TERM");
        assert!(host.exited_cleanly().await);
    }
    let a = start(Some(&key)).await;
    let b = HostProcess::restart(&b_dir, &b_dir, &plugins, &env, &key).await;
    both_serve(
        &a,
        &b,
        &version,
        "both replicas to serve the upload after a restart",
    )
    .await;

    // A rollback on one replica reaches the other.
    let rolled = b
        .api
        .send(b.api.request(
            Method::POST,
            "/admin/plugins/pipeline/rollback",
            Some(ADMIN_KEY),
        ))
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{rolled:?}");
    assert_eq!(rolled.json["version"], "0.1.0");
    both_serve(&a, &b, "0.1.0", "the rollback to reach the other replica").await;

    // A component that does not validate is refused and stored nowhere.
    let refused = b
        .api
        .send(
            b.api
                .request(Method::PUT, "/admin/plugins/pipeline", Some(ADMIN_KEY))
                .body(b"\0asm not a component".to_vec()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(serving_version(&a).await.as_deref(), Some("0.1.0"));
    for host in [a, b] {
        host.signal("-TERM");
        assert!(host.exited_cleanly().await);
    }
}

async fn admin_json(
    host: &HostProcess,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Answer {
    let mut request = host.api.request(method, path, Some(ADMIN_KEY));
    if let Some(body) = body {
        request = request.body(body);
    }
    host.api.send(request).await
}

/// Whether the default tenant may use `plugin` on `host`, and what decides.
async fn enablement(host: &HostProcess, plugin: &str) -> Option<(bool, String)> {
    let listed = admin_json(host, Method::GET, "/admin/tenants/default/plugins", None).await;
    listed
        .json
        .as_array()?
        .iter()
        .find(|p| p["plugin"] == plugin)
        .map(|p| {
            (
                p["enabled"].as_bool().unwrap(),
                p["source"].as_str().unwrap().to_string(),
            )
        })
}

async fn serves(host: &HostProcess, plugin: &str) -> bool {
    let listed = admin_json(host, Method::GET, "/admin/plugins", None).await;
    listed.json.as_array().is_some_and(|all| {
        all.iter()
            .any(|p| p["id"] == plugin && p["status"] == "serving")
    })
}

/// Polls `check` on both replicas until it holds on both.
async fn on_both(
    a: &HostProcess,
    b: &HostProcess,
    what: &str,
    check: impl AsyncFn(&HostProcess) -> bool,
) {
    crate::support::eventually(Duration::from_secs(90), what, || async {
        check(a).await && check(b).await
    })
    .await;
}

#[tokio::test]
async fn configuration_changes_reach_every_replica_without_a_restart() {
    let db = Database::create(Kind::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    // One plugin file for both replicas, as a mounted ConfigMap is; each its own data.
    let (a_data, b_data) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_data).unwrap();
    std::fs::create_dir_all(&b_data).unwrap();
    let pipeline = postd_test_artifacts::PIPELINE;
    let first = format!("[plugins.pipeline]\npath = {pipeline:?}\n");
    let env = [
        ("POSTD_DATABASE_URL", db.url.as_str()),
        ("POSTD_ADMIN_KEY", ADMIN_KEY),
    ];
    let a = HostProcess::start(dir.path(), &a_data, &first, &env, Stdio::inherit()).await;
    let b = HostProcess::restart(dir.path(), &b_data, &first, &env, &a.key).await;
    on_both(&a, &b, "the plugin to serve", async |h| {
        serves(h, "pipeline").await
    })
    .await;
    let file = dir.path().join("plugins.toml");

    // An edit of the file: a tenant list that leaves `default` out, and a new plugin.
    std::fs::write(
        &file,
        format!(
            "[plugins.pipeline]\npath = {pipeline:?}\ntenants = [\"someone-else\"]\n\n\
             [plugins.second]\npath = {pipeline:?}\ncomponent = \"pipeline\"\n"
        ),
    )
    .unwrap();
    on_both(&a, &b, "the file's tenant list", async |h| {
        enablement(h, "pipeline").await == Some((false, "plugins.toml".into()))
    })
    .await;
    on_both(&a, &b, "the new plugin", async |h| {
        serves(h, "second").await
    })
    .await;

    // A configuration set through the admin API of one replica replaces the file's entry on both.
    let set = admin_json(
        &a,
        Method::PUT,
        "/admin/plugins/pipeline/config",
        Some(format!("path = {pipeline:?}\ntenants = [\"*\"]\n")),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.json["source"], "api");
    on_both(&a, &b, "the API's tenant list", async |h| {
        enablement(h, "pipeline").await == Some((true, "plugins.toml".into()))
    })
    .await;
    let seen = admin_json(&b, Method::GET, "/admin/plugins/pipeline/config", None).await;
    assert_eq!(seen.json["source"], "api", "{seen:?}");
    // A plugin only the API names appears on both.
    let extra = admin_json(
        &b,
        Method::PUT,
        "/admin/plugins/extra/config",
        Some(format!("path = {pipeline:?}\ncomponent = \"pipeline\"\n")),
    )
    .await;
    assert_eq!(extra.status, StatusCode::OK, "{extra:?}");
    on_both(&a, &b, "the plugin the API added", async |h| {
        serves(h, "extra").await
    })
    .await;

    // Refused configurations change nothing.
    for body in [
        "secrets = { token = { value = \"in-the-database\" } }".to_string(),
        "bogus = 1".to_string(),
        "allowed_hosts = [\"ftp://x\"]".to_string(),
        "tenants = ".to_string(),
    ] {
        let refused = admin_json(
            &a,
            Method::PUT,
            "/admin/plugins/pipeline/config",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-configuration"),
            "{body}: {refused:?}"
        );
    }
    assert_eq!(
        enablement(&a, "pipeline").await,
        Some((true, "plugins.toml".into()))
    );
    // A new plugin without a component on the host is refused, and appears nowhere.
    let ghost = admin_json(
        &a,
        Method::PUT,
        "/admin/plugins/ghost/config",
        Some("path = \"/nonexistent/ghost.wasm\"\n".into()),
    )
    .await;
    assert_eq!(
        (ghost.status, ghost.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-configuration"),
        "{ghost:?}"
    );
    let listed = admin_json(&b, Method::GET, "/admin/plugins", None).await;
    assert!(!listed.json.to_string().contains("ghost"), "{listed:?}");

    // Removing the API's configuration brings the file's entry back, on both.
    let cleared = admin_json(&a, Method::DELETE, "/admin/plugins/pipeline/config", None).await;
    assert_eq!(cleared.status, StatusCode::OK, "{cleared:?}");
    on_both(&a, &b, "the file's entry again", async |h| {
        enablement(h, "pipeline").await == Some((false, "plugins.toml".into()))
    })
    .await;

    // A broken file is refused whole: the reason is shown, the running configuration stays.
    std::fs::write(&file, "[plugins.pipeline\npath = 3\n").unwrap();
    on_both(&a, &b, "the broken file to be refused", async |h| {
        admin_json(h, Method::GET, "/admin/config", None).await.json["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("plugins.toml"))
    })
    .await;
    for host in [&a, &b] {
        assert!(serves(host, "second").await && serves(host, "extra").await);
        assert_eq!(
            enablement(host, "pipeline").await,
            Some((false, "plugins.toml".into()))
        );
    }
    for host in [a, b] {
        host.signal("-TERM");
        assert!(host.exited_cleanly().await);
    }
}

/// Kubernetes updates a mounted ConfigMap by swapping a `..data` symlink beside the file, so
/// no event names `plugins.toml`; the host's poll reads the file's bytes and applies the change.
#[tokio::test]
async fn a_configmap_style_update_no_watcher_reports_applies_at_the_poll() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let pipeline = postd_test_artifacts::PIPELINE;
    let first = format!("[plugins.pipeline]\npath = {pipeline:?}\n");
    let env = [("POSTD_ADMIN_KEY", ADMIN_KEY)];
    let host = HostProcess::start(&config, &data, &first, &env, Stdio::inherit()).await;
    crate::support::eventually(Duration::from_secs(90), "the plugin to serve", || async {
        serves(&host, "pipeline").await
    })
    .await;

    // The layout the kubelet makes: plugins.toml -> ..data/plugins.toml, ..data -> a version.
    let version = |name: &str, text: &str| {
        std::fs::create_dir_all(config.join(name)).unwrap();
        std::fs::write(config.join(name).join("plugins.toml"), text).unwrap();
    };
    let swap = |link: &str, target: &str| {
        let tmp = config.join(format!("{link}_tmp"));
        std::os::unix::fs::symlink(target, &tmp).unwrap();
        std::fs::rename(&tmp, config.join(link)).unwrap();
    };
    version("..v1", &first);
    swap("..data", "..v1");
    swap("plugins.toml", "..data/plugins.toml");
    assert_eq!(
        enablement(&host, "pipeline").await,
        Some((true, "plugins.toml".into()))
    );
    // The watcher reads the file once its events settle (the swap above named plugins.toml).
    tokio::time::sleep(Duration::from_secs(1)).await;

    // An update: a new version, then `..data` swapped to it. Nothing names plugins.toml.
    version(
        "..v2",
        &format!("[plugins.pipeline]\npath = {pipeline:?}\ntenants = [\"someone-else\"]\n"),
    );
    swap("..data", "..v2");
    crate::support::eventually(Duration::from_secs(30), "the new tenant list", || async {
        enablement(&host, "pipeline").await == Some((false, "plugins.toml".into()))
    })
    .await;

    // A broken version is refused once, with its reason; the running configuration stays.
    version("..v3", "[plugins.pipeline\n");
    swap("..data", "..v3");
    crate::support::eventually(
        Duration::from_secs(30),
        "the broken file refused",
        || async {
            admin_json(&host, Method::GET, "/admin/config", None)
                .await
                .json["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("plugins.toml"))
        },
    )
    .await;
    assert_eq!(
        enablement(&host, "pipeline").await,
        Some((false, "plugins.toml".into()))
    );
    host.signal("-TERM");
    assert!(host.exited_cleanly().await);
}

/// Without PostgreSQL's notifications (SQLite), a replica reads the registry at the poll, not
/// in a loop: the follower once spun on its closed wake-up channel, reading the registry and
/// the plugin file thousands of times a second (a core's worth of CPU).
#[tokio::test]
async fn on_sqlite_the_registry_is_read_at_the_poll_and_not_in_a_loop() {
    let h = crate::support::Harness::new(Kind::Sqlite).await;
    let fleet = postd_host::fleet::FleetPlugins::new(h.store.clone(), h.runtime.clone());
    let follower = fleet.follow(None);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    follower.abort();
    let reads = fleet.registry_reads();
    assert!(
        reads <= 1,
        "{reads} registry reads in 1.5 s; the poll is every {:?}",
        postd_host::fleet::POLL
    );
}

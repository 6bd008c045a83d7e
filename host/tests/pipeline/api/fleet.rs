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
    crate::support::eventually(Duration::from_secs(30), what, || async {
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

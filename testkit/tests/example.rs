//! The test kit against the example connector (`connectors/example`): what a partner's tests
//! look like, and the kit's own promises (faults, what was sent, unmet expectations).

use std::time::Duration;

use postd_testkit::{ConnectorError, Harness, Platform, Reply, published_id};
use serde_json::json;

async fn example(platform: &Platform) -> Harness {
    let harness = Harness::builder(postd_test_artifacts::EXAMPLE)
        .setting("base-url", &platform.url())
        .against(platform)
        .start()
        .await;
    harness.connection_secret("api-key", "key-1");
    harness
}

#[tokio::test]
async fn a_publish_sends_the_post_and_reads_the_platforms_id() {
    let platform = Platform::start().await;
    platform.expect("POST", "/posts").reply(Reply::json(
        201,
        json!({"id": "p-1", "url": "https://example.test/p-1"}),
    ));
    let harness = example(&platform).await;
    assert_eq!(harness.manifest().id, "example");

    let outcome = harness
        .publish(json!({"account-id": "acct-1", "text": "hello"}))
        .await
        .expect("published");
    assert_eq!(published_id(&outcome), Some("p-1"));
    let sent = &platform.requests_to("POST", "/posts")[0];
    assert_eq!(sent.header("authorization"), Some("Bearer key-1"));
    assert_eq!(sent.json()["account"], "acct-1");
    assert_eq!(sent.json()["text"], "hello");
    platform.verify();
}

#[tokio::test]
async fn platform_faults_reach_the_connector_as_the_contracts_errors() {
    let platform = Platform::start().await;
    platform
        .expect("POST", "/posts")
        .reply(Reply::status(401))
        .reply(Reply::json(503, json!({"error": "busy"})))
        .reply(Reply::drop_connection())
        .reply(Reply::status(429).with_header("retry-after", "7"));
    let harness = example(&platform).await;
    let post = json!({"account-id": "acct-1", "text": "hello"});

    let unauthorized = harness.publish(post.clone()).await.unwrap_err();
    assert!(
        matches!(unauthorized, ConnectorError::AuthExpired(_)),
        "{unauthorized:?}"
    );
    let unavailable = harness.publish(post.clone()).await.unwrap_err();
    assert!(
        matches!(unavailable, ConnectorError::Transient(_)),
        "{unavailable:?}"
    );
    let lost = harness.publish(post.clone()).await.unwrap_err();
    assert!(matches!(lost, ConnectorError::Transient(_)), "{lost:?}");
    let limited = harness.publish(post).await.unwrap_err();
    match limited {
        ConnectorError::RateLimited(info) => assert_eq!(info.retry_after_ms, 7_000),
        other => panic!("not rate-limited: {other:?}"),
    }
    // The dropped request still reached the platform: that is what makes it a lost answer.
    assert_eq!(platform.requests_to("POST", "/posts").len(), 4);
    platform.verify();
}

#[tokio::test]
async fn a_request_nothing_expects_is_reported() {
    let platform = Platform::start().await;
    let harness = example(&platform).await;
    let error = harness.health(serde_json::Value::Null).await.unwrap_err();
    // The kit answers 501 naming the request, which the SDK reads as a passing failure.
    assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");
    let report = std::panic::catch_unwind(|| platform.verify()).unwrap_err();
    let message = report.downcast_ref::<String>().expect("a message");
    assert!(message.contains("unexpected request: GET /me"), "{message}");
}

#[tokio::test]
async fn a_reply_never_used_is_reported() {
    let platform = Platform::start().await;
    platform
        .expect("DELETE", "/posts/p-1")
        .reply(Reply::status(204));
    let _harness = example(&platform).await;
    let report = std::panic::catch_unwind(|| platform.verify()).unwrap_err();
    let message = report.downcast_ref::<String>().expect("a message");
    assert!(
        message.contains("DELETE /posts/p-1: 1 expected request(s) never came"),
        "{message}"
    );
}

#[tokio::test]
async fn egress_beyond_the_grants_is_refused_as_in_production() {
    let platform = Platform::start().await;
    // Granted nothing: the connector's request is refused by the host's egress guard.
    let harness = Harness::builder(postd_test_artifacts::EXAMPLE)
        .setting("base-url", &platform.url())
        .start()
        .await;
    harness.connection_secret("api-key", "key-1");
    let refused = harness
        .publish(json!({"account-id": "a", "text": "x"}))
        .await
        .unwrap_err();
    assert!(format!("{refused:?}").contains("127.0.0.1"), "{refused:?}");
    assert!(platform.requests().is_empty());
}

#[tokio::test]
async fn complete_auth_stores_the_key_in_the_connections_vault() {
    let platform = Platform::start().await;
    platform
        .expect("GET", "/me")
        .reply(Reply::json(200, json!({"id": "u-1", "name": "Ada"})));
    let harness = Harness::builder(postd_test_artifacts::EXAMPLE)
        .setting("base-url", &platform.url())
        .against(&platform)
        .start()
        .await;
    let info = harness
        .complete_auth(json!({"params": {"api-key": "key-2"}}))
        .await
        .expect("connected");
    assert_eq!(
        (info.external_id.as_str(), info.display_name.as_str()),
        ("u-1", "Ada")
    );
    assert_eq!(harness.stored_secret("api-key").as_deref(), Some("key-2"));
    platform.verify();
}

#[tokio::test]
async fn a_standing_reply_answers_every_request_after_its_delay() {
    let platform = Platform::start().await;
    platform.expect("GET", "/me").always(
        Reply::json(200, json!({"id": "u-1", "name": "Ada"})).after(Duration::from_millis(200)),
    );
    let harness = example(&platform).await;
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let report = harness
            .health(serde_json::Value::Null)
            .await
            .expect("healthy");
        assert_eq!(report.external_id, "u-1");
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "the delay was skipped"
        );
    }
    assert_eq!(platform.requests_to("GET", "/me").len(), 2);
    // A standing reply is never "unused".
    platform.verify();
}

#[test]
fn building_a_crate_that_is_not_a_cdylib_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"not-a-component\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let failure = std::panic::catch_unwind(|| postd_testkit::build_component(dir.path()))
        .expect_err("no component can come out of an rlib crate");
    let message = failure.downcast_ref::<String>().expect("a message");
    assert!(message.contains("crate-type = [\"cdylib\"]"), "{message}");
}

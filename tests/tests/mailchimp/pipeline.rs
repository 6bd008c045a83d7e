//! The connector driven by the host job pipeline, and the repository plugins file.

use super::*;

#[test]
fn the_repository_plugins_file_configures_mailchimp_for_the_sandbox() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
    let file = postd_host::config::PluginsFile::load(&path);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let entry = file.plugin("mailchimp").expect("a mailchimp entry");
    assert_eq!(entry.limits.max_concurrency, 10);
    assert!(entry.settings["api-base-url"].ends_with("/mailchimp/{dc}/3.0"));
    assert!(entry.secrets.contains_key("client-secret"));
    assert!(file.plugin("meta").is_some());
}

/// The Mailchimp connector behind the host's pipeline, on the sandbox.
pub(super) async fn piped_mailchimp() -> support::pipeline::Piped {
    support::pipeline::Piped::start(
        "mailchimp",
        postd_test_artifacts::MAILCHIMP,
        SandboxConfig::default(),
        |base, _| {
            (
                vec![
                    ("api-base-url", format!("{base}/mailchimp/{{dc}}/3.0")),
                    ("from-name", "Sandbox Shop".to_string()),
                    ("reply-to", "owner@example.com".to_string()),
                ],
                vec![],
            )
        },
    )
    .await
}

/// Connects the sandbox's us6 account with its API key as [`CONNECTION`].
pub(super) async fn connect_us6(piped: &support::pipeline::Piped) {
    piped
        .connect(
            CONNECTION,
            AuthCallback {
                params: vec![("api-key".into(), seed::MAILCHIMP_API_KEY_US6.into())],
                redirect_uri: String::new(),
            },
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_hands_a_scheduled_campaign_to_mailchimp_at_once() {
    use postd_host::store::{JobState, NewPost, PostContent, Target};
    let piped = piped_mailchimp().await;
    connect_us6(&piped).await;
    // Two days ahead, 5 minutes past a quarter hour.
    let at_ms = (piped.pipeline.now() / 900_000 + 192) * 900_000 + 300_000;
    let post = NewPost {
        idempotency_key: "campaign-1".into(),
        content: PostContent {
            text: "Weekend sale".into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: seed::MAILCHIMP_LIST_ID.into(),
        }],
        scheduled_for: Some(at_ms),
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let job_id = accepted.post().jobs[0].id.clone();
    assert_eq!(
        piped.pipeline.run_due().await,
        1,
        "natively scheduled: runs now, not at its time"
    );
    let job = piped
        .store
        .tenant(support::TENANT)
        .job(&job_id)
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    let log = piped.env.requests_since(0, PREFIX);
    let schedule = log
        .iter()
        .find(|r| r.path.ends_with("/actions/schedule"))
        .expect("scheduled on Mailchimp");
    let body: serde_json::Value =
        serde_json::from_str(schedule.body_text.as_deref().unwrap()).unwrap();
    let effective = at_ms / 1000 + 600;
    let expected = postd_sandbox::clock::rfc3339(effective);
    assert_eq!(
        body["schedule_time"]
            .as_str()
            .unwrap()
            .replace("+00:00", "Z"),
        expected,
        "rounded up to the next quarter hour"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_sent_through_the_sandbox_is_told_to_the_tenants_app() {
    use axum::http::HeaderMap;
    use postd_host::store::{NewPost, PostContent, Target};

    let mut piped = piped_mailchimp().await;
    piped.serve_api();
    // The tenant's app: records what it receives.
    let received: std::sync::Arc<std::sync::Mutex<Vec<(HeaderMap, axum::body::Bytes)>>> =
        Default::default();
    let app = axum::Router::new().route(
        "/postd",
        axum::routing::post({
            let received = received.clone();
            move |headers: HeaderMap, body: axum::body::Bytes| async move {
                received.lock().unwrap().push((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/postd", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let key = piped
        .store
        .tenant(support::TENANT)
        .create_api_key("test", piped.pipeline.now())
        .await
        .unwrap();
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/event-endpoints", piped.api_url))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(json!({ "url": receiver, "event_types": ["post.published"] }).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap();
    let secret = created["secret"].as_str().expect("a secret").to_string();

    connect_us6(&piped).await;
    let post = NewPost {
        idempotency_key: "campaign-now".into(),
        content: PostContent {
            text: "Flash sale, today only".into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: seed::MAILCHIMP_LIST_ID.into(),
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    assert_eq!(piped.pipeline.run_due().await, 1);
    assert_eq!(piped.pipeline.events().deliver_due().await, 1);

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(body, headers)
        .expect("the delivery verifies with the Standard Webhooks library");
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["type"], "post.published");
    assert_eq!(event["data"]["post_id"], accepted.post().id.as_str());
    assert_eq!(event["data"]["plugin"], "mailchimp");
    // The campaign id the sandbox gave, the one Mailchimp was told to send.
    let campaign = event["data"]["platform_post_id"].as_str().unwrap();
    let sent = piped.env.requests_since(0, PREFIX).into_iter().any(|r| {
        r.path
            .ends_with(&format!("/campaigns/{campaign}/actions/send"))
    });
    assert!(sent, "{event}");
}

//! The Mailchimp connector, built as a component, in the real host against the sandbox.

mod support;

use postd_host::runtime::Invocation;
use postd_host::runtime::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities, DeleteRequest,
    PublishOutcome, WebhookRequest,
};
use postd_host::runtime::wit::types::ConnectorError;
use postd_sandbox::webhooks::{DeliveryOptions, build_delivery};
use postd_sandbox::{FaultRule, Platform, SandboxConfig, seed};
use serde_json::json;
use support::{Env, expect_err, job, lines, post};

const CONNECTION: &str = "conn-mc";
const ACCOUNT_ID: &str = "8d3a3db4d97663a9074efcc16";
const PREFIX: &str = "/mailchimp/us6";

async fn env() -> Env {
    env_with(|_| {}).await
}

async fn env_with(tweak: impl FnOnce(&mut postd_host::config::PluginEntry)) -> Env {
    mailchimp_env(SandboxConfig::default(), vec![], tweak).await
}

const WEBHOOK_KEY: &str = "test-webhook-key";
const WEBHOOK_URL: &str = "https://hooks.postd.example/webhooks/mailchimp";

async fn mailchimp_env(
    config: SandboxConfig,
    extra_settings: Vec<(&'static str, String)>,
    tweak: impl FnOnce(&mut postd_host::config::PluginEntry),
) -> Env {
    Env::start_with(
        "mailchimp",
        postd_test_artifacts::MAILCHIMP,
        config,
        |base| {
            let mut settings = vec![
                ("api-base-url", format!("{base}/mailchimp/{{dc}}/3.0")),
                ("login-base-url", format!("{base}/mailchimp/login/oauth2")),
                ("client-id", seed::MAILCHIMP_CLIENT_ID.to_string()),
            ];
            settings.extend(extra_settings);
            (
                settings,
                vec![
                    ("client-secret", seed::MAILCHIMP_CLIENT_SECRET.to_string()),
                    ("webhook-key", WEBHOOK_KEY.to_string()),
                ],
            )
        },
        tweak,
    )
    .await
}

/// The URL secret of `account`, computed as the connector documents it.
fn url_secret(account: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_KEY.as_bytes()).unwrap();
    mac.update(format!("mailchimp-webhook:{account}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn connect(env: &Env, key: &str) -> Result<String, ConnectorError> {
    let callback = AuthCallback {
        params: vec![("api-key".into(), key.into())],
        redirect_uri: String::new(),
    };
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    reply!(served, CompleteAuth).map(|info| info.external_id)
}

fn campaign(text: &str) -> postd_host::runtime::wit::connector::Post {
    post(
        seed::MAILCHIMP_LIST_ID,
        text,
        &[
            ("subject", "November news"),
            ("from-name", "Sandbox Shop"),
            ("reply-to", "owner@example.com"),
        ],
    )
}

fn published(outcome: PublishOutcome) -> postd_host::runtime::wit::connector::Published {
    match outcome {
        PublishOutcome::Published(p) => p,
        other => panic!("expected published, got {other:?}"),
    }
}

#[tokio::test]
async fn manifest_declares_the_capability_matrix() {
    let env = env().await;
    let served = env.call(None, None, Invocation::Manifest).await;
    let postd_host::runtime::Answer::Manifest(manifest) = served.answer else {
        panic!("manifest answered {:?}", served.answer)
    };
    assert_eq!(manifest.id, "mailchimp");
    assert_eq!(manifest.auth, AuthKind::ApiKey);
    let expected = Capabilities::TEXT
        | Capabilities::LINK
        | Capabilities::IMAGE
        | Capabilities::NATIVE_SCHEDULING
        | Capabilities::DELETE
        | Capabilities::ANALYTICS
        | Capabilities::WEBHOOKS;
    assert_eq!(manifest.capabilities, expected);
    assert_eq!(
        manifest.refresh_before_expiry_secs, None,
        "keys never expire"
    );
    let budget = manifest.rate_budget.expect("a rate budget");
    assert_eq!((budget.requests, budget.per_seconds), (10, 1));
    assert!(manifest.schedule_window.is_some());
    assert_eq!(manifest.limits.max_video_bytes, None);
}

#[tokio::test]
async fn api_key_connection_lists_audiences_and_pings() {
    let env = env().await;
    assert_eq!(
        connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap(),
        ACCOUNT_ID
    );
    assert_eq!(
        env.secret(CONNECTION, "dc").await.as_deref(),
        Some("us6"),
        "the data centre comes from the key"
    );

    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts = reply!(served, ListAccounts).unwrap();
    let ids: Vec<_> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [seed::MAILCHIMP_LIST_ID, seed::MAILCHIMP_LIST2_ID]);
    assert!(accounts.iter().all(|a| a.kind == "audience"));

    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    assert_eq!(health.external_id, ACCOUNT_ID);
    assert_eq!(health.message, "Everything's Chimpy!");

    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    let expiry = reply!(served, Refresh).unwrap();
    assert_eq!(expiry.expires_at, None, "refresh is a no-op for keys");

    let log = env.requests_since(0, PREFIX);
    assert_eq!(
        lines(&log),
        ["GET /3.0/", "GET /3.0/lists", "GET /3.0/ping", "GET /3.0/",]
    );
    let auth = log[0].header("authorization").unwrap_or_default();
    assert!(auth.starts_with("Basic "), "API keys go as HTTP Basic");
    assert_eq!(
        log[1].query.as_deref(),
        Some("count=100&offset=0&fields=lists.id%2Clists.name%2Ctotal_items")
    );
}

#[tokio::test]
async fn a_malformed_key_is_invalid_input_and_nothing_is_sent() {
    let env = env().await;
    for key in [
        "not-a-key",
        "0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef-",
        "0123456789abcdef0123456789abcdef-us6/../../x",
    ] {
        let error = expect_err(connect(&env, key).await, key);
        let ConnectorError::InvalidInput(why) = error else {
            panic!("{key}: expected invalid-input, got {error:?}")
        };
        assert!(why.contains("malformed Mailchimp API key"), "{why}");
        assert!(!why.contains(key), "the reason must not repeat the key");
    }
    assert!(env.sandbox.requests(Some(Platform::Mailchimp)).is_empty());
}

#[tokio::test]
async fn a_revoked_key_is_auth_revoked() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    assert!(
        env.sandbox
            .revoke_token(Platform::Mailchimp, seed::MAILCHIMP_API_KEY_US6)
    );
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let error = expect_err(reply!(served, Health), "health after revocation");
    assert!(
        matches!(&error, ConnectorError::AuthRevoked(why) if why.contains("API Key Invalid")),
        "{error:?}"
    );
    // An injected 401 on a key that works (the "expired" reading) maps the same way: Mailchimp
    // keys do not expire, so only a reconnect helps.
    let env = self::env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    env.sandbox
        .inject(Platform::Mailchimp, rule("api_key_invalid", "/lists"))
        .unwrap();
    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    assert!(matches!(
        expect_err(reply!(served, ListAccounts), "injected 401"),
        ConnectorError::AuthRevoked(_)
    ));
}

fn rule(error: &str, path: &str) -> FaultRule {
    FaultRule {
        error: error.into(),
        count: 1,
        path_contains: Some(path.into()),
    }
}

#[tokio::test]
async fn oauth_connection_reads_its_data_centre_from_metadata() {
    let env = env().await;
    let redirect = "http://127.0.0.1:9/callback";
    let served = env
        .call(
            None,
            None,
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: "st-1".into(),
                redirect_uri: redirect.into(),
                scopes: vec![],
            }),
        )
        .await;
    let url = reply!(served, AuthorizeUrl).unwrap();
    assert!(
        url.contains("/mailchimp/login/oauth2/authorize?response_type=code&client_id=100000000001")
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = client.get(&url).send().await.unwrap();
    assert_eq!(consent.status().as_u16(), 302);
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_string();
    assert!(location.contains("state=st-1"));

    let since = env.last_request_id();
    let callback = AuthCallback {
        params: vec![("code".into(), code), ("state".into(), "st-1".into())],
        redirect_uri: redirect.into(),
    };
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    let info = reply!(served, CompleteAuth).unwrap();
    assert_eq!(info.external_id, ACCOUNT_ID);
    assert_eq!(info.expires_at, None, "Mailchimp tokens never expire");
    assert_eq!(env.secret(CONNECTION, "dc").await.as_deref(), Some("us6"));
    assert!(env.secret(CONNECTION, "api-key").await.is_none());
    let log = env.requests_since(since, "/mailchimp");
    assert_eq!(
        lines(&log),
        [
            "POST /login/oauth2/token",
            "GET /login/oauth2/metadata",
            "GET /us6/3.0/"
        ]
    );
    assert!(
        log[2]
            .header("authorization")
            .unwrap_or_default()
            .starts_with("Bearer ")
    );

    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    assert_eq!(reply!(served, ListAccounts).unwrap().len(), 2);
}

#[tokio::test]
async fn a_campaign_is_created_filled_and_sent_then_reported() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let since = env.last_request_id();
    let mut post = campaign("Hello <friends>\n\nOur November news.");
    post.link = Some("https://shop.example/news".into());
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-send"),
            Invocation::Publish(post, job("job-send", 1, None)),
        )
        .await;
    let recovery_point = served.recovery_point.clone();
    let published = published(reply!(served, Publish).unwrap());
    assert_eq!(recovery_point.as_deref(), Some(published.post_id.as_str()));
    assert_eq!(published.scheduled_for, None);
    assert!(published.url.is_some(), "the archive URL");

    let log = env.requests_since(since, PREFIX);
    let id = &published.post_id;
    assert_eq!(
        lines(&log),
        [
            "POST /3.0/campaigns".to_string(),
            format!("PUT /3.0/campaigns/{id}/content"),
            format!("POST /3.0/campaigns/{id}/actions/send"),
        ]
    );
    let created: serde_json::Value =
        serde_json::from_str(log[0].body_text.as_deref().unwrap()).unwrap();
    assert_eq!(created["type"], "regular");
    assert_eq!(created["recipients"]["list_id"], seed::MAILCHIMP_LIST_ID);
    assert_eq!(created["settings"]["subject_line"], "November news");
    assert_eq!(created["settings"]["reply_to"], "owner@example.com");
    let content: serde_json::Value =
        serde_json::from_str(log[1].body_text.as_deref().unwrap()).unwrap();
    let html = content["html"].as_str().unwrap();
    assert!(html.contains("Hello &lt;friends&gt;") && html.contains("https://shop.example/news"));

    env.sandbox
        .advance_clock(std::time::Duration::from_secs(120));
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: Some(id.clone()),
                since: 0,
                until: 0,
                metrics: vec![],
            }),
        )
        .await;
    let metrics = reply!(served, Analytics).unwrap();
    let value = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(value("emails_sent"), Some(3.0));
    assert!(value("unique_opens").is_some() && value("click_rate").is_some());

    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: None,
                since: 0,
                until: 0,
                metrics: vec!["member_count".into()],
            }),
        )
        .await;
    let metrics = reply!(served, Analytics).unwrap();
    assert_eq!(metrics.len(), 1);
    assert_eq!(
        (metrics[0].name.as_str(), metrics[0].value),
        ("member_count", 3.0)
    );
}

#[tokio::test]
async fn scheduling_rounds_up_to_the_quarter_hour_and_delete_unschedules() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Two hours ahead, then 7 minutes 13 seconds past a quarter hour.
    let on_quarter = (now / 900 + 8) * 900;
    let requested = on_quarter + 7 * 60 + 13;
    let effective = on_quarter + 900;
    let mut post = campaign("Coming soon");
    post.scheduled_for = Some(requested);
    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-sched"),
            Invocation::Publish(post, job("job-sched", 1, None)),
        )
        .await;
    let published = published(reply!(served, Publish).unwrap());
    assert_eq!(
        published.scheduled_for,
        Some(effective),
        "the effective time is reported"
    );
    let log = env.requests_since(since, PREFIX);
    let id = published.post_id.clone();
    assert_eq!(
        lines(&log).last().unwrap(),
        &format!("POST /3.0/campaigns/{id}/actions/schedule")
    );
    let body: serde_json::Value =
        serde_json::from_str(log.last().unwrap().body_text.as_deref().unwrap()).unwrap();
    let time = body["schedule_time"].as_str().unwrap();
    assert!(time.ends_with(":00+00:00"), "{time}");
    let minutes: u32 = time[14..16].parse().unwrap();
    assert_eq!(minutes % 15, 0, "{time} is on the quarter hour");

    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::DeletePost(DeleteRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: id.clone(),
            }),
        )
        .await;
    reply!(served, DeletePost).unwrap();
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        [
            format!("GET /3.0/campaigns/{id}"),
            format!("POST /3.0/campaigns/{id}/actions/unschedule"),
            format!("DELETE /3.0/campaigns/{id}"),
        ]
    );
}

#[tokio::test]
async fn a_retry_resumes_its_campaign_and_never_sends_twice() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    env.sandbox
        .inject(Platform::Mailchimp, rule("503", "/actions/send"))
        .unwrap();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-retry"),
            Invocation::Publish(campaign("Retry me"), job("job-retry", 1, None)),
        )
        .await;
    let point = served
        .recovery_point
        .clone()
        .expect("the campaign id is checkpointed");
    let error = expect_err(reply!(served, Publish), "send fails once");
    assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");

    for attempt in [2, 3] {
        let served = env
            .call(
                Some(CONNECTION),
                Some("job-retry"),
                Invocation::Publish(
                    campaign("Retry me"),
                    job("job-retry", attempt, Some(&point)),
                ),
            )
            .await;
        assert_eq!(published(reply!(served, Publish).unwrap()).post_id, point);
    }
    let log = lines(&env.sandbox.requests(Some(Platform::Mailchimp)));
    let creates = log.iter().filter(|l| l.ends_with("/3.0/campaigns")).count();
    let sends = log.iter().filter(|l| l.ends_with("/actions/send")).count();
    assert_eq!(creates, 1, "one campaign: {log:?}");
    assert_eq!(sends, 2, "the failed send and its one retry: {log:?}");
}

#[tokio::test]
async fn too_many_requests_is_rate_limited_with_a_wait() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    env.sandbox
        .inject(Platform::Mailchimp, rule("too_many_requests", "/lists"))
        .unwrap();
    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    match expect_err(reply!(served, ListAccounts), "429") {
        ConnectorError::RateLimited(info) => {
            assert_eq!(info.retry_after_ms, 5_000);
            assert!(info.reason.contains("Too Many Requests"), "{}", info.reason);
        }
        other => panic!("expected rate-limited, got {other:?}"),
    }
}

#[tokio::test]
async fn problem_json_errors_map_to_the_taxonomy() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    // An unknown audience: 400 Invalid Resource with the field named.
    let mut bad = campaign("To nowhere");
    bad.account_id = "nope".into();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-bad"),
            Invocation::Publish(bad, job("job-bad", 1, None)),
        )
        .await;
    let error = expect_err(reply!(served, Publish), "unknown audience");
    assert!(
        matches!(&error, ConnectorError::InvalidInput(why) if why.contains("recipients.list_id")),
        "{error:?}"
    );
    // Missing sender: refused before anything is sent.
    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-nosender"),
            Invocation::Publish(
                post(seed::MAILCHIMP_LIST_ID, "Hi", &[]),
                job("job-nosender", 1, None),
            ),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "no sender"),
        ConnectorError::InvalidInput(_)
    ));
    assert!(env.requests_since(since, PREFIX).is_empty());
    // 404 on a report, 500 anywhere.
    env.sandbox
        .inject(Platform::Mailchimp, rule("500", "/ping"))
        .unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "500"),
        ConnectorError::Transient(_)
    ));
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: Some("missing".into()),
                since: 0,
                until: 0,
                metrics: vec![],
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Analytics), "404"),
        ConnectorError::InvalidInput(why) if why.contains("Resource Not Found")
    ));
}

fn webhook(method: &str, query: &[(&str, &str)], body: Vec<u8>) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path: String::new(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body,
    }
}

#[tokio::test]
async fn connecting_registers_the_accounts_secret_url_on_every_audience_once() {
    let mut config = SandboxConfig::default();
    config.mailchimp.validate_webhook_url = false;
    let env = mailchimp_env(
        config,
        vec![("webhook-url", WEBHOOK_URL.to_string())],
        |_| {},
    )
    .await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let expected = format!(
        "{WEBHOOK_URL}?account={ACCOUNT_ID}&token={}",
        url_secret(ACCOUNT_ID)
    );
    let log = env.requests_since(0, PREFIX);
    let registrations: Vec<_> = log
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/webhooks"))
        .collect();
    assert_eq!(
        registrations
            .iter()
            .map(|r| r.path.as_str())
            .collect::<Vec<_>>(),
        [
            format!("/3.0/lists/{}/webhooks", seed::MAILCHIMP_LIST_ID),
            format!("/3.0/lists/{}/webhooks", seed::MAILCHIMP_LIST2_ID),
        ]
    );
    let body: serde_json::Value =
        serde_json::from_str(registrations[0].body_text.as_deref().unwrap()).unwrap();
    assert_eq!(body["url"], expected);
    assert_eq!(body["sources"]["api"], false);
    assert_eq!(body["events"]["unsubscribe"], true);

    // A second connection of the same account finds the URL there and registers nothing.
    let since = env.last_request_id();
    let callback = AuthCallback {
        params: vec![("api-key".into(), seed::MAILCHIMP_API_KEY_US6.into())],
        redirect_uri: String::new(),
    };
    let served = env
        .call(Some("conn-2"), None, Invocation::CompleteAuth(callback))
        .await;
    reply!(served, CompleteAuth).unwrap();
    assert!(
        !lines(&env.requests_since(since, PREFIX))
            .iter()
            .any(|l| l.starts_with("POST")),
        "registered once"
    );
}

#[tokio::test]
async fn webhooks_check_the_url_secret_in_constant_time_and_parse_form_events() {
    let env = env().await;
    let secret = url_secret(ACCOUNT_ID);

    let served = env
        .call(
            None,
            None,
            Invocation::WebhookChallenge(webhook("GET", &[], vec![])),
        )
        .await;
    assert_eq!(
        reply!(served, WebhookChallenge).unwrap().unwrap().status,
        200
    );

    let event = json!({
        "type": "unsubscribe",
        "data": {
            "id": "8a25ff1d98", "list_id": seed::MAILCHIMP_LIST_ID, "email": "ann@example.com",
            "action": "unsub", "reason": "manual", "campaign_id": "c1",
            "merges": {"FNAME": "Ann"},
        },
    });
    let delivery = build_delivery(
        Platform::Mailchimp,
        &event,
        &DeliveryOptions::default(),
        env.sandbox.now_unix(),
    )
    .unwrap();
    // As the host calls it: no connection, the URL's query as given.
    let good = webhook(
        "POST",
        &[("account", ACCOUNT_ID), ("token", &secret)],
        delivery.body.clone(),
    );
    let served = env.call(None, None, Invocation::VerifyWebhook(good)).await;
    let events = reply!(served, VerifyWebhook).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "unsubscribe");
    assert_eq!(events[0].external_account_id.as_deref(), Some(ACCOUNT_ID));
    let payload: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(payload["data"]["merges"]["FNAME"], "Ann");
    assert_eq!(payload["data"]["list_id"], seed::MAILCHIMP_LIST_ID);
    assert_eq!(payload["data"]["reason"], "manual");
    assert!(payload["fired_at"].is_string());

    // One character off, another account's secret, no secret, no account: refused.
    let mut wrong = secret.clone().into_bytes();
    wrong[63] = if wrong[63] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    let other = url_secret("another-account");
    for query in [
        vec![("account", ACCOUNT_ID), ("token", wrong.as_str())],
        vec![("account", ACCOUNT_ID), ("token", other.as_str())],
        vec![("account", ACCOUNT_ID)],
        vec![("token", secret.as_str())],
    ] {
        let served = env
            .call(
                None,
                None,
                Invocation::VerifyWebhook(webhook("POST", &query, delivery.body.clone())),
            )
            .await;
        let error = expect_err(reply!(served, VerifyWebhook), "wrong secret");
        assert!(
            matches!(&error, ConnectorError::InvalidInput(why) if why.contains("refused")),
            "{query:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn unsupported_exports_say_so() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let mut video = campaign("A film");
    video
        .media
        .push(postd_host::runtime::wit::connector::Media {
            kind: postd_host::runtime::wit::connector::MediaKind::Video,
            url: "https://cdn.example/v.mp4".into(),
            mime_type: None,
            size_bytes: None,
            alt_text: None,
        });
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-v"),
            Invocation::Publish(video, job("job-v", 1, None)),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "video"),
        ConnectorError::InvalidInput(_)
    ));
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-v"),
            Invocation::HandleTask(postd_host::runtime::wit::connector::TaskContext {
                task: postd_host::runtime::wit::queue::Task {
                    kind: "poll".into(),
                    payload: String::new(),
                },
                job: job("job-v", 1, None),
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, HandleTask), "handle-task"),
        ConnectorError::NotSupported(_)
    ));
}

/// Twelve connections on one API key list their audiences at once while every Mailchimp answer
/// takes 300 ms: how many calls get "Too Many Requests".
async fn simultaneous_calls_refused(env: &Env) -> usize {
    for n in 0..12 {
        let callback = AuthCallback {
            params: vec![("api-key".into(), seed::MAILCHIMP_API_KEY_US6.into())],
            redirect_uri: String::new(),
        };
        let served = env
            .call(
                Some(&format!("conn-{n}")),
                None,
                Invocation::CompleteAuth(callback),
            )
            .await;
        reply!(served, CompleteAuth).unwrap();
    }
    env.sandbox
        .set_latency(Platform::Mailchimp, std::time::Duration::from_millis(300));
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..12 {
        let runtime = env.runtime.clone();
        calls.spawn(async move {
            let context = postd_host::capability::CallContext::tenant(support::TENANT)
                .with_connection(format!("conn-{n}"));
            let served = runtime
                .invoke("mailchimp", context, Invocation::ListAccounts)
                .await
                .expect("the host admits the call");
            reply!(served, ListAccounts)
        });
    }
    let mut refused = 0;
    while let Some(result) = calls.join_next().await {
        match result.unwrap() {
            Ok(accounts) => assert_eq!(accounts.len(), 2),
            Err(ConnectorError::RateLimited(info)) => {
                assert_eq!(info.retry_after_ms, 5_000);
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_host_cap_keeps_one_key_under_ten_simultaneous_calls() {
    let capped = env_with(|entry| entry.limits.max_concurrency = 10).await;
    assert_eq!(
        simultaneous_calls_refused(&capped).await,
        0,
        "with max_concurrency = 10 the platform never sees an 11th call"
    );
    let uncapped = env().await;
    assert!(
        simultaneous_calls_refused(&uncapped).await > 0,
        "without the cap, Mailchimp refuses the calls over 10 (the sandbox imitates it)"
    );
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_hands_a_scheduled_campaign_to_mailchimp_at_once() {
    use postd_host::store::{JobState, NewPost, PostContent, Target};
    let piped = support::pipeline::Piped::start(
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
    .await;
    piped
        .connect(
            CONNECTION,
            AuthCallback {
                params: vec![("api-key".into(), seed::MAILCHIMP_API_KEY_US6.into())],
                redirect_uri: String::new(),
            },
        )
        .await;
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
async fn webhooks_through_the_host_api_register_their_secret_url_and_deliver() {
    let mut piped = support::pipeline::Piped::start(
        "mailchimp",
        postd_test_artifacts::MAILCHIMP,
        SandboxConfig::default(),
        |base, api| {
            (
                vec![
                    ("api-base-url", format!("{base}/mailchimp/{{dc}}/3.0")),
                    ("webhook-url", format!("{api}/webhooks/mailchimp")),
                ],
                vec![("webhook-key", WEBHOOK_KEY.to_string())],
            )
        },
    )
    .await;
    // Mailchimp checks the URL with a GET when the webhook is saved: the host must be up.
    piped.serve_api();
    piped
        .connect(
            CONNECTION,
            AuthCallback {
                params: vec![("api-key".into(), seed::MAILCHIMP_API_KEY_US6.into())],
                redirect_uri: String::new(),
            },
        )
        .await;
    let registration = piped
        .env
        .requests_since(0, PREFIX)
        .into_iter()
        .find(|r| {
            r.path == format!("/3.0/lists/{}/webhooks", seed::MAILCHIMP_LIST_ID)
                && r.method == "POST"
        })
        .expect("the webhook is registered");
    assert_eq!(registration.status, Some(200));
    let url = serde_json::from_str::<serde_json::Value>(registration.body_text.as_deref().unwrap())
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with(&piped.api_url));

    let event = json!({"type": "subscribe", "data": {"id": "e1", "list_id": seed::MAILCHIMP_LIST_ID,
        "email": "new@example.com", "merges": {"FNAME": "New"}}});
    let sandbox = &piped.env.sandbox;
    let delivered = sandbox
        .deliver_webhook(
            Platform::Mailchimp,
            &url,
            &event,
            &DeliveryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(delivered.status, 200, "{}", delivered.response_body);
    let received: serde_json::Value = serde_json::from_str(&delivered.response_body).unwrap();
    assert_eq!(received["stored"], 1);

    let mut guessed = url.clone().into_bytes();
    let last = guessed.len() - 1;
    guessed[last] = if guessed[last] == b'0' { b'1' } else { b'0' };
    let refused = sandbox
        .deliver_webhook(
            Platform::Mailchimp,
            &String::from_utf8(guessed).unwrap(),
            &event,
            &DeliveryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "a wrong URL secret is refused");
}

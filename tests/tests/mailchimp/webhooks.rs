//! The per-account secret URL: registration, verification, delivery through the host API.

use super::*;

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

#[tokio::test]
async fn a_callback_url_mailchimp_refuses_does_not_keep_the_account_from_connecting() {
    // The sandbox checks the URL with a GET, as Mailchimp does; nothing answers on port 9.
    let env = mailchimp_env(
        SandboxConfig::default(),
        vec![(
            "webhook-url",
            "http://127.0.0.1:9/webhooks/mailchimp".to_string(),
        )],
        |_| {},
    )
    .await;
    assert_eq!(
        connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap(),
        ACCOUNT_ID
    );
    let refused = env
        .requests_since(0, PREFIX)
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/webhooks"))
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert!(
        !refused.is_empty() && refused.iter().all(|s| *s == Some(400)),
        "{refused:?}"
    );
}

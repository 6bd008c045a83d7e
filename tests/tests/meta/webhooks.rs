//! The subscription check, X-Hub-Signature-256, signed_request callbacks, and webhooks through the host API.

use super::*;

fn webhook(
    method: &str,
    query: &[(&str, &str)],
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path: String::new(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body,
    }
}

#[tokio::test]
async fn webhook_challenge_answers_the_subscription_check_only_with_the_verify_token() {
    let env = env().await;
    let check = |token: &'static str| {
        webhook(
            "GET",
            &[
                ("hub.mode", "subscribe"),
                ("hub.challenge", "1158201444"),
                ("hub.verify_token", token),
            ],
            vec![],
            vec![],
        )
    };
    let served = env
        .call(
            None,
            None,
            Invocation::WebhookChallenge(check(VERIFY_TOKEN)),
        )
        .await;
    let answer = reply!(served, WebhookChallenge).unwrap().unwrap();
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    let served = env
        .call(None, None, Invocation::WebhookChallenge(check("guess")))
        .await;
    assert_eq!(
        reply!(served, WebhookChallenge).unwrap().unwrap().status,
        403
    );
    let served = env
        .call(
            None,
            None,
            Invocation::WebhookChallenge(webhook("GET", &[], vec![], vec![])),
        )
        .await;
    assert!(reply!(served, WebhookChallenge).unwrap().is_none());
}

#[tokio::test]
async fn webhook_signatures_are_verified_and_a_mismatch_is_refused() {
    let env = env().await;
    let event = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_000,
        "changes": [{"field": "feed", "value": {"item": "status", "post_id": format!("{PAGE}_1"), "verb": "add"}}]}]});
    let signed = build_delivery(
        Platform::Meta,
        &event,
        &DeliveryOptions::default(),
        env.sandbox.now_unix(),
    )
    .unwrap();
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook(
                "POST",
                &[],
                signed.headers.clone(),
                signed.body.clone(),
            )),
        )
        .await;
    let events = reply!(served, VerifyWebhook).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "page.feed");
    assert_eq!(events[0].external_account_id.as_deref(), Some(PAGE));

    // Signed with another secret, a tampered body, no signature: refused.
    let forged = build_delivery(
        Platform::Meta,
        &event,
        &DeliveryOptions {
            secret: Some("not-the-app-secret".into()),
            ..DeliveryOptions::default()
        },
        env.sandbox.now_unix(),
    )
    .unwrap();
    let mut tampered = signed.body.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    for (headers, body) in [
        (forged.headers.clone(), forged.body.clone()),
        (signed.headers.clone(), tampered),
        (vec![], signed.body.clone()),
    ] {
        let served = env
            .call(
                None,
                None,
                Invocation::VerifyWebhook(webhook("POST", &[], headers, body)),
            )
            .await;
        let error = expect_err(reply!(served, VerifyWebhook), "bad signature");
        assert!(
            matches!(&error, ConnectorError::InvalidInput(why) if why.contains("refused")),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn deauthorization_signed_requests_are_verified() {
    let env = env().await;
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": 1_700_000_000, "user_id": seed::META_USER_ID});
    let options = DeliveryOptions {
        meta_signed_request: true,
        ..DeliveryOptions::default()
    };
    let signed =
        build_delivery(Platform::Meta, &payload, &options, env.sandbox.now_unix()).unwrap();
    let form = vec![("content-type".to_string(), signed.content_type.clone())];
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook("POST", &[], form.clone(), signed.body.clone())),
        )
        .await;
    let events = reply!(served, VerifyWebhook).unwrap();
    assert_eq!(events[0].kind, "deauthorize");
    assert_eq!(
        events[0].external_account_id.as_deref(),
        Some(seed::META_USER_ID)
    );
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook(
                "POST",
                &[("callback", "data-deletion")],
                form.clone(),
                signed.body.clone(),
            )),
        )
        .await;
    assert_eq!(
        reply!(served, VerifyWebhook).unwrap()[0].kind,
        "data_deletion"
    );

    let forged = build_delivery(
        Platform::Meta,
        &payload,
        &DeliveryOptions {
            secret: Some("wrong".into()),
            ..options
        },
        env.sandbox.now_unix(),
    )
    .unwrap();
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook("POST", &[], form, forged.body)),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, VerifyWebhook), "forged signed_request"),
        ConnectorError::InvalidInput(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_through_the_host_api_are_verified_and_deauthorization_revokes_the_connection() {
    use postd_host::store::ConnectionStatus;
    let mut piped = support::pipeline::Piped::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    piped.serve_api();
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    let url = format!("{}/webhooks/meta", piped.api_url);
    let sandbox = &piped.env.sandbox;

    let check = sandbox
        .verify_subscription(Platform::Meta, &url, VERIFY_TOKEN)
        .await
        .unwrap();
    assert!(check.passed, "{check:?}");
    let guess = sandbox
        .verify_subscription(Platform::Meta, &url, "a guess")
        .await
        .unwrap();
    assert!(!guess.passed && guess.status == 403, "{guess:?}");

    let event = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_100,
        "changes": [{"field": "feed", "value": {"item": "status", "post_id": format!("{PAGE}_7"), "verb": "add"}}]}]});
    let options = DeliveryOptions::default();
    let delivered = sandbox
        .deliver_webhook(Platform::Meta, &url, &event, &options)
        .await
        .unwrap();
    assert_eq!(delivered.status, 200, "{}", delivered.response_body);
    let received: Value = serde_json::from_str(&delivered.response_body).unwrap();
    assert_eq!(received["stored"], 1);
    let again = sandbox
        .deliver_webhook(Platform::Meta, &url, &event, &options)
        .await
        .unwrap();
    let received: Value = serde_json::from_str(&again.response_body).unwrap();
    assert_eq!(received["duplicates"], 1, "a redelivery is recognised");

    let forged = DeliveryOptions {
        secret: Some("not-the-app-secret".into()),
        ..DeliveryOptions::default()
    };
    let refused = sandbox
        .deliver_webhook(Platform::Meta, &url, &event, &forged)
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "a signature mismatch is refused");

    let deauthorize = json!({"algorithm": "HMAC-SHA256", "issued_at": 1_700_000_200, "user_id": seed::META_USER_ID});
    let signed = DeliveryOptions {
        meta_signed_request: true,
        ..DeliveryOptions::default()
    };
    let delivered = sandbox
        .deliver_webhook(Platform::Meta, &url, &deauthorize, &signed)
        .await
        .unwrap();
    assert_eq!(delivered.status, 200, "{}", delivered.response_body);
    let received: Value = serde_json::from_str(&delivered.response_body).unwrap();
    assert_eq!(received["revoked"], 1);
    let connection = piped
        .store
        .tenant(support::TENANT)
        .connection(CONNECTION)
        .await
        .unwrap();
    assert_eq!(connection.status, ConnectionStatus::Revoked);
}

//! The `challengeCode` validation, `X-LI-Signature` with and without its prefix, and webhooks
//! through the host API.

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
async fn the_challenge_is_answered_with_the_hmac_of_the_code() {
    let li = env().await;
    let env = &li.env;
    let code = "890e4f20-17b0-4aa5-8d5c-0a1f3cc7a9c1";
    let served = env
        .call(
            None,
            None,
            Invocation::WebhookChallenge(webhook(
                "GET",
                &[("challengeCode", code)],
                vec![],
                vec![],
            )),
        )
        .await;
    let answer = reply!(served, WebhookChallenge).unwrap().unwrap();
    assert_eq!(answer.status, 200);
    let json: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(json["challengeCode"], code);
    assert_eq!(
        json["challengeResponse"],
        postd_sandbox::webhooks::linkedin_challenge_response(code, seed::LINKEDIN_CLIENT_SECRET)
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
async fn signatures_with_or_without_the_prefix_are_accepted_and_forgeries_refused() {
    let li = env().await;
    let env = &li.env;
    let event = json!({"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [
        {"notificationId": 42, "action": "COMMENT", "organizationalEntity": org(), "sourcePost": "urn:li:share:1"}]});
    let verify = |headers: Vec<(String, String)>, body: Vec<u8>| {
        env.call(
            None,
            None,
            Invocation::VerifyWebhook(webhook("POST", &[], headers, body)),
        )
    };
    for prefixed in [false, true] {
        let options = DeliveryOptions {
            linkedin_prefixed_signature: prefixed,
            ..DeliveryOptions::default()
        };
        let signed =
            build_delivery(Platform::Linkedin, &event, &options, env.sandbox.now_unix()).unwrap();
        let header = signed
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-li-signature"))
            .unwrap()
            .1
            .clone();
        assert_eq!(header.starts_with("hmacsha256="), prefixed);
        let served = verify(signed.headers.clone(), signed.body.clone()).await;
        let events = reply!(served, VerifyWebhook).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS:42");
        assert_eq!(
            events[0].kind,
            "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS.COMMENT"
        );
        assert_eq!(
            events[0].external_account_id.as_deref(),
            Some(org().as_str())
        );
        assert_eq!(
            events[0].recovery_point.as_deref(),
            Some("li-post:urn:li:share:1")
        );
    }

    let signed = build_delivery(
        Platform::Linkedin,
        &event,
        &DeliveryOptions::default(),
        env.sandbox.now_unix(),
    )
    .unwrap();
    let forged = build_delivery(
        Platform::Linkedin,
        &event,
        &DeliveryOptions {
            secret: Some("not-the-client-secret".into()),
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
        let served = verify(headers, body).await;
        let error = expect_err(reply!(served, VerifyWebhook), "bad signature");
        assert!(
            matches!(&error, ConnectorError::InvalidInput(why) if why.contains("refused")),
            "{error:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_through_the_host_api_pass_validation_and_store_deliveries_once() {
    let mut piped = support::pipeline::Piped::start(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    piped.serve_api();
    let url = format!("{}/webhooks/linkedin", piped.api_url);
    let sandbox = &piped.env.sandbox;
    let check = sandbox
        .verify_subscription(Platform::Linkedin, &url, "")
        .await
        .unwrap();
    assert!(check.passed, "{check:?}");

    let event = json!({"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [
        {"notificationId": 7, "action": "LIKE", "organizationalEntity": org()}]});
    let options = DeliveryOptions {
        linkedin_prefixed_signature: true,
        ..DeliveryOptions::default()
    };
    let delivered = sandbox
        .deliver_webhook(Platform::Linkedin, &url, &event, &options)
        .await
        .unwrap();
    assert_eq!(delivered.status, 200, "{}", delivered.response_body);
    let received: Value = serde_json::from_str(&delivered.response_body).unwrap();
    assert_eq!(received["stored"], 1);
    let again = sandbox
        .deliver_webhook(
            Platform::Linkedin,
            &url,
            &event,
            &DeliveryOptions::default(),
        )
        .await
        .unwrap();
    let received: Value = serde_json::from_str(&again.response_body).unwrap();
    assert_eq!(received["duplicates"], 1, "a redelivery is recognised");
    let forged = DeliveryOptions {
        secret: Some("not-the-client-secret".into()),
        ..DeliveryOptions::default()
    };
    let refused = sandbox
        .deliver_webhook(Platform::Linkedin, &url, &event, &forged)
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "a signature mismatch is refused");
}

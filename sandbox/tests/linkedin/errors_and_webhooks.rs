//! LinkedIn throttling, token errors and signed webhooks.

use super::*;

#[tokio::test]
async fn throttles_with_429_and_service_error_code_101() {
    let sb = start_with(SandboxConfig {
        linkedin: LinkedInConfig {
            calls_per_minute: 3,
            ..LinkedInConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let url = format!("{}/v2/userinfo", sb.url(Platform::Linkedin));
    for _ in 0..3 {
        assert_eq!(get_bearer(&url, &token).await.status, 200);
    }
    let over = get_bearer(&url, &token).await;
    assert_eq!(over.status, 429);
    assert_eq!(over.body["serviceErrorCode"], 101);
    assert_eq!(over.body["status"], 429);
    assert!(over.header("retry-after").is_none());
    sb.advance_clock(Duration::from_secs(60));
    assert_eq!(get_bearer(&url, &token).await.status, 200);
}

#[tokio::test]
async fn revoked_and_injected_token_errors() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let url = format!("{}/v2/userinfo", sb.url(Platform::Linkedin));
    sb.inject(
        Platform::Linkedin,
        FaultRule {
            error: "EXPIRED_ACCESS_TOKEN".into(),
            count: 1,
            path_contains: None,
        },
    )
    .expect("known");
    let a = get_bearer(&url, &token).await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (401, json!("EXPIRED_ACCESS_TOKEN"))
    );
    assert_eq!(get_bearer(&url, &token).await.status, 200);
    assert!(sb.revoke_token(Platform::Linkedin, &token));
    let a = get_bearer(&url, &token).await;
    assert_eq!(a.body["code"], "REVOKED_ACCESS_TOKEN");
    assert_eq!(
        get_bearer(&url, "garbage").await.body["code"],
        "INVALID_ACCESS_TOKEN"
    );
}

#[tokio::test]
async fn webhooks_carry_x_li_signature_and_challenges_are_verified() {
    let sb = start().await;
    let rx = Receiver::start().await;
    let event = json!({"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "organizationalEntity": org(LINKEDIN_ORG_ID)});
    sb.deliver_webhook(
        Platform::Linkedin,
        &rx.url,
        &event,
        &DeliveryOptions::default(),
    )
    .await
    .expect("delivered");
    // linkedin.md: whether the header carries the `hmacsha256=` prefix is unconfirmed; both can be produced.
    let prefixed = DeliveryOptions {
        linkedin_prefixed_signature: true,
        ..DeliveryOptions::default()
    };
    sb.deliver_webhook(Platform::Linkedin, &rx.url, &event, &prefixed)
        .await
        .expect("delivered");
    let got = rx.received();
    let expected =
        postd_sandbox::webhooks::linkedin_signature(&got[0].body, LINKEDIN_CLIENT_SECRET);
    assert_eq!(got[0].header("x-li-signature"), Some(expected.as_str()));
    assert_eq!(
        got[1].header("x-li-signature"),
        Some(format!("hmacsha256={expected}").as_str())
    );

    let check = sb
        .verify_subscription(Platform::Linkedin, &rx.url, "")
        .await
        .expect("sent");
    assert!(check.passed, "{check:?}");
    assert!(rx.received()[2].uri.contains("challengeCode="));
}

//! The manifest, Google OAuth with offline access, every location with paging, refresh that
//! keeps the refresh token, revoked grants, error mapping, and no webhooks.

use super::*;

#[tokio::test]
async fn manifest_declares_the_capability_matrix() {
    let env = env().await;
    let served = env.call(None, None, Invocation::Manifest).await;
    let Answer::Manifest(manifest) = served.answer else {
        panic!("manifest answered {:?}", served.answer)
    };
    assert_eq!(manifest.id, "gbp");
    assert_eq!(manifest.auth, AuthKind::Oauth2);
    assert_eq!(
        manifest.capabilities,
        Capabilities::TEXT
            | Capabilities::LINK
            | Capabilities::IMAGE
            | Capabilities::VIDEO
            | Capabilities::EDIT
            | Capabilities::DELETE
            | Capabilities::ANALYTICS
    );
    assert!(!manifest.capabilities.contains(Capabilities::WEBHOOKS));
    assert!(
        !manifest
            .capabilities
            .contains(Capabilities::NATIVE_SCHEDULING)
    );
    assert_eq!(manifest.refresh_before_expiry_secs, Some(300));
    assert_eq!(manifest.limits.max_text_chars, Some(1_500));
    let budget = manifest.rate_budget.unwrap();
    assert_eq!((budget.requests, budget.per_seconds), (100, 60));
    assert!(
        manifest
            .scopes
            .iter()
            .any(|s| s == "https://www.googleapis.com/auth/business.manage")
    );
}

#[tokio::test]
async fn offline_consent_connects_and_every_location_of_every_account_is_listed() {
    let env = env().await;
    let info = connect(&env).await.unwrap();
    assert_eq!(
        info.external_id,
        format!("accounts/{}", seed::GBP_ACCOUNT_ID)
    );
    let expires_in = info.expires_at.unwrap() - now();
    assert!(
        (3_500..=3_600).contains(&expires_in),
        "about an hour: {expires_in}"
    );
    assert!(env.secret(CONNECTION, "refresh-token").await.is_some());

    let since = env.last_request_id();
    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts = reply!(served, ListAccounts).unwrap();
    assert_eq!(
        accounts.len(),
        seed::GBP_LOCATION_COUNT + 1,
        "one connection, many locations"
    );
    assert_eq!(accounts[0].id, location());
    assert_eq!(accounts[0].kind, "location");
    assert_eq!(
        accounts[0].parent_id.as_deref(),
        Some(format!("accounts/{}", seed::GBP_ACCOUNT_ID).as_str())
    );
    assert_eq!(accounts.last().unwrap().id, studio());
    let mut ids: Vec<_> = accounts.iter().map(|a| a.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), accounts.len(), "no location twice");

    let log = env.requests_since(since, PREFIX);
    let first = format!("GET /v1/accounts/{}/locations", seed::GBP_ACCOUNT_ID);
    let second = format!("GET /v1/accounts/{}/locations", seed::GBP_ACCOUNT2_ID);
    assert_eq!(
        lines(&log),
        [
            "GET /v1/accounts".to_string(),
            first.clone(),
            first.clone(),
            first,
            second
        ],
        "three pages of ten for the first account"
    );
    assert!(log[1].query.as_deref().unwrap().contains("readMask="));
    assert!(log[2].query.as_deref().unwrap().contains("pageToken="));

    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert_eq!(
        reply!(served, Health).unwrap().external_id,
        format!("accounts/{}", seed::GBP_ACCOUNT_ID)
    );

    let consent = env.requests_since(0, PREFIX);
    let query = consent[0].query.as_deref().unwrap();
    assert!(
        query.contains("access_type=offline") && query.contains("prompt=consent"),
        "{query}"
    );
    assert!(
        query.contains("business.manage%20openid"),
        "space-separated: {query}"
    );
}

#[tokio::test]
async fn hourly_refreshes_keep_the_refresh_token_google_does_not_resend() {
    let env = env().await;
    connect(&env).await.unwrap();
    let refresh = env.secret(CONNECTION, "refresh-token").await.unwrap();
    let mut access = env.secret(CONNECTION, "access-token").await.unwrap();
    for hour in 0..3 {
        env.sandbox.advance_clock(Duration::from_secs(55 * 60));
        let since = env.last_request_id();
        let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
        let expiry = reply!(served, Refresh).unwrap();
        assert!(expiry.expires_at.unwrap() > now() + 3_500, "hour {hour}");
        let log = env.requests_since(since, PREFIX);
        assert_eq!(lines(&log), ["POST /token"]);
        let form = log[0].body_text.as_deref().unwrap();
        assert!(form.contains("grant_type=refresh_token"), "{form}");
        let renewed = env.secret(CONNECTION, "access-token").await.unwrap();
        assert_ne!(renewed, access, "hour {hour}: a new access token");
        access = renewed;
        assert_eq!(
            env.secret(CONNECTION, "refresh-token").await.unwrap(),
            refresh,
            "hour {hour}: the refresh token is kept"
        );
        let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
        reply!(served, Health).unwrap();
    }

    // The user removes the app: invalid_grant, and only a reconnect helps.
    assert!(env.sandbox.revoke_token(Platform::Gbp, &access));
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    assert!(matches!(
        expect_err(reply!(served, Refresh), "refresh after revocation"),
        ConnectorError::AuthRevoked(why) if why.contains("invalid_grant")
    ));
    assert_eq!(
        env.secret(CONNECTION, "refresh-token").await.unwrap(),
        refresh,
        "a failed refresh writes nothing"
    );
}

#[tokio::test]
async fn google_errors_map_to_the_taxonomy() {
    let env = env().await;
    connect(&env).await.unwrap();
    type Check = fn(&ConnectorError) -> bool;
    let cases: &[(&str, Check)] = &[
        (
            "RESOURCE_EXHAUSTED",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 60_000),
        ),
        ("UNAUTHENTICATED", |e| {
            matches!(e, ConnectorError::AuthExpired(_))
        }),
        ("PERMISSION_DENIED", |e| {
            matches!(e, ConnectorError::PermissionMissing(_))
        }),
        ("INVALID_ARGUMENT", |e| {
            matches!(e, ConnectorError::InvalidInput(_))
        }),
        ("UNAVAILABLE", |e| matches!(e, ConnectorError::Transient(_))),
        ("INTERNAL", |e| matches!(e, ConnectorError::Transient(_))),
    ];
    for (n, (error, expected)) in cases.iter().enumerate() {
        env.sandbox
            .inject(Platform::Gbp, rule(error, "/localPosts"))
            .unwrap();
        let served = publish(
            &env,
            post(&location(), &format!("Fault {n}"), &[]),
            job(&format!("job-f{n}"), 1, None),
        )
        .await;
        let got = expect_err(reply!(served, Publish), error);
        assert!(expected(&got), "{error} gave {got:?}");
    }
}

#[tokio::test]
async fn webhooks_are_not_supported_and_say_why() {
    let env = env().await;
    let request = WebhookRequest {
        method: "POST".into(),
        path: String::new(),
        query: vec![],
        headers: vec![],
        body: br#"{"message":{"data":"e30=","messageId":"1"}}"#.to_vec(),
    };
    let served = env
        .call(None, None, Invocation::VerifyWebhook(request.clone()))
        .await;
    match expect_err(reply!(served, VerifyWebhook), "verify") {
        ConnectorError::NotSupported(why) => assert!(why.contains("Pub/Sub"), "{why}"),
        other => panic!("expected not-supported, got {other:?}"),
    }
    let served = env
        .call(None, None, Invocation::WebhookChallenge(request))
        .await;
    assert!(matches!(
        expect_err(reply!(served, WebhookChallenge), "challenge"),
        ConnectorError::NotSupported(_)
    ));
}

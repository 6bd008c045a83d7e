//! The manifest, Facebook Login, refresh by re-exchange, revoked grants and missing permissions.

use super::*;

#[tokio::test]
async fn manifest_declares_the_capability_matrix() {
    let env = env().await;
    let served = env.call(None, None, Invocation::Manifest).await;
    let postd_host::runtime::Answer::Manifest(manifest) = served.answer else {
        panic!("manifest answered {:?}", served.answer)
    };
    assert_eq!(manifest.id, "meta");
    assert_eq!(manifest.auth, AuthKind::Oauth2);
    assert_eq!(
        manifest.capabilities,
        Capabilities::TEXT
            | Capabilities::LINK
            | Capabilities::IMAGE
            | Capabilities::VIDEO
            | Capabilities::CAROUSEL
            | Capabilities::NATIVE_SCHEDULING
            | Capabilities::DELETE
            | Capabilities::ANALYTICS
            | Capabilities::WEBHOOKS
    );
    let window = manifest.schedule_window.expect("a schedule window");
    assert_eq!(
        (window.min_lead_secs, window.max_lead_secs),
        (600, 75 * 86_400)
    );
    assert_eq!(manifest.limits.max_media_count, Some(10));
    assert_eq!(manifest.limits.max_image_bytes, Some(4 * 1024 * 1024));
    assert!(manifest.refresh_before_expiry_secs.is_some());
    assert!(
        manifest
            .scopes
            .iter()
            .any(|s| s == "instagram_content_publish")
    );
    let budget = manifest.rate_budget.unwrap();
    assert_eq!((budget.requests, budget.per_seconds), (3_500, 3_600));
}

#[tokio::test]
async fn oauth_exchanges_for_a_long_lived_token_and_stores_page_tokens() {
    let env = env().await;
    let info = connect(&env, &[]).await.unwrap();
    assert_eq!(info.external_id, seed::META_USER_ID);
    let expires_in = info.expires_at.unwrap() - now();
    assert!(
        (5_183_000..=5_184_000).contains(&expires_in),
        "long-lived: {expires_in}"
    );
    assert!(info.scopes.iter().any(|s| s == "pages_manage_posts"));
    assert!(
        env.secret(CONNECTION, &format!("page-token:{PAGE}"))
            .await
            .is_some()
    );
    assert!(
        env.secret(CONNECTION, &format!("page-token:{PAGE2}"))
            .await
            .is_some()
    );
    assert_eq!(
        env.secret(CONNECTION, &format!("ig-page:{IG}"))
            .await
            .as_deref(),
        Some(PAGE)
    );

    // The documented sequence, in the sandbox's request log.
    let log = env.requests_since(0, PREFIX);
    assert_eq!(
        lines(&log),
        [
            "GET /dialog/oauth".to_string(),
            "GET /oauth/access_token".into(),
            "GET /oauth/access_token".into(),
            "GET /me".into(),
            "GET /me/permissions".into(),
            "GET /me/accounts".into(),
            format!("GET /{IG}"),
        ]
    );
    let dialog = log[0].query.as_deref().unwrap();
    assert!(
        dialog.contains("scope=pages_show_list%2C"),
        "comma-separated scopes: {dialog}"
    );
    let code_exchange = log[1].query.as_deref().unwrap();
    assert!(code_exchange.contains("code=") && code_exchange.contains("redirect_uri="));
    let long_exchange = log[2].query.as_deref().unwrap();
    assert!(long_exchange.contains("grant_type=fb_exchange_token"));
    assert!(
        log[5].query.as_deref().unwrap().contains("access_token"),
        "Page tokens asked for"
    );

    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts = reply!(served, ListAccounts).unwrap();
    let summary: Vec<_> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.kind.as_str(), a.parent_id.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (PAGE, "page", None),
            (IG, "instagram", Some(PAGE)),
            (PAGE2, "page", None)
        ]
    );

    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    assert_eq!(health.external_id, seed::META_USER_ID);
}

#[tokio::test]
async fn refresh_re_exchanges_before_expiry_and_reports_auth_expired_after() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let before = env.secret(CONNECTION, "access-token").await.unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    let expiry = reply!(served, Refresh).unwrap();
    assert!(expiry.expires_at.unwrap() > now() + 5_000_000);
    let after = env.secret(CONNECTION, "access-token").await.unwrap();
    assert_ne!(before, after, "a new long-lived token is stored");

    // Past the token's 60 days the exchange is refused (190/463): only a reconnect helps.
    env.sandbox.advance_clock(Duration::from_secs(61 * 86_400));
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    let error = expect_err(reply!(served, Refresh), "refresh after expiry");
    assert!(matches!(error, ConnectorError::AuthExpired(_)), "{error:?}");
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health after expiry"),
        ConnectorError::AuthExpired(_)
    ));
}

#[tokio::test]
async fn a_revoked_grant_is_auth_revoked() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let token = env.secret(CONNECTION, "access-token").await.unwrap();
    assert!(env.sandbox.revoke_token(Platform::Meta, &token));
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health"),
        ConnectorError::AuthRevoked(_)
    ));
    let served = publish(
        &env,
        post(PAGE, "After revocation", &[]),
        job("job-rev", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "publish with a revoked Page token"),
        ConnectorError::AuthRevoked(_)
    ));
}

#[tokio::test]
async fn missing_permissions_are_reported_by_health_and_publish() {
    let env = env().await;
    connect(
        &env,
        &[
            "pages_show_list",
            "pages_read_engagement",
            "instagram_basic",
        ],
    )
    .await
    .unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    match expect_err(reply!(served, Health), "health") {
        ConnectorError::PermissionMissing(scopes) => {
            assert_eq!(scopes, ["pages_manage_posts", "instagram_content_publish"])
        }
        other => panic!("expected permission-missing, got {other:?}"),
    }
    let served = publish(
        &env,
        post(PAGE, "No right to post", &[]),
        job("job-perm", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "publish"),
        ConnectorError::PermissionMissing(_)
    ));
}

#[tokio::test]
async fn a_refused_login_names_meta_s_reason_and_stores_nothing() {
    let env = env().await;
    let callback = AuthCallback {
        params: vec![
            ("error".into(), "access_denied".into()),
            ("error_reason".into(), "user_denied".into()),
            ("error_description".into(), "Permissions error".into()),
            ("state".into(), "st-meta".into()),
        ],
        redirect_uri: "http://127.0.0.1:9/meta/callback".into(),
    };
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    match expect_err(reply!(served, CompleteAuth), "a refused login") {
        ConnectorError::PermissionMissing(why) => assert_eq!(
            why,
            vec!["Meta consent refused: access_denied Permissions error".to_string()]
        ),
        other => panic!("a refused login answered {other:?}"),
    }
    assert_eq!(env.secret(CONNECTION, "access-token").await, None);
}

//! The manifest, OAuth with space-separated scopes, accounts, refresh with and without a
//! refresh token, health, and LinkedIn's error answers.

use super::*;

#[tokio::test]
async fn manifest_declares_the_capability_matrix() {
    let li = env().await;
    let served = li.env.call(None, None, Invocation::Manifest).await;
    let Answer::Manifest(manifest) = served.answer else {
        panic!("manifest answered {:?}", served.answer)
    };
    assert_eq!(manifest.id, "linkedin");
    assert_eq!(manifest.auth, AuthKind::Oauth2);
    assert_eq!(
        manifest.capabilities,
        Capabilities::TEXT
            | Capabilities::LINK
            | Capabilities::IMAGE
            | Capabilities::VIDEO
            | Capabilities::CAROUSEL
            | Capabilities::DELETE
            | Capabilities::ANALYTICS
            | Capabilities::WEBHOOKS
    );
    assert!(
        !manifest
            .capabilities
            .contains(Capabilities::NATIVE_SCHEDULING),
        "the host schedules LinkedIn posts"
    );
    assert!(manifest.schedule_window.is_none());
    assert_eq!(manifest.refresh_before_expiry_secs, Some(7 * 86_400));
    assert_eq!(manifest.limits.max_text_chars, Some(3_000));
    assert_eq!(manifest.limits.max_media_count, Some(20));
    let budget = manifest.rate_budget.unwrap();
    assert_eq!((budget.requests, budget.per_seconds), (300, 60));
    for scope in [
        "openid",
        "profile",
        "w_member_social",
        "w_organization_social",
    ] {
        assert!(manifest.scopes.iter().any(|s| s == scope), "{scope}");
    }
}

#[tokio::test]
async fn oauth_connects_the_member_and_lists_the_organizations_they_administer() {
    let li = env().await;
    let env = &li.env;
    let info = connect(env, &[]).await.unwrap();
    assert_eq!(info.external_id, seed::LINKEDIN_MEMBER_ID);
    let expires_in = info.expires_at.unwrap() - now();
    assert!(
        (60 * 86_400 - 60..=60 * 86_400).contains(&expires_in),
        "60 days: {expires_in}"
    );
    let refresh_in = info.refresh_expires_at.unwrap() - now();
    assert!(refresh_in > 364 * 86_400, "365 days: {refresh_in}");
    assert!(info.scopes.iter().any(|s| s == "w_member_social"));
    assert!(env.secret(CONNECTION, "refresh-token").await.is_some());

    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts = reply!(served, ListAccounts).unwrap();
    let summary: Vec<_> = accounts
        .iter()
        .map(|a| (a.id.clone(), a.kind.as_str(), a.parent_id.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (member(), "member", None),
            (org(), "organization", Some(member())),
        ],
        "the organization the member does not administer is left out"
    );
    assert_eq!(accounts[1].name, "Sandbox Corp");

    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    assert_eq!(health.external_id, seed::LINKEDIN_MEMBER_ID);
    assert!(health.scopes.iter().any(|s| s == "rw_organization_admin"));

    // The documented sequence, in the sandbox's request log.
    let log = env.requests_since(0, PREFIX);
    assert_eq!(
        lines(&log),
        [
            "GET /oauth/v2/authorization",
            "POST /oauth/v2/accessToken",
            "GET /v2/userinfo",
            "GET /v2/userinfo",
            "GET /rest/organizationAcls",
            "GET /rest/organizations",
            "GET /v2/userinfo",
        ]
    );
    let consent = log[0].query.as_deref().unwrap();
    assert!(
        consent.contains("scope=openid%20profile%20w_member_social"),
        "space-separated scopes: {consent}"
    );
    let exchange = log[1].body_text.as_deref().unwrap();
    assert!(exchange.contains("grant_type=authorization_code") && exchange.contains("code="));
    let acls = log[4].query.as_deref().unwrap();
    assert!(acls.contains("q=roleAssignee") && acls.contains("state=APPROVED"));
    assert!(acls.contains("role=ADMINISTRATOR"), "{acls}");
    // The names: one batch lookup whose Rest.li list travels with its structure unencoded.
    assert_eq!(
        log[5].query.as_deref(),
        Some(format!("ids=List({})", seed::LINKEDIN_ORG_ID).as_str())
    );
    assert!(
        log[2]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert_versioned(&log);
}

#[tokio::test]
async fn without_organization_scopes_only_the_member_is_listed() {
    let li = env().await;
    connect(&li.env, &["openid", "profile", "w_member_social"])
        .await
        .unwrap();
    let served = li
        .env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts = reply!(served, ListAccounts).unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, member());
}

#[tokio::test]
async fn refresh_uses_the_refresh_token_and_keeps_its_original_expiry() {
    let li = env().await;
    let env = &li.env;
    let info = connect(env, &[]).await.unwrap();
    let access = env.secret(CONNECTION, "access-token").await.unwrap();
    let refresh = env.secret(CONNECTION, "refresh-token").await.unwrap();

    env.sandbox.advance_clock(Duration::from_secs(53 * 86_400));
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    let expiry = reply!(served, Refresh).unwrap();
    let renewed = env.secret(CONNECTION, "access-token").await.unwrap();
    assert_ne!(access, renewed, "a new access token is stored");
    assert_eq!(
        env.secret(CONNECTION, "refresh-token").await.unwrap(),
        refresh,
        "LinkedIn keeps the refresh token"
    );
    // Refreshing does not extend the refresh token: LinkedIn reports its remaining lifetime,
    // 53 days (of the platform's clock) shorter. The connector adds it to the host's clock,
    // which the test did not move.
    let shrunk = info.refresh_expires_at.unwrap() - expiry.refresh_expires_at.unwrap();
    assert!(
        (53 * 86_400 - 5..=53 * 86_400 + 5).contains(&shrunk),
        "remaining lifetime shrank by {shrunk} s"
    );

    let since = env.last_request_id();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    reply!(served, Health).unwrap();
    assert_eq!(
        env.requests_since(since, PREFIX)[0].header("authorization"),
        Some(format!("Bearer {renewed}").as_str())
    );

    // A refresh token LinkedIn no longer honours: the grant is gone.
    env.sandbox
        .inject(Platform::Linkedin, rule("invalid_grant", "/accessToken"))
        .unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    assert!(matches!(
        expect_err(reply!(served, Refresh), "refresh with a dead grant"),
        ConnectorError::AuthRevoked(_)
    ));
}

#[tokio::test]
async fn without_a_refresh_token_refresh_is_not_supported() {
    let config = SandboxConfig {
        linkedin: LinkedInConfig {
            issue_refresh_tokens: false,
            ..LinkedInConfig::default()
        },
        ..SandboxConfig::default()
    };
    let li = env_with(config, None).await;
    let env = &li.env;
    let info = connect(env, &[]).await.unwrap();
    assert!(info.expires_at.is_some());
    assert_eq!(info.refresh_expires_at, None);
    assert!(env.secret(CONNECTION, "refresh-token").await.is_none());
    let since = env.last_request_id();
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    match expect_err(reply!(served, Refresh), "refresh without a refresh token") {
        ConnectorError::NotSupported(why) => assert!(why.contains("refresh token"), "{why}"),
        other => panic!("expected not-supported, got {other:?}"),
    }
    assert!(env.requests_since(since, PREFIX).is_empty(), "nothing sent");
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(
        reply!(served, Health)
            .unwrap()
            .message
            .contains("reconnect")
    );
}

#[tokio::test]
async fn token_errors_are_expired_or_revoked() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();

    // 65600 EXPIRED_ACCESS_TOKEN after 60 days: a refresh may fix it.
    env.sandbox.advance_clock(Duration::from_secs(61 * 86_400));
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health after expiry"),
        ConnectorError::AuthExpired(_)
    ));
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    reply!(served, Refresh).unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    reply!(served, Health).unwrap();

    // The member removes the app: 65600 REVOKED_ACCESS_TOKEN.
    let token = env.secret(CONNECTION, "access-token").await.unwrap();
    assert!(env.sandbox.revoke_token(Platform::Linkedin, &token));
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health after revocation"),
        ConnectorError::AuthRevoked(_)
    ));
    let served = publish(
        env,
        post(&member(), "After revocation", &[]),
        job("job-rev", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "publish after revocation"),
        ConnectorError::AuthRevoked(_)
    ));
}

#[tokio::test]
async fn throttles_are_rate_limited_and_a_retired_version_is_named() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    env.sandbox
        .inject(Platform::Linkedin, rule("THROTTLED", "/rest/posts"))
        .unwrap();
    let served = publish(
        env,
        post(&member(), "Throttled", &[]),
        job("job-429", 1, None),
    )
    .await;
    match expect_err(reply!(served, Publish), "throttled") {
        ConnectorError::RateLimited(info) => {
            assert!(info.reason.contains("101"), "{}", info.reason);
            // "APPLICATION DAY limit": LinkedIn resets at midnight UTC.
            let midnight = (86_400 - now().rem_euclid(86_400)) as u64 * 1000;
            assert!(
                info.retry_after_ms.abs_diff(midnight) < 120_000 || info.retry_after_ms == 60_000,
                "{} vs {midnight}",
                info.retry_after_ms
            );
        }
        other => panic!("expected rate-limited, got {other:?}"),
    }
    for (error, expected) in [
        ("ACCESS_DENIED", "permission"),
        ("503", "transient"),
        ("EXPIRED_ACCESS_TOKEN", "expired"),
    ] {
        env.sandbox
            .inject(Platform::Linkedin, rule(error, "/rest/posts"))
            .unwrap();
        let served = publish(env, post(&member(), error, &[]), job(error, 1, None)).await;
        let got = expect_err(reply!(served, Publish), error);
        let ok = match expected {
            "permission" => matches!(got, ConnectorError::PermissionMissing(_)),
            "transient" => matches!(got, ConnectorError::Transient(_)),
            _ => matches!(got, ConnectorError::AuthExpired(_)),
        };
        assert!(ok, "{error} gave {got:?}");
    }

    // A version LinkedIn retired: 426, and the error names the version sent.
    let old = env_with(SandboxConfig::default(), Some("202001")).await;
    connect(&old.env, &[]).await.unwrap();
    let served = publish(
        &old.env,
        post(&member(), "Old version", &[]),
        job("job-426", 1, None),
    )
    .await;
    match expect_err(reply!(served, Publish), "retired version") {
        ConnectorError::Platform(p) => {
            assert_eq!(p.code, "426");
            assert!(p.message.contains("202001"), "{}", p.message);
        }
        other => panic!("expected platform 426, got {other:?}"),
    }
}

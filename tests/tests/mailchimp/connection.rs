//! The manifest, API-key and OAuth connections, malformed and revoked keys.

use super::*;

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

/// The OAuth variant through the host's API: start (a state bound to tenant and plugin), the
/// sandbox's consent redirecting back with a code, the callback completing the connection with
/// the metadata call's data centre.
#[tokio::test]
async fn the_oauth_variant_connects_through_the_host_api() {
    let mut piped = support::pipeline::Piped::start(
        "mailchimp",
        postd_test_artifacts::MAILCHIMP,
        SandboxConfig::default(),
        |base, _| {
            (
                vec![
                    ("api-base-url", format!("{base}/mailchimp/{{dc}}/3.0")),
                    ("login-base-url", format!("{base}/mailchimp/login/oauth2")),
                    ("client-id", seed::MAILCHIMP_CLIENT_ID.to_string()),
                ],
                vec![("client-secret", seed::MAILCHIMP_CLIENT_SECRET.to_string())],
            )
        },
    )
    .await;
    piped.serve_api();
    let key = piped
        .store
        .tenant(support::TENANT)
        .create_api_key("test", piped.pipeline.now())
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = client
        .get(format!("{}/v1/oauth/mailchimp/start", piped.api_url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    let start: serde_json::Value = serde_json::from_str(&start.text().await.unwrap()).unwrap();
    // The sandbox consents at once and sends the browser back to the host with code and state.
    let consent = client
        .get(start["authorize_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let back = consent
        .headers()
        .get("location")
        .expect("the platform redirects back")
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        back.starts_with(&format!("{}/v1/oauth/mailchimp/callback", piped.api_url)),
        "{back}"
    );
    let done = client.get(&back).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let connection: serde_json::Value = serde_json::from_str(&done.text().await.unwrap()).unwrap();
    assert_eq!(connection["status"], "healthy");
    assert_eq!(connection["plugin"], "mailchimp");
    // The state worked once.
    let again = client.get(&back).send().await.unwrap();
    assert_eq!(again.status(), 400);
}

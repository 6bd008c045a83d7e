//! Mailchimp keys per data centre, OAuth and ping.

use super::*;

#[tokio::test]
async fn ping_answers_chimpy_with_basic_or_bearer_auth() {
    let sb = start().await;
    let basic = mc_get(&format!("{}/ping", api(&sb, "us6")), MAILCHIMP_API_KEY_US6).await;
    assert_eq!(basic.status, 200);
    assert_eq!(basic.body, json!({"health_status": "Everything's Chimpy!"}));
    assert!(basic.header("x-request-id").is_some());
    let bearer = get_bearer(
        &format!("{}/ping", api(&sb, "us21")),
        MAILCHIMP_API_KEY_US21,
    )
    .await;
    assert_eq!(bearer.status, 200);
}

#[tokio::test]
async fn wrong_data_centre_malformed_or_missing_key_is_401_problem_json() {
    let sb = start().await;
    assert_problem(
        &mc_get(&format!("{}/ping", api(&sb, "us21")), MAILCHIMP_API_KEY_US6).await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &mc_get(
            &format!("{}/ping", api(&sb, "us6")),
            "0123456789abcdef0123456789abcdef",
        )
        .await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &mc_get(&format!("{}/ping", api(&sb, "us6")), "not-a-key-us6").await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &mc_get(
            &format!("{}/ping", api(&sb, "us6")),
            "ffffffffffffffffffffffffffffffff-us6",
        )
        .await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &get(&format!("{}/ping", api(&sb, "us6"))).await,
        401,
        "API Key Missing",
    );
    assert!(sb.revoke_token(Platform::Mailchimp, MAILCHIMP_API_KEY_US6));
    assert_problem(
        &mc_get(&format!("{}/ping", api(&sb, "us6")), MAILCHIMP_API_KEY_US6).await,
        401,
        "API Key Invalid",
    );
}

#[tokio::test]
async fn oauth_token_never_expires_and_metadata_names_the_data_centre() {
    let sb = start().await;
    let login = format!("{}/login/oauth2", sb.url(Platform::Mailchimp));
    let a = get(&format!("{login}/authorize?response_type=code&client_id={MAILCHIMP_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=st")).await;
    assert_eq!(a.status, 302);
    let loc = a.header("location").expect("location");
    assert_eq!(param(&loc, "state").as_deref(), Some("st"));
    let code = param(&loc, "code").expect("code");
    let t = post_form(
        &format!("{login}/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", MAILCHIMP_CLIENT_ID),
            ("client_secret", MAILCHIMP_CLIENT_SECRET),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["expires_in"], 0);
    let token = t.body["access_token"].as_str().expect("token").to_string();
    let meta = answer(
        client()
            .get(format!("{login}/metadata"))
            .header("authorization", format!("OAuth {token}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(meta.body["dc"], "us6");
    let endpoint = meta.body["api_endpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    sb.advance_clock(Duration::from_secs(400 * 86_400));
    assert_eq!(
        get_bearer(&format!("{endpoint}/3.0/ping"), &token)
            .await
            .status,
        200
    );
    assert_eq!(
        get_bearer(&format!("{}/ping", api(&sb, "us21")), &token)
            .await
            .status,
        401
    );
}

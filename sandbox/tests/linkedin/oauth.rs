//! LinkedIn OAuth: refresh tokens, scopes, the member's organizations.

use super::*;

#[tokio::test]
async fn refresh_token_keeps_its_own_expiry() {
    let sb = start().await;
    let c = code(&sb, "openid profile w_member_social").await;
    let t = exchange(&sb, &c).await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["expires_in"], 60 * 86_400);
    assert_eq!(t.body["refresh_token_expires_in"], 365 * 86_400);
    assert_eq!(t.body["scope"], "openid,profile,w_member_social");
    let access = t.body["access_token"].as_str().expect("access").to_string();
    let refresh_token = t.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(exchange(&sb, &c).await.body["error"], "invalid_grant");

    sb.advance_clock(Duration::from_secs(60 * 86_400));
    let expired = get_bearer(
        &format!("{}/v2/userinfo", sb.url(Platform::Linkedin)),
        &access,
    )
    .await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["serviceErrorCode"], 65600);
    assert_eq!(expired.body["code"], "EXPIRED_ACCESS_TOKEN");

    let r = refresh(&sb, &refresh_token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["refresh_token"], refresh_token.as_str());
    assert_eq!(
        r.body["refresh_token_expires_in"],
        305 * 86_400,
        "refreshing does not extend the refresh token"
    );
    let fresh = r.body["access_token"].as_str().expect("access").to_string();
    let me = get_bearer(
        &format!("{}/v2/userinfo", sb.url(Platform::Linkedin)),
        &fresh,
    )
    .await;
    assert_eq!(me.body["sub"], LINKEDIN_MEMBER_ID);
    assert!(me.body["name"].is_string() && me.body["picture"].is_string());

    sb.advance_clock(Duration::from_secs(305 * 86_400));
    let late = refresh(&sb, &refresh_token).await;
    assert_eq!(late.status, 400);
    assert_eq!(late.body["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_tokens_can_be_withheld_as_for_non_partner_apps() {
    // linkedin.md: refresh tokens only for approved partners; the sandbox can produce both readings.
    let sb = start_with(SandboxConfig {
        linkedin: LinkedInConfig {
            issue_refresh_tokens: false,
            ..LinkedInConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let c = code(&sb, "openid w_member_social").await;
    let t = exchange(&sb, &c).await;
    assert!(t.body["access_token"].is_string());
    assert!(
        t.body.get("refresh_token").is_none() && t.body.get("refresh_token_expires_in").is_none()
    );
}

#[tokio::test]
async fn unknown_scope_redirects_back_with_an_error() {
    let sb = start().await;
    let a = get(&format!(
        "{}/oauth/v2/authorization?response_type=code&client_id={LINKEDIN_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s&scope=r_everything",
        sb.url(Platform::Linkedin)
    ))
    .await;
    let loc = a.header("location").expect("location");
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("unauthorized_scope_error")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("s"));
    let bad_client = post_form(
        &format!("{}/oauth/v2/accessToken", sb.url(Platform::Linkedin)),
        &[("grant_type", "authorization_code"), ("client_id", "x")],
    )
    .await;
    assert_eq!(bad_client.status, 401);
    assert_eq!(bad_client.body["error"], "invalid_client");
}

//! Tokens issued and revoked, webhooks delivered, subscriptions checked.

use super::*;

#[tokio::test]
async fn tokens_can_be_issued_with_fewer_scopes() {
    let sb = start().await;
    let t = post_json(
        &control(&sb, "meta/tokens"),
        None,
        &json!({"scopes": ["pages_show_list"]}),
    )
    .await;
    let user = t.body["access_token"].as_str().expect("token").to_string();
    let perms = get(&format!(
        "{}/v27.0/me/permissions?access_token={user}",
        sb.url(Platform::Meta)
    ))
    .await;
    assert_eq!(
        perms.body["data"],
        json!([{"permission": "pages_show_list", "status": "granted"}])
    );
    let li = sb
        .issue_token_with_scopes(Platform::Linkedin, &["openid", "profile"])
        .access_token;
    let post = answer(
        client()
            .post(format!("{}/rest/posts", sb.url(Platform::Linkedin)))
            .bearer_auth(&li)
            .header("LinkedIn-Version", {
                let c = postd_sandbox::clock::civil_from_unix(sb.now_unix());
                format!("{:04}{:02}", c.year, c.month)
            })
            .header("content-type", "application/json")
            .body(json!({"author": format!("urn:li:person:{LINKEDIN_MEMBER_ID}"), "commentary": "x", "visibility": "PUBLIC", "distribution": {"feedDistribution": "MAIN_FEED"}, "lifecycleState": "PUBLISHED"}).to_string())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(post.status, 403, "{}", post.text);
}

#[tokio::test]
async fn tokens_are_issued_and_revoked_over_http() {
    let sb = start().await;
    let t = post_json(&control(&sb, "linkedin/tokens"), None, &json!({})).await;
    let token = t.body["access_token"].as_str().expect("token").to_string();
    assert!(t.body["refresh_token"].is_string());
    let me = format!("{}/v2/userinfo", sb.url(Platform::Linkedin));
    assert_eq!(get_bearer(&me, &token).await.status, 200);
    let r = post_json(
        &control(&sb, "linkedin/tokens/revoke"),
        None,
        &json!({"token": token}),
    )
    .await;
    assert_eq!(r.body["revoked"], true);
    assert_eq!(
        get_bearer(&me, &token).await.body["code"],
        "REVOKED_ACCESS_TOKEN"
    );
    assert_eq!(
        post_json(
            &control(&sb, "linkedin/tokens/revoke"),
            None,
            &json!({"token": "nope"})
        )
        .await
        .body["revoked"],
        false
    );
}

#[tokio::test]
async fn webhooks_are_delivered_and_subscriptions_checked_over_http() {
    let sb = start().await;
    let rx = Receiver::start().await;
    let d = post_json(
        &control(&sb, "meta/webhooks/deliver"),
        None,
        &json!({"url": rx.url, "event": {"object": "page", "entry": []}}),
    )
    .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["status"], 200);
    let got = &rx.received()[0];
    assert_eq!(
        got.header("x-hub-signature-256").map(str::to_string),
        Some(postd_sandbox::webhooks::meta_signature(
            &got.body,
            META_APP_SECRET
        ))
    );
    let bad = post_json(
        &control(&sb, "meta/webhooks/deliver"),
        None,
        &json!({"url": rx.url, "event": {}, "options": {"secret": "wrong"}}),
    )
    .await;
    assert_eq!(bad.status, 200);
    let sig = rx.received()[1]
        .header("x-hub-signature-256")
        .map(str::to_string);
    assert_ne!(
        sig,
        Some(postd_sandbox::webhooks::meta_signature(
            &rx.received()[1].body,
            META_APP_SECRET
        ))
    );
    let v = post_json(
        &control(&sb, "meta/webhooks/verify"),
        None,
        &json!({"url": rx.url, "verify_token": "verify-me"}),
    )
    .await;
    assert_eq!(v.body["passed"], true, "{}", v.text);
    let unreachable = post_json(
        &control(&sb, "tiktok/webhooks/deliver"),
        None,
        &json!({"url": "http://127.0.0.1:1/x", "event": {"event": "x"}}),
    )
    .await;
    assert_eq!(unreachable.status, 502);
}

//! Meta login: code exchange, long-lived tokens, page tokens, app removal.

use super::*;

#[tokio::test]
async fn login_code_exchange_then_long_lived_exchange_has_no_refresh_token() {
    let sb = start().await;
    let g = graph(&sb);
    let short = login(&sb, ALL_SCOPES).await;
    let long = get(&format!(
        "{g}/oauth/access_token?grant_type=fb_exchange_token&client_id={META_APP_ID}&client_secret={META_APP_SECRET}&fb_exchange_token={short}"
    ))
    .await;
    assert_eq!(long.status, 200, "{}", long.text);
    assert_eq!(long.body["token_type"], "bearer");
    assert_eq!(long.body["expires_in"], 5_183_944);
    assert!(long.body.get("refresh_token").is_none());
    let long_token = long.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_ne!(long_token, short);

    // The short-lived token lapses after its hour; the long-lived one carries on.
    sb.advance_clock(Duration::from_secs(3601));
    assert_graph_error(
        &get(&format!("{g}/me?access_token={short}")).await,
        190,
        Some(463),
    );
    assert_eq!(
        get(&format!("{g}/me?fields=id,name&access_token={long_token}"))
            .await
            .body["id"],
        META_USER_ID
    );

    // "Refresh" = re-exchange while valid; once expired, the user must reconnect.
    let again = get(&format!(
        "{g}/oauth/access_token?grant_type=fb_exchange_token&client_id={META_APP_ID}&client_secret={META_APP_SECRET}&fb_exchange_token={long_token}"
    ))
    .await;
    assert_eq!(again.status, 200);
    sb.advance_clock(Duration::from_secs(61 * 86_400));
    let late = get(&format!(
        "{g}/oauth/access_token?grant_type=fb_exchange_token&client_id={META_APP_ID}&client_secret={META_APP_SECRET}&fb_exchange_token={long_token}"
    ))
    .await;
    assert_graph_error(&late, 190, Some(463));
}

#[tokio::test]
async fn a_code_works_once_and_needs_the_app_secret() {
    let sb = start().await;
    let g = graph(&sb);
    let a = get(&format!(
        "{g}/dialog/oauth?client_id={META_APP_ID}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&state=s"
    ))
    .await;
    let code = param(&a.header("location").expect("location"), "code").expect("code");
    let bad_secret = get(&format!(
        "{g}/oauth/access_token?client_id={META_APP_ID}&client_secret=wrong&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&code={code}"
    ))
    .await;
    assert_eq!(bad_secret.status, 400);
    assert_graph_error(&bad_secret, 1, None);
    let exchange = format!(
        "{g}/oauth/access_token?client_id={META_APP_ID}&client_secret={META_APP_SECRET}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&code={code}"
    );
    let first = get(&exchange).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["expires_in"], 3600);
    assert_graph_error(&get(&exchange).await, 100, Some(36009));
    let unknown_app = get(&format!(
        "{g}/dialog/oauth?client_id=1&redirect_uri=http%3A%2F%2Flocalhost%2Fcb"
    ))
    .await;
    assert_graph_error(&unknown_app, 101, None);
}

#[tokio::test]
async fn me_accounts_pages_through_pages_with_page_tokens() {
    let sb = start().await;
    let user = login(&sb, ALL_SCOPES).await;
    let first = get(&format!(
        "{}/me/accounts?fields=id,name,username,access_token,picture&limit=1&access_token={user}",
        graph(&sb)
    ))
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let data = first.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], META_PAGE_ID);
    assert!(
        data[0]["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(data[0]["picture"]["data"]["url"].is_string());
    let next = first.body["paging"]["next"]
        .as_str()
        .expect("paging.next")
        .to_string();
    let second = get(&next).await;
    assert_eq!(second.body["data"][0]["id"], META_PAGE2_ID);
    assert!(second.body["paging"].get("next").is_none());

    let perms = get(&format!(
        "{}/me/permissions?access_token={user}",
        graph(&sb)
    ))
    .await;
    let perms = perms.body["data"].as_array().expect("data").clone();
    assert!(perms.contains(&json!({"permission": "pages_manage_posts", "status": "granted"})));
}

#[tokio::test]
async fn removing_the_app_ends_every_token_of_the_grant() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let removed = delete(
        &format!("{}/me/permissions?access_token={user}", graph(&sb)),
        None,
    )
    .await;
    assert_eq!(removed.body, json!({"success": true}));
    assert_graph_error(
        &get(&format!("{}/me?access_token={page}", graph(&sb))).await,
        190,
        Some(458),
    );
    let missing = get(&format!("{}/me", graph(&sb))).await;
    assert_graph_error(&missing, 2500, None);
    let other = sb.issue_token(Platform::Meta).access_token;
    let unknown = get(&format!("{}/999/feed?access_token={other}", graph(&sb))).await;
    assert_graph_error(&unknown, 100, Some(33));
    assert_eq!(unknown.body["error"]["type"], "GraphMethodException");
}

#[tokio::test]
async fn page_tokens_do_not_expire_by_default_but_can_be_made_to() {
    // Unconfirmed in meta.md ("reportedly do not expire"): the sandbox follows that reading by
    // default and can produce the other one through MetaConfig::page_token_secs.
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    sb.advance_clock(Duration::from_secs(365 * 86_400));
    let me = get(&format!("{}/me?access_token={page}", graph(&sb))).await;
    assert_eq!(me.body["id"], META_PAGE_ID, "{}", me.text);

    let sb = start_with(SandboxConfig {
        meta: MetaConfig {
            page_token_secs: Some(3600),
            ..MetaConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    sb.advance_clock(Duration::from_secs(3601));
    assert_graph_error(
        &get(&format!("{}/me?access_token={page}", graph(&sb))).await,
        190,
        Some(463),
    );
}

//! OAuth: rotating refresh tokens, the older reading, revoke, creator info.

use super::*;

#[tokio::test]
async fn refresh_tokens_rotate_and_an_old_one_fails_with_invalid_grant() {
    let sb = start().await;
    let t = login(&sb).await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["open_id"], TIKTOK_OPEN_ID);
    assert_eq!(t.body["token_type"], "Bearer");
    assert_eq!(t.body["expires_in"], 7200);
    assert_eq!(t.body["refresh_expires_in"], 180 * 86_400);
    let access = t.body["access_token"].as_str().expect("access").to_string();
    let first = t.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let info = api(&sb, "user/info/?fields=open_id,display_name");
    assert_ok(&get_bearer(&info, &access).await);
    sb.advance_clock(Duration::from_secs(7200));
    assert_tt_error(
        &get_bearer(&info, &access).await,
        401,
        "access_token_invalid",
    );

    let r = refresh(&sb, &first).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = r.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_ne!(second, first);
    let reused = refresh(&sb, &first).await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.body["error"], "invalid_grant");
    assert!(reused.body["error_description"].is_string() && reused.body["log_id"].is_string());
    assert_eq!(refresh(&sb, &second).await.status, 200);
}

#[tokio::test]
async fn two_refreshes_racing_with_one_token_let_only_one_through() {
    let sb = start().await;
    let first = sb
        .issue_token(Platform::Tiktok)
        .refresh_token
        .expect("refresh");
    let (a, b) = tokio::join!(refresh(&sb, &first), refresh(&sb, &first));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
}

#[tokio::test]
async fn the_older_reading_keeps_the_refresh_token() {
    // tiktok.md: lifetimes disagree between doc versions; the older one (24 h / 365 d, no rotation) is a setting.
    let sb = start_with(SandboxConfig {
        tiktok: TikTokConfig::older_reading(),
        ..SandboxConfig::default()
    })
    .await;
    let t = login(&sb).await;
    assert_eq!(t.body["expires_in"], 86_400);
    assert_eq!(t.body["refresh_expires_in"], 365 * 86_400);
    let rt = t.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let r = refresh(&sb, &rt).await;
    assert_eq!(r.body["refresh_token"], rt.as_str());
    assert_eq!(refresh(&sb, &rt).await.status, 200);
}

#[tokio::test]
async fn revoke_ends_the_grant() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok);
    let r = post_form(
        &api(&sb, "oauth/revoke/"),
        &[
            ("client_key", TIKTOK_CLIENT_KEY),
            ("client_secret", TIKTOK_CLIENT_SECRET),
            ("token", &t.access_token),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_tt_error(
        &get_bearer(&api(&sb, "user/info/?fields=open_id"), &t.access_token).await,
        401,
        "access_token_invalid",
    );
    assert_eq!(
        refresh(&sb, &t.refresh_token.expect("refresh")).await.body["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn creator_info_lists_privacy_options() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let a = post_json(
        &api(&sb, "post/publish/creator_info/query/"),
        Some(&t),
        &json!({}),
    )
    .await;
    assert_ok(&a);
    let d = &a.body["data"];
    assert_eq!(d["creator_username"], "sandbox.creator");
    assert!(
        d["privacy_level_options"]
            .as_array()
            .is_some_and(|o| o.contains(&json!("SELF_ONLY")))
    );
    for k in [
        "creator_nickname",
        "comment_disabled",
        "duet_disabled",
        "stitch_disabled",
        "max_video_post_duration_sec",
    ] {
        assert!(!d[k].is_null(), "{k}");
    }
}

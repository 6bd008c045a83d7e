//! Drafts and photos, injected errors and scopes, and signed webhooks.

use super::*;

#[tokio::test]
async fn drafts_go_to_the_inbox_and_photos_post_from_urls() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let inbox = api(&sb, "post/publish/inbox/video/init/");
    let draft = json!({"source_info": {"source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4"}});
    let mut first = String::new();
    for i in 0..5 {
        let a = post_json(&inbox, Some(&t), &draft).await;
        assert_ok(&a);
        if i == 0 {
            first = a.body["data"]["publish_id"]
                .as_str()
                .expect("id")
                .to_string();
        }
    }
    assert_tt_error(
        &post_json(&inbox, Some(&t), &draft).await,
        403,
        "spam_risk_too_many_pending_share",
    );
    sb.advance_clock(Duration::from_secs(60));
    assert_eq!(
        status(&sb, &t, &first).await["status"],
        "SEND_TO_USER_INBOX"
    );

    let content = api(&sb, "post/publish/content/init/");
    let photo = |images: Value, cover: u64| json!({"post_info": {"title": "Pics", "description": "d", "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": false, "auto_add_music": true}, "source_info": {"source": "PULL_FROM_URL", "photo_images": images, "photo_cover_index": cover}, "post_mode": "DIRECT_POST", "media_type": "PHOTO"});
    assert_tt_error(
        &post_json(
            &content,
            Some(&t),
            &photo(json!(["https://example.com/1.jpg"]), 3),
        )
        .await,
        400,
        "invalid_params",
    );
    assert_tt_error(
        &post_json(&content, Some(&t), &photo(json!([]), 0)).await,
        400,
        "invalid_params",
    );
    let ok = post_json(
        &content,
        Some(&t),
        &photo(
            json!(["https://example.com/1.jpg", "https://example.com/2.jpg"]),
            1,
        ),
    )
    .await;
    assert_ok(&ok);
    let id = ok.body["data"]["publish_id"]
        .as_str()
        .expect("id")
        .to_string();
    sb.advance_clock(Duration::from_secs(30));
    assert_eq!(status(&sb, &t, &id).await["status"], "PUBLISH_COMPLETE");
}

#[tokio::test]
async fn injected_posting_errors_missing_scope_and_no_delete() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let init = api(&sb, "post/publish/video/init/");
    sb.inject(
        Platform::Tiktok,
        FaultRule {
            error: "spam_risk_too_many_posts".into(),
            count: 1,
            path_contains: Some("/video/init".into()),
        },
    )
    .expect("known");
    assert_tt_error(
        &post_json(&init, Some(&t), &init_body(MB, MB, 1, "SELF_ONLY")).await,
        403,
        "spam_risk_too_many_posts",
    );
    assert_ok(&post_json(&init, Some(&t), &init_body(MB, MB, 1, "SELF_ONLY")).await);
    sb.inject(
        Platform::Tiktok,
        FaultRule {
            error: "invalid_grant".into(),
            count: 1,
            path_contains: Some("/oauth/".into()),
        },
    )
    .expect("known");
    let r = refresh(&sb, "rft.whatever").await;
    assert_eq!(r.body["error"], "invalid_grant");
    // tiktok.md: no delete endpoint (unconfirmed); the sandbox has none.
    assert_eq!(
        delete(&api(&sb, "post/publish/video/"), Some(&t))
            .await
            .status,
        404
    );

    let a = get(&format!(
        "{}/v2/auth/authorize/?client_key={TIKTOK_CLIENT_KEY}&scope=user.info.basic&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
        sb.url(Platform::Tiktok)
    ))
    .await;
    let code = param(&a.header("location").expect("location"), "code").expect("code");
    let narrow = post_form(
        &api(&sb, "oauth/token/"),
        &[
            ("client_key", TIKTOK_CLIENT_KEY),
            ("client_secret", TIKTOK_CLIENT_SECRET),
            ("code", &code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    )
    .await;
    let narrow = narrow.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_tt_error(
        &post_json(&init, Some(&narrow), &init_body(MB, MB, 1, "SELF_ONLY")).await,
        401,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn webhooks_are_signed_with_tiktok_signature_over_timestamp_and_body() {
    let sb = start().await;
    let rx = Receiver::start().await;
    let event = json!({"event": "post.publish.complete", "content": {"publish_id": "v_pub_file~v2-1.1", "publish_type": "DIRECT_PUBLISH"}});
    sb.deliver_webhook(
        Platform::Tiktok,
        &rx.url,
        &event,
        &DeliveryOptions::default(),
    )
    .await
    .expect("delivered");
    let got = &rx.received()[0];
    let header = got
        .header("tiktok-signature")
        .expect("signature")
        .to_string();
    let t: i64 = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .expect("t=");
    assert!((t - sb.now_unix()).abs() < 5);
    assert_eq!(
        header,
        postd_sandbox::webhooks::tiktok_signature(t, &got.body, TIKTOK_CLIENT_SECRET)
    );
    let envelope: Value = serde_json::from_slice(&got.body).expect("json");
    assert_eq!(envelope["client_key"], TIKTOK_CLIENT_KEY);
    assert_eq!(envelope["event"], "post.publish.complete");
    assert_eq!(envelope["user_openid"], TIKTOK_OPEN_ID);
    assert!(envelope["create_time"].is_i64());
    let content: Value = serde_json::from_str(
        envelope["content"]
            .as_str()
            .expect("content is a JSON string"),
    )
    .expect("json");
    assert_eq!(content["publish_id"], "v_pub_file~v2-1.1");

    let stale = DeliveryOptions {
        timestamp: Some(1_600_000_000),
        ..DeliveryOptions::default()
    };
    sb.deliver_webhook(Platform::Tiktok, &rx.url, &event, &stale)
        .await
        .expect("delivered");
    assert!(
        rx.received()[1]
            .header("tiktok-signature")
            .is_some_and(|h| h.starts_with("t=1600000000,s="))
    );
}

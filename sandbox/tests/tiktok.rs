//! TikTok imitation, tested against ../shared/platforms/tiktok.md.

mod support;

use std::time::Duration;

use postd_sandbox::seed::*;
use postd_sandbox::{
    DeliveryOptions, FaultRule, Platform, RunningSandbox, SandboxConfig, TikTokConfig,
};
use serde_json::{Value, json};
use support::*;

const MB: u64 = 1024 * 1024;

fn api(sb: &RunningSandbox, path: &str) -> String {
    format!("{}/v2/{path}", sb.url(Platform::Tiktok))
}

fn assert_tt_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.body["error"]["code"], code, "{}", a.text);
    assert!(a.body["error"]["message"].is_string() && a.body["error"]["log_id"].is_string());
}

fn assert_ok(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["error"]["code"], "ok", "{}", a.text);
}

async fn login(sb: &RunningSandbox) -> Answer {
    let a = get(&format!(
        "{}/v2/auth/authorize/?client_key={TIKTOK_CLIENT_KEY}&scope=user.info.basic,video.publish,video.upload,video.list&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=tt",
        sb.url(Platform::Tiktok)
    ))
    .await;
    assert_eq!(a.status, 302, "{}", a.text);
    let loc = a.header("location").expect("location");
    assert_eq!(param(&loc, "state").as_deref(), Some("tt"));
    let code = param(&loc, "code").expect("code");
    post_form(
        &api(sb, "oauth/token/"),
        &[
            ("client_key", TIKTOK_CLIENT_KEY),
            ("client_secret", TIKTOK_CLIENT_SECRET),
            ("code", &code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    )
    .await
}

async fn refresh(sb: &RunningSandbox, token: &str) -> Answer {
    post_form(
        &api(sb, "oauth/token/"),
        &[
            ("client_key", TIKTOK_CLIENT_KEY),
            ("client_secret", TIKTOK_CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
        ],
    )
    .await
}

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

fn init_body(size: u64, chunk: u64, total: u64, privacy: &str) -> Value {
    json!({
        "post_info": {"title": "Sandbox video #bread", "privacy_level": privacy, "disable_duet": false, "disable_comment": false, "disable_stitch": false, "video_cover_timestamp_ms": 1000},
        "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": total},
    })
}

#[tokio::test]
async fn video_init_checks_chunk_arithmetic_and_privacy() {
    let sb = start_with(SandboxConfig::default()).await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let init = api(&sb, "post/publish/video/init/");
    let cases = [
        (
            init_body(3 * MB, MB, 3, "SELF_ONLY"),
            "small files are one chunk of their whole size",
        ),
        (
            init_body(12 * MB, 4 * MB, 3, "SELF_ONLY"),
            "chunks are at least 5 MB",
        ),
        (
            init_body(200 * MB, 65 * MB, 3, "SELF_ONLY"),
            "chunks are at most 64 MB",
        ),
        (
            init_body(12 * MB, 5 * MB, 3, "SELF_ONLY"),
            "total is floor(size / chunk), not ceil",
        ),
        (init_body(0, 0, 0, "SELF_ONLY"), "size must be positive"),
    ];
    for (body, why) in cases {
        assert_tt_error(
            &post_json(&init, Some(&t), &body).await,
            400,
            "invalid_params",
        );
        let _ = why;
    }
    // Init allows 6 calls per minute per token.
    sb.advance_clock(Duration::from_secs(60));
    let mismatch = post_json(
        &init,
        Some(&t),
        &init_body(3 * MB, 3 * MB, 1, "FOLLOWER_OF_CREATOR"),
    )
    .await;
    assert_tt_error(&mismatch, 400, "privacy_level_option_mismatch");
    assert_ok(&post_json(&init, Some(&t), &init_body(3 * MB, 3 * MB, 1, "SELF_ONLY")).await);
}

async fn status(sb: &RunningSandbox, token: &str, id: &str) -> Value {
    let a = post_json(
        &api(sb, "post/publish/status/fetch/"),
        Some(token),
        &json!({"publish_id": id}),
    )
    .await;
    assert_ok(&a);
    a.body["data"].clone()
}

#[tokio::test]
async fn chunks_upload_with_content_range_then_status_progresses_to_publish_complete() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let size = 12 * MB + 100;
    let chunk = 5 * MB;
    let a = post_json(
        &api(&sb, "post/publish/video/init/"),
        Some(&t),
        &init_body(size, chunk, 2, "PUBLIC_TO_EVERYONE"),
    )
    .await;
    assert_ok(&a);
    let id = a.body["data"]["publish_id"]
        .as_str()
        .expect("publish_id")
        .to_string();
    assert!(id.starts_with("v_pub_file~"));
    let upload = a.body["data"]["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string();
    assert!(param(&upload, "upload_id").is_some() && param(&upload, "upload_token").is_some());
    let put = |first: u64, last: u64, bytes: Vec<u8>| {
        let upload = upload.clone();
        async move {
            answer(
                client()
                    .put(&upload)
                    .header("content-type", "video/mp4")
                    .header("content-range", format!("bytes {first}-{last}/{size}"))
                    .body(bytes)
                    .send()
                    .await
                    .expect("put"),
            )
            .await
        }
    };
    let last_len = size - chunk;
    let out_of_order = put(chunk, size - 1, vec![0; last_len as usize]).await;
    assert_eq!(out_of_order.status, 416);
    let wrong_len = put(0, chunk - 2, vec![0; (chunk - 1) as usize]).await;
    assert_eq!(wrong_len.status, 400);
    assert_eq!(put(0, chunk - 1, vec![1; chunk as usize]).await.status, 206);
    let s = status(&sb, &t, &id).await;
    assert_eq!(s["status"], "PROCESSING_UPLOAD");
    assert_eq!(s["uploaded_bytes"], chunk);
    assert_eq!(
        put(chunk, size - 1, vec![2; last_len as usize])
            .await
            .status,
        201
    );
    let logged = sb
        .requests(Some(Platform::Tiktok))
        .into_iter()
        .rev()
        .find(|r| r.method == "PUT")
        .expect("logged");
    assert_eq!(
        logged.header("content-range"),
        Some(format!("bytes {chunk}-{}/{size}", size - 1).as_str())
    );
    assert!(logged.body_truncated && logged.body_len == last_len as usize);

    assert_eq!(status(&sb, &t, &id).await["status"], "PROCESSING_UPLOAD");
    sb.advance_clock(Duration::from_secs(30));
    let done = status(&sb, &t, &id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE");
    assert_eq!(
        done["publicaly_available_post_id"],
        json!([]),
        "the public id waits for moderation"
    );
    sb.advance_clock(Duration::from_secs(300));
    let public = status(&sb, &t, &id).await;
    let post_id = public["publicaly_available_post_id"][0]
        .as_str()
        .expect("post id")
        .to_string();
    let q = post_json(
        &api(
            &sb,
            "video/query/?fields=id,like_count,comment_count,share_count,view_count",
        ),
        Some(&t),
        &json!({"filters": {"video_ids": [post_id]}}),
    )
    .await;
    assert_ok(&q);
    assert_eq!(q.body["data"]["videos"][0]["id"], post_id.as_str());
    assert!(q.body["data"]["videos"][0]["view_count"].is_u64());
    let listed = post_json(
        &api(&sb, "video/list/?fields=id,title,create_time"),
        Some(&t),
        &json!({"max_count": 10}),
    )
    .await;
    assert_ok(&listed);
    assert_eq!(listed.body["data"]["videos"][0]["id"], post_id.as_str());
    assert_eq!(listed.body["data"]["has_more"], false);
    let stats = get_bearer(
        &api(
            &sb,
            "user/info/?fields=follower_count,following_count,likes_count,video_count",
        ),
        &t,
    )
    .await;
    assert_eq!(stats.body["data"]["user"]["video_count"], 13);
}

#[tokio::test]
async fn pulled_videos_download_then_complete_or_fail() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let init = api(&sb, "post/publish/video/init/");
    let pull = |url: &str| json!({"post_info": {"title": "t", "privacy_level": "SELF_ONLY"}, "source_info": {"source": "PULL_FROM_URL", "video_url": url}});
    let ok = post_json(&init, Some(&t), &pull("https://example.com/v.mp4")).await;
    assert_ok(&ok);
    assert!(ok.body["data"].get("upload_url").is_none());
    let id = ok.body["data"]["publish_id"]
        .as_str()
        .expect("id")
        .to_string();
    let bad = post_json(
        &init,
        Some(&t),
        &pull("https://example.com/sandbox-fail.mp4"),
    )
    .await;
    let bad_id = bad.body["data"]["publish_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_tt_error(
        &post_json(
            &init,
            Some(&t),
            &pull("https://sandbox-unverified.example/v.mp4"),
        )
        .await,
        403,
        "url_ownership_unverified",
    );
    assert_eq!(status(&sb, &t, &id).await["status"], "PROCESSING_DOWNLOAD");
    sb.advance_clock(Duration::from_secs(30));
    let s = status(&sb, &t, &id).await;
    assert_eq!(s["status"], "PUBLISH_COMPLETE");
    sb.advance_clock(Duration::from_secs(3600));
    assert_eq!(
        status(&sb, &t, &id).await["publicaly_available_post_id"],
        json!([]),
        "SELF_ONLY posts never become public"
    );
    let f = status(&sb, &t, &bad_id).await;
    assert_eq!(f["status"], "FAILED");
    assert_eq!(f["fail_reason"], "video_pull_failed");
}

#[tokio::test]
async fn per_minute_limits_for_init_and_status() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let init = api(&sb, "post/publish/video/init/");
    let body = init_body(MB, MB, 1, "SELF_ONLY");
    let mut id = String::new();
    for _ in 0..6 {
        let a = post_json(&init, Some(&t), &body).await;
        assert_ok(&a);
        id = a.body["data"]["publish_id"]
            .as_str()
            .expect("id")
            .to_string();
    }
    let over = post_json(&init, Some(&t), &body).await;
    assert_tt_error(&over, 429, "rate_limit_exceeded");
    assert!(over.header("retry-after").is_none());
    for _ in 0..30 {
        status(&sb, &t, &id).await;
    }
    assert_tt_error(
        &post_json(
            &api(&sb, "post/publish/status/fetch/"),
            Some(&t),
            &json!({"publish_id": id}),
        )
        .await,
        429,
        "rate_limit_exceeded",
    );
    sb.advance_clock(Duration::from_secs(60));
    assert_ok(&post_json(&init, Some(&t), &body).await);
}

#[tokio::test]
async fn unaudited_clients_may_only_post_self_only() {
    let sb = start_with(SandboxConfig {
        tiktok: TikTokConfig {
            unaudited_client: true,
            ..TikTokConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let init = api(&sb, "post/publish/video/init/");
    assert_tt_error(
        &post_json(&init, Some(&t), &init_body(MB, MB, 1, "PUBLIC_TO_EVERYONE")).await,
        403,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    assert_ok(&post_json(&init, Some(&t), &init_body(MB, MB, 1, "SELF_ONLY")).await);
}

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

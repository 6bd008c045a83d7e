//! Video init chunk arithmetic, chunk uploads and status, pulls, per-minute limits, audit rules.

use super::*;

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

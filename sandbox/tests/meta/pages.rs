//! Facebook Pages: feed, photos, scheduling, video, delete, insights.

use super::*;

#[tokio::test]
async fn feed_posts_need_the_page_token_and_answer_page_underscore_post_ids() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let feed = format!("{}/{META_PAGE_ID}/feed", graph(&sb));
    let with_user = post_form(&feed, &[("message", "hi"), ("access_token", &user)]).await;
    assert_eq!(with_user.status, 403);
    assert_graph_error(&with_user, 200, None);
    let empty = post_form(&feed, &[("access_token", &page)]).await;
    assert_graph_error(&empty, 100, None);
    let ok = post_json(
        &feed,
        Some(&page),
        &json!({"message": "Fresh bread", "link": "https://example.com/bread"}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let id = ok.body["id"].as_str().expect("id");
    assert!(id.starts_with(&format!("{META_PAGE_ID}_")), "{id}");
    let listed = get(&format!("{feed}?access_token={page}")).await;
    assert_eq!(listed.body["data"][0]["id"], id);
    // The same status again is refused as a duplicate (506).
    let again = post_json(
        &feed,
        Some(&page),
        &json!({"message": "Fresh bread", "link": "https://example.com/bread"}),
    )
    .await;
    assert_graph_error(&again, 506, None);
}

#[tokio::test]
async fn photo_uploaded_unpublished_is_attached_to_a_feed_post() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let g = graph(&sb);
    let photo = post_form(
        &format!("{g}/{META_PAGE_ID}/photos"),
        &[
            ("url", "https://example.com/a.jpg"),
            ("published", "false"),
            ("access_token", &page),
        ],
    )
    .await;
    assert_eq!(photo.status, 200, "{}", photo.text);
    let photo_id = photo.body["id"].as_str().expect("id").to_string();
    assert!(photo.body.get("post_id").is_none());
    let bad = post_json(
        &format!("{g}/{META_PAGE_ID}/feed"),
        Some(&page),
        &json!({"message": "x", "attached_media": [{"media_fbid": "999"}]}),
    )
    .await;
    assert_graph_error(&bad, 100, None);
    let post = post_form(
        &format!("{g}/{META_PAGE_ID}/feed"),
        &[
            ("message", "With photo"),
            (
                "attached_media",
                &json!([{"media_fbid": photo_id}]).to_string(),
            ),
            ("access_token", &page),
        ],
    )
    .await;
    assert_eq!(post.status, 200, "{}", post.text);
    let large = post_form(
        &format!("{g}/{META_PAGE_ID}/photos"),
        &[
            ("url", "https://example.com/sandbox-large.jpg"),
            ("access_token", &page),
        ],
    )
    .await;
    assert_graph_error(&large, 100, Some(1_366_046));
}

#[tokio::test]
async fn scheduling_accepts_ten_minutes_to_seventy_five_days_ahead() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let feed = format!("{}/{META_PAGE_ID}/feed", graph(&sb));
    let now = sb.now_unix();
    let schedule = |t: i64| {
        let feed = feed.clone();
        let page = page.clone();
        async move {
            post_form(
                &feed,
                &[
                    ("message", "later"),
                    ("published", "false"),
                    ("scheduled_publish_time", &t.to_string()),
                    ("access_token", &page),
                ],
            )
            .await
        }
    };
    assert_graph_error(&schedule(now + 5 * 60).await, 100, None);
    assert_graph_error(&schedule(now + 76 * 86_400).await, 100, None);
    assert_eq!(schedule(now + 74 * 86_400).await.status, 200);
    let soon = schedule(now + 11 * 60).await;
    assert_eq!(soon.status, 200, "{}", soon.text);
    let id = soon.body["id"].as_str().expect("id").to_string();
    // A schedule on a published post is refused.
    let published = post_form(
        &feed,
        &[
            ("message", "x"),
            ("scheduled_publish_time", &(now + 3600).to_string()),
            ("access_token", &page),
        ],
    )
    .await;
    assert_graph_error(&published, 100, None);

    let scheduled = get(&format!(
        "{}/{META_PAGE_ID}/scheduled_posts?access_token={page}",
        graph(&sb)
    ))
    .await;
    assert_eq!(scheduled.body["data"].as_array().map(Vec::len), Some(2));
    assert!(
        get(&format!("{feed}?access_token={page}")).await.body["data"]
            .as_array()
            .expect("data")
            .is_empty()
    );
    sb.advance_clock(Duration::from_secs(12 * 60));
    let listed = get(&format!("{feed}?access_token={page}")).await;
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
}

#[tokio::test]
async fn video_status_goes_from_in_progress_to_ready() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let g = graph(&sb);
    let v = post_form(
        &format!("{g}/{META_PAGE_ID}/videos"),
        &[
            ("file_url", "https://example.com/v.mp4"),
            ("description", "clip"),
            ("access_token", &page),
        ],
    )
    .await;
    let vid = v.body["id"].as_str().expect("id").to_string();
    let status = || async {
        get(&format!("{g}/{vid}?fields=status&access_token={page}"))
            .await
            .body["status"]["video_status"]
            .clone()
    };
    assert_eq!(status().await, "in_progress");
    sb.advance_clock(Duration::from_secs(30));
    assert_eq!(status().await, "upload_complete");
    sb.advance_clock(Duration::from_secs(30));
    assert_eq!(status().await, "ready");
}

#[tokio::test]
async fn delete_answers_success_true_then_the_post_is_gone() {
    // meta.md marks the delete answer shape as unconfirmed; the sandbox answers {"success":true}.
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let g = graph(&sb);
    let post = post_form(
        &format!("{g}/{META_PAGE_ID}/feed"),
        &[("message", "bye"), ("access_token", &page)],
    )
    .await;
    let id = post.body["id"].as_str().expect("id").to_string();
    let del = delete(&format!("{g}/{id}?access_token={page}"), None).await;
    assert_eq!(del.body, json!({"success": true}));
    assert_graph_error(
        &get(&format!("{g}/{id}?access_token={page}")).await,
        100,
        Some(33),
    );
    assert_graph_error(
        &delete(&format!("{g}/{id}"), Some(&page)).await,
        100,
        Some(33),
    );
}

#[tokio::test]
async fn page_insights_return_daily_values() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let until = sb.now_unix();
    let since = until - 3 * 86_400;
    let a = get(&format!(
        "{}/{META_PAGE_ID}/insights?metric=page_media_view,page_post_engagements&period=day&since={since}&until={until}&access_token={page}",
        graph(&sb)
    ))
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let data = a.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["name"], "page_media_view");
    let values = data[0]["values"].as_array().expect("values");
    assert_eq!(values.len(), 3);
    assert!(values[0]["value"].is_u64() && values[0]["end_time"].is_string());
    assert_graph_error(
        &get(&format!(
            "{}/{META_PAGE_ID}/insights?access_token={page}",
            graph(&sb)
        ))
        .await,
        100,
        None,
    );
}

#[tokio::test]
async fn metrics_retired_in_2025_are_refused_as_graph_does() {
    // meta.md: page_impressions, page_fan_adds, post_impressions and post_impressions_unique were
    // retired for all versions; Graph answers (#100) "The value must be a valid insights metric".
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let g = graph(&sb);
    let post = post_form(
        &format!("{g}/{META_PAGE_ID}/feed"),
        &[("message", "measured"), ("access_token", &page)],
    )
    .await;
    let post_id = post.body["id"].as_str().expect("id").to_string();
    let cases = [
        (META_PAGE_ID, "page_impressions", "page_media_view"),
        (META_PAGE_ID, "page_fan_adds", "page_follows"),
        (post_id.as_str(), "post_impressions", "post_media_view"),
        (
            post_id.as_str(),
            "post_impressions_unique",
            "post_total_media_view_unique",
        ),
    ];
    for (node, retired, replacement) in cases {
        let refused = get(&format!(
            "{g}/{node}/insights?metric={retired}&access_token={page}"
        ))
        .await;
        assert_eq!(refused.status, 400, "{retired}: {}", refused.text);
        assert_graph_error(&refused, 100, None);
        assert_eq!(
            refused.body["error"]["message"],
            "(#100) The value must be a valid insights metric"
        );
        let served = get(&format!(
            "{g}/{node}/insights?metric={replacement}&access_token={page}"
        ))
        .await;
        assert_eq!(served.status, 200, "{replacement}: {}", served.text);
        assert_eq!(served.body["data"][0]["name"], replacement);
    }
}

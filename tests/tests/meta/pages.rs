//! Facebook Page posts: text, link, images, video, native scheduling, the 506 duplicate, Graph error mapping.
//! Lost answers and retries: `lost_answers.rs`.

use super::*;

#[tokio::test]
async fn page_text_link_and_image_posts_then_delete() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut text = post(PAGE, "Fresh bread today", &[]);
    text.link = Some("https://bakery.example/menu".into());
    let served = publish(&env, text, job("job-text", 1, None)).await;
    let first = published(reply!(served, Publish).unwrap());
    assert!(first.post_id.starts_with(&format!("{PAGE}_")));
    assert!(first.url.as_deref().unwrap().contains("/posts/"));

    let mut images = post(PAGE, "Our loaves", &[]);
    images.media = vec![
        media(MediaKind::Image, "https://cdn.example/a.jpg"),
        media(MediaKind::Image, "https://cdn.example/b.jpg"),
    ];
    let served = publish(&env, images, job("job-img", 1, None)).await;
    let second = published(reply!(served, Publish).unwrap());

    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        [
            format!("POST /{PAGE}/feed"),
            format!("POST /{PAGE}/photos"),
            format!("POST /{PAGE}/photos"),
            format!("POST /{PAGE}/feed"),
        ]
    );
    assert_eq!(body(&log[0])["message"], "Fresh bread today");
    assert_eq!(body(&log[0])["link"], "https://bakery.example/menu");
    assert_eq!(body(&log[1])["published"], false);
    assert_eq!(body(&log[3])["attached_media"].as_array().unwrap().len(), 2);
    assert!(
        log[0]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );

    let since = env.last_request_id();
    for id in [&first.post_id, &second.post_id] {
        let served = env
            .call(
                Some(CONNECTION),
                None,
                Invocation::DeletePost(DeleteRequest {
                    account_id: PAGE.into(),
                    post_id: id.clone(),
                }),
            )
            .await;
        reply!(served, DeletePost).unwrap();
    }
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        [
            format!("DELETE /{}", first.post_id),
            format!("DELETE /{}", second.post_id)
        ]
    );
}

#[tokio::test]
async fn native_scheduling_inside_ten_minutes_to_75_days_and_invalid_input_outside() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let at = now() + 3_600;
    let mut scheduled = post(PAGE, "Tomorrow's special", &[]);
    scheduled.scheduled_for = Some(at);
    let since = env.last_request_id();
    let served = publish(&env, scheduled, job("job-sched", 1, None)).await;
    assert_eq!(
        published(reply!(served, Publish).unwrap()).scheduled_for,
        Some(at)
    );
    let log = env.requests_since(since, PREFIX);
    assert_eq!(body(&log[0])["published"], false);
    assert_eq!(body(&log[0])["scheduled_publish_time"], at);

    for (lead, reason) in [(300, "10 minutes"), (80 * 86_400, "75 days")] {
        let mut outside = post(PAGE, "Too soon or too late", &[]);
        outside.scheduled_for = Some(now() + lead);
        let since = env.last_request_id();
        let served = publish(&env, outside, job("job-out", 1, None)).await;
        match expect_err(reply!(served, Publish), "outside the window") {
            ConnectorError::InvalidInput(why) => assert!(why.contains(reason), "{why}"),
            other => panic!("expected invalid-input, got {other:?}"),
        }
        assert!(env.requests_since(since, PREFIX).is_empty(), "nothing sent");
    }
}

#[tokio::test]
async fn the_506_duplicate_is_this_jobs_post_on_a_retry_and_refused_otherwise() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let served = publish(&env, post(PAGE, "Same words", &[]), job("job-a", 1, None)).await;
    let point = served.recovery_point.clone();
    let original = published(reply!(served, Publish).unwrap());
    let point = point.unwrap();
    assert!(point.starts_with(&format!("fb-feed:{PAGE}:")), "{point}");

    // Another job with the same text: Meta's 506, and no second post.
    let served = publish(&env, post(PAGE, "Same words", &[]), job("job-b", 1, None)).await;
    match expect_err(reply!(served, Publish), "a second job") {
        ConnectorError::Platform(p) => assert_eq!(p.code, "506"),
        other => panic!("expected platform 506, got {other:?}"),
    }

    // A retry of the first job (its answer lost): its own post is found and reported, not refused.
    let served = publish(
        &env,
        post(PAGE, "Same words", &[]),
        job("job-a", 2, Some(&point)),
    )
    .await;
    assert_eq!(
        published(reply!(served, Publish).unwrap()).post_id,
        original.post_id
    );

    let created = env
        .sandbox
        .requests(Some(Platform::Meta))
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/feed") && r.status == Some(200))
        .count();
    assert_eq!(created, 1, "one post on the Page");
}

#[tokio::test]
async fn a_page_video_is_followed_through_continuations() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let mut video = post(PAGE, "Behind the scenes", &[]);
    video.media = vec![media(MediaKind::Video, "https://cdn.example/bts.mp4")];
    let served = publish(&env, video, job("job-video", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    assert!(point.starts_with("fb-video:"));
    let task = served.continuations[0].clone();
    assert_eq!(task.kind, "fb-video-status");
    in_progress(reply!(served, Publish).unwrap());

    let served = handle(&env, &task, job("job-video", 1, Some(&point))).await;
    let task = served.continuations[0].clone();
    assert!(in_progress(reply!(served, HandleTask).unwrap()).contains("in_progress"));
    env.sandbox.advance_clock(Duration::from_secs(61));
    let served = handle(&env, &task, job("job-video", 1, Some(&point))).await;
    assert!(served.continuations.is_empty());
    let done = published(reply!(served, HandleTask).unwrap());
    assert_eq!(format!("fb-video:{}", done.post_id), point);
}

#[tokio::test]
async fn graph_errors_map_to_the_taxonomy_with_throttle_waits() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    type Check = fn(&ConnectorError) -> bool;
    let cases: &[(&str, Check)] = &[
        (
            "32",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 300_000),
        ),
        (
            "80001",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 300_000),
        ),
        (
            "4",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 60_000),
        ),
        ("17", |e| matches!(e, ConnectorError::RateLimited(_))),
        ("613", |e| matches!(e, ConnectorError::RateLimited(_))),
        ("368/1390008", |e| {
            matches!(e, ConnectorError::RateLimited(_))
        }),
        ("1", |e| matches!(e, ConnectorError::Transient(_))),
        ("2", |e| matches!(e, ConnectorError::Transient(_))),
        ("190/463", |e| matches!(e, ConnectorError::AuthExpired(_))),
        ("190/460", |e| matches!(e, ConnectorError::AuthRevoked(_))),
        ("10", |e| matches!(e, ConnectorError::PermissionMissing(_))),
        ("200", |e| matches!(e, ConnectorError::PermissionMissing(_))),
    ];
    for (n, (code, expected)) in cases.iter().enumerate() {
        env.sandbox
            .inject(Platform::Meta, rule(code, "/feed"))
            .unwrap();
        let served = publish(
            &env,
            post(PAGE, &format!("Fault {n}"), &[]),
            job(&format!("job-f{n}"), 1, None),
        )
        .await;
        let error = expect_err(reply!(served, Publish), code);
        assert!(expected(&error), "{code} gave {error:?}");
    }
}

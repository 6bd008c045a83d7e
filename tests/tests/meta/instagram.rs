//! Instagram containers across continuations, carousels and reels, the publishing quota. Insights
//! and Instagram deletes: `insights.rs`.

use super::*;

#[tokio::test]
async fn an_instagram_image_is_polled_across_continuations_and_published_once() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut image = post(IG, "Sourdough #bread", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/loaf.jpg")];
    let served = publish(&env, image.clone(), job("job-ig", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let container = point
        .strip_prefix("ig-container:")
        .expect("the container is the recovery point")
        .to_string();
    let first = served.continuations[0].clone();
    assert_eq!(first.kind, "ig-poll");
    assert!(
        first.delay > Duration::ZERO,
        "a continuation, never a blocking poll"
    );
    in_progress(reply!(served, Publish).unwrap());

    // Still processing: another continuation.
    let served = handle(&env, &first, job("job-ig", 1, Some(&point))).await;
    let second = served.continuations[0].clone();
    assert!(in_progress(reply!(served, HandleTask).unwrap()).contains("in progress"));

    // A retry of the job meanwhile resumes the container instead of creating another.
    let served = publish(&env, image.clone(), job("job-ig", 2, Some(&point))).await;
    assert_eq!(served.continuations.len(), 1);
    in_progress(reply!(served, Publish).unwrap());

    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(&env, &second, job("job-ig", 1, Some(&point))).await;
    let media_point = served.recovery_point.clone().unwrap();
    let done = published(reply!(served, HandleTask).unwrap());
    assert_eq!(media_point, format!("ig-media:{}", done.post_id));
    assert!(
        done.url
            .as_deref()
            .unwrap()
            .starts_with("https://www.instagram.com/p/")
    );

    // The duplicate continuation from the retry finds the container PUBLISHED: no second publish.
    let served = handle(&env, &second, job("job-ig", 2, Some(&point))).await;
    assert_eq!(
        published(reply!(served, HandleTask).unwrap()).post_id,
        done.post_id
    );

    let log = lines(&env.requests_since(since, PREFIX));
    let count = |l: &str| log.iter().filter(|x| *x == l).count();
    assert_eq!(
        count(&format!("GET /{IG}/content_publishing_limit")),
        1,
        "{log:?}"
    );
    assert_eq!(
        count(&format!("POST /{IG}/media")),
        1,
        "one container: {log:?}"
    );
    assert_eq!(
        count(&format!("POST /{IG}/media_publish")),
        1,
        "one publish: {log:?}"
    );
    assert!(count(&format!("GET /{container}")) >= 3);
}

#[tokio::test]
async fn instagram_carousels_and_reels_build_their_containers() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut carousel = post(IG, "Three loaves", &[]);
    carousel.media = vec![
        media(MediaKind::Image, "https://cdn.example/1.jpg"),
        media(MediaKind::Video, "https://cdn.example/2.mp4"),
    ];
    let served = publish(&env, carousel, job("job-car", 1, None)).await;
    in_progress(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let creates: Vec<_> = log
        .iter()
        .filter(|r| r.path == format!("/{IG}/media"))
        .collect();
    assert_eq!(creates.len(), 3, "two items and the carousel");
    assert_eq!(body(creates[0])["is_carousel_item"], true);
    assert_eq!(body(creates[1])["media_type"], "VIDEO");
    assert_eq!(body(creates[2])["media_type"], "CAROUSEL");
    assert_eq!(body(creates[2])["children"].as_array().unwrap().len(), 2);

    let since = env.last_request_id();
    let mut reel = post(IG, "A reel", &[]);
    reel.media = vec![media(MediaKind::Video, "https://cdn.example/reel.mp4")];
    let served = publish(&env, reel, job("job-reel", 1, None)).await;
    in_progress(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let create = log
        .iter()
        .find(|r| r.path == format!("/{IG}/media"))
        .unwrap();
    assert_eq!(body(create)["media_type"], "REELS");

    let served = publish(&env, post(IG, "Text only", &[]), job("job-txt", 1, None)).await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "text-only Instagram"),
        ConnectorError::InvalidInput(_)
    ));
}

#[tokio::test]
async fn a_spent_instagram_quota_is_rate_limited_before_any_container() {
    let mut config = SandboxConfig::default();
    config.meta.ig_publishes_per_day = 1;
    let env = env_with(config).await;
    connect(&env, &[]).await.unwrap();
    let mut image = post(IG, "First", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/1.jpg")];
    let served = publish(&env, image.clone(), job("job-q1", 1, None)).await;
    let task = served.continuations[0].clone();
    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(&env, &task, job("job-q1", 1, None)).await;
    published(reply!(served, HandleTask).unwrap());

    let since = env.last_request_id();
    image.text = "Second".into();
    let served = publish(&env, image, job("job-q2", 1, None)).await;
    match expect_err(reply!(served, Publish), "over quota") {
        ConnectorError::RateLimited(info) => assert_eq!(info.retry_after_ms, 3_600_000),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        [format!("GET /{IG}/content_publishing_limit")]
    );
}

#[tokio::test]
async fn a_scheduled_instagram_post_waits_in_continuations_without_calling_meta() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut image = post(IG, "Later", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/later.jpg")];
    image.scheduled_for = Some(now() + 3_600);
    let served = publish(&env, image, job("job-later", 1, None)).await;
    let wait = served.continuations[0].clone();
    assert_eq!(wait.kind, "ig-wait");
    assert!(
        (3_590..=3_600).contains(&wait.delay.as_secs()),
        "{:?}",
        wait.delay
    );
    assert!(in_progress(reply!(served, Publish).unwrap()).contains("cannot schedule"));

    // Handled before its time (a retry, or a continuation run early): it waits again for the
    // rest.
    let served = handle(&env, &wait, job("job-later", 1, None)).await;
    assert_eq!(served.continuations[0].kind, "ig-wait");
    in_progress(reply!(served, HandleTask).unwrap());
    assert!(
        env.requests_since(since, PREFIX).is_empty(),
        "nothing is sent before its time"
    );
}

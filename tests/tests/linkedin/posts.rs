//! Text, image and video posts, the post URN from `x-restli-id`, retries that never post twice,
//! delete, and organization analytics.

use super::*;

#[tokio::test]
async fn a_text_post_takes_its_urn_from_the_header_and_a_retry_never_posts_twice() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let since = env.last_request_id();
    let text = post(&member(), "Launch day (finally) #news", &[]);
    let served = publish(env, text.clone(), job("job-text", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let done = published(reply!(served, Publish).unwrap());
    assert!(
        done.post_id.starts_with("urn:li:share:"),
        "{}",
        done.post_id
    );
    assert_eq!(point, format!("li-post:{}", done.post_id));
    assert_eq!(
        done.url.as_deref(),
        Some(format!("https://www.linkedin.com/feed/update/{}", done.post_id).as_str())
    );
    assert_eq!(done.scheduled_for, None);

    let log = env.requests_since(since, PREFIX);
    assert_eq!(lines(&log), ["POST /rest/posts"]);
    assert_eq!(log[0].status, Some(201));
    let sent = body(&log[0]);
    assert_eq!(sent["author"], member());
    assert_eq!(
        sent["commentary"], "Launch day \\(finally\\) #news",
        "reserved characters escaped, hashtags kept"
    );
    assert_eq!(sent["visibility"], "PUBLIC");
    assert_eq!(sent["lifecycleState"], "PUBLISHED");
    assert_eq!(sent["distribution"]["feedDistribution"], "MAIN_FEED");
    assert_eq!(sent["isReshareDisabledByAuthor"], false);
    assert_versioned(&log);

    // A retry of the job (its answer lost) reports the post it already made.
    let since = env.last_request_id();
    let served = publish(env, text, job("job-text", 2, Some(&point))).await;
    assert_eq!(
        published(reply!(served, Publish).unwrap()).post_id,
        done.post_id
    );
    assert!(env.requests_since(since, PREFIX).is_empty(), "nothing sent");

    // Delete: 204, and a second delete finds it gone and still succeeds.
    let since = env.last_request_id();
    for _ in 0..2 {
        let served = env
            .call(
                Some(CONNECTION),
                None,
                Invocation::DeletePost(DeleteRequest {
                    account_id: member(),
                    post_id: done.post_id.clone(),
                }),
            )
            .await;
        reply!(served, DeletePost).unwrap();
    }
    let log = env.requests_since(since, PREFIX);
    let encoded = done.post_id.replace(':', "%3A");
    assert_eq!(
        lines(&log),
        [
            format!("DELETE /rest/posts/{encoded}"),
            format!("DELETE /rest/posts/{encoded}")
        ]
    );
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(204), Some(404)]
    );
}

#[tokio::test]
async fn a_link_becomes_an_article_and_bad_posts_are_refused_before_sending() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut linked = post(&org(), "Read this", &[("title", "Our story")]);
    linked.link = Some("https://corp.example/story".into());
    let served = publish(env, linked, job("job-link", 1, None)).await;
    published(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let sent = body(&log[0]);
    assert_eq!(sent["author"], org());
    assert_eq!(
        sent["content"]["article"]["source"],
        "https://corp.example/story"
    );
    assert_eq!(sent["content"]["article"]["title"], "Our story");

    let since = env.last_request_id();
    let long = post(&member(), &"x".repeat(3_001), &[]);
    let served = publish(env, long, job("job-long", 1, None)).await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "too long"),
        ConnectorError::InvalidInput(why) if why.contains("3000")
    ));
    let served = publish(env, post(&member(), "  ", &[]), job("job-empty", 1, None)).await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "empty"),
        ConnectorError::InvalidInput(_)
    ));
    let served = publish(
        env,
        post("urn:li:group:1", "Hi", &[]),
        job("job-group", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "not an author"),
        ConnectorError::InvalidInput(_)
    ));
    assert!(env.requests_since(since, PREFIX).is_empty(), "nothing sent");

    // An organization the member does not administer: LinkedIn's 403.
    let other = format!("urn:li:organization:{}", seed::LINKEDIN_OTHER_ORG_ID);
    let served = publish(
        env,
        post(&other, "Not ours", &[]),
        job("job-other", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "another organization"),
        ConnectorError::PermissionMissing(_)
    ));
}

#[tokio::test]
async fn images_are_uploaded_then_posted_as_media_or_multi_image() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut one = post(&org(), "One picture", &[]);
    one.media = vec![media(MediaKind::Image, format!("{}/image.jpg", li.media))];
    let served = publish(env, one, job("job-img1", 1, None)).await;
    published(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let summary: Vec<String> = lines(&log)
        .into_iter()
        .map(|l| l.split("/image/").next().unwrap().to_string())
        .collect();
    assert_eq!(
        summary,
        ["POST /rest/images", "PUT /_upload", "POST /rest/posts"]
    );
    assert_eq!(log[0].query.as_deref(), Some("action=initializeUpload"));
    assert_eq!(body(&log[0])["initializeUploadRequest"]["owner"], org());
    assert_eq!(log[1].body_len, 7, "the image's bytes");
    let image = body(&log[2])["content"]["media"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(image.starts_with("urn:li:image:"), "{image}");
    assert_versioned(&log);

    let since = env.last_request_id();
    let mut two = post(&member(), "Two pictures", &[]);
    two.media = vec![
        media(MediaKind::Image, format!("{}/image.jpg", li.media)),
        media(MediaKind::Image, format!("{}/image.jpg", li.media)),
    ];
    let served = publish(env, two, job("job-img2", 1, None)).await;
    published(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    assert_eq!(log.len(), 5);
    let images = body(&log[4])["content"]["multiImage"]["images"].clone();
    assert_eq!(images.as_array().unwrap().len(), 2);

    // Media that cannot be fetched is invalid input, and nothing is posted.
    let since = env.last_request_id();
    let mut missing = post(&member(), "Gone", &[]);
    missing.media = vec![media(MediaKind::Image, format!("{}/nope.jpg", li.media))];
    let served = publish(env, missing, job("job-404", 1, None)).await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "missing media"),
        ConnectorError::InvalidInput(_)
    ));
    assert!(env.requests_since(since, PREFIX).is_empty());
}

#[tokio::test]
async fn a_video_is_uploaded_in_parts_finalized_with_its_etags_and_polled_as_continuations() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut video = post(&org(), "Behind the scenes", &[]);
    video.media = vec![media(MediaKind::Video, format!("{}/video.mp4", li.media))];
    let served = publish(env, video.clone(), job("job-video", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let urn = point
        .strip_prefix("li-video:")
        .expect("the video is the recovery point")
        .to_string();
    let first = served.continuations[0].clone();
    assert_eq!(first.kind, "li-video-status");
    assert!(
        first.delay > Duration::ZERO,
        "a continuation, never a blocking poll"
    );
    in_progress(reply!(served, Publish).unwrap());

    let log = env.requests_since(since, PREFIX);
    let summary: Vec<String> = lines(&log)
        .into_iter()
        .map(|l| l.split("/video/").next().unwrap().to_string())
        .collect();
    assert_eq!(
        summary,
        [
            "POST /rest/videos",
            "PUT /_upload",
            "PUT /_upload",
            "POST /rest/videos"
        ]
    );
    let init = body(&log[0]);
    assert_eq!(log[0].query.as_deref(), Some("action=initializeUpload"));
    assert_eq!(init["initializeUploadRequest"]["owner"], org());
    assert_eq!(
        init["initializeUploadRequest"]["fileSizeBytes"],
        PART + 512 * 1024
    );
    assert_eq!((log[1].body_len, log[2].body_len), (PART, 512 * 1024));
    assert_eq!(log[3].query.as_deref(), Some("action=finalizeUpload"));
    let finalize = body(&log[3]);
    assert_eq!(finalize["finalizeUploadRequest"]["video"], urn.as_str());
    let etags = finalize["finalizeUploadRequest"]["uploadedPartIds"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(etags.len(), 2);
    assert!(
        etags[0].as_str().unwrap().contains("/0/") && etags[1].as_str().unwrap().contains("/1/"),
        "the etags in part order: {etags:?}"
    );

    // Still processing: another continuation, and no post yet.
    let served = handle(env, &first, job("job-video", 1, Some(&point))).await;
    let second = served.continuations[0].clone();
    assert!(in_progress(reply!(served, HandleTask).unwrap()).contains("PROCESSING"));

    // A retry of the job meanwhile polls the same video instead of uploading again.
    let since = env.last_request_id();
    let served = publish(env, video, job("job-video", 2, Some(&point))).await;
    assert_eq!(served.continuations.len(), 1);
    in_progress(reply!(served, Publish).unwrap());
    assert!(
        env.requests_since(since, PREFIX).is_empty(),
        "no second upload"
    );

    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(env, &second, job("job-video", 1, Some(&point))).await;
    assert!(served.continuations.is_empty());
    let post_point = served.recovery_point.clone().unwrap();
    let done = published(reply!(served, HandleTask).unwrap());
    assert_eq!(post_point, format!("li-post:{}", done.post_id));
    let log = env.requests_since(since, PREFIX);
    let created = log.iter().find(|r| r.path == "/rest/posts").unwrap();
    assert_eq!(body(created)["content"]["media"]["id"], urn.as_str());

    // The retry's continuation comes back after the post exists: reported, not posted again.
    let served = handle(env, &second, job("job-video", 2, Some(&post_point))).await;
    assert_eq!(
        published(reply!(served, HandleTask).unwrap()).post_id,
        done.post_id
    );
    let posts = env
        .sandbox
        .requests(Some(Platform::Linkedin))
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/rest/posts"))
        .count();
    assert_eq!(posts, 1, "one post");
}

#[tokio::test]
async fn a_video_larger_than_the_plugins_memory_streams_through_the_host() {
    // 41 MiB of video against 32 MiB of instance memory: eleven 4 MiB parts (the last 1 MiB),
    // each streamed by the host from the media server to LinkedIn's upload URL.
    let li = env_with_memory(32 << 20).await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let since = env.last_request_id();
    let size = 41 << 20;
    let mut video = post(&org(), "Longer than memory", &[]);
    video.media = vec![media(
        MediaKind::Video,
        format!("{}/big-{size}.mp4", li.media),
    )];
    let served = publish(env, video, job("job-big-video", 1, None)).await;
    assert!(
        served
            .recovery_point
            .as_deref()
            .is_some_and(|p| p.starts_with("li-video:")),
        "{:?}",
        served.answer
    );
    in_progress(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let parts: Vec<usize> = log
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body_len)
        .collect();
    let mut expected = vec![PART; 10];
    expected.push(1 << 20);
    assert_eq!(parts, expected, "every part whole, in order");
    let finalize = log.last().unwrap();
    assert_eq!(finalize.query.as_deref(), Some("action=finalizeUpload"));
    let etags = &body(finalize)["finalizeUploadRequest"]["uploadedPartIds"];
    assert_eq!(etags.as_array().map(Vec::len), Some(11));
    // The guest's memory is flat: uploading 41 MiB grew it no more than a 4.5 MiB video did.
    let mut small = post(&org(), "Shorter", &[]);
    small.media = vec![media(MediaKind::Video, format!("{}/video.mp4", li.media))];
    let small = publish(env, small, job("job-small-video", 1, None)).await;
    assert!(small.recovery_point.is_some(), "{:?}", small.answer);
    assert!(
        served.memory_peak <= small.memory_peak + (256 << 10),
        "41 MiB video: {} bytes of guest memory; 4.5 MiB video: {}",
        served.memory_peak,
        small.memory_peak
    );
    assert!(served.memory_peak < 8 << 20, "{}", served.memory_peak);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_linkedin_cannot_process_fails_with_the_reason() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let mut video = post(&member(), "Broken", &[]);
    video.media = vec![media(MediaKind::Video, format!("{}/fail.mp4", li.media))];
    let served = publish(env, video, job("job-bad", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let task = served.continuations[0].clone();
    in_progress(reply!(served, Publish).unwrap());
    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(env, &task, job("job-bad", 1, Some(&point))).await;
    match expect_err(reply!(served, HandleTask), "processing failed") {
        ConnectorError::InvalidInput(why) => assert!(why.contains("could not process"), "{why}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[tokio::test]
async fn organization_share_statistics_are_the_analytics_and_members_have_none() {
    let li = env().await;
    let env = &li.env;
    connect(env, &[]).await.unwrap();
    let served = publish(env, post(&org(), "Measured", &[]), job("job-m", 1, None)).await;
    let share = published(reply!(served, Publish).unwrap()).post_id;
    let request = |account: String, post_id: Option<String>, metrics: &[&str]| {
        Invocation::Analytics(AnalyticsRequest {
            account_id: account,
            post_id,
            since: now() - 86_400 * 30,
            until: now(),
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
        })
    };
    let since = env.last_request_id();
    let served = env
        .call(Some(CONNECTION), None, request(org(), None, &[]))
        .await;
    let figures = reply!(served, Analytics).unwrap();
    let names: Vec<_> = figures.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "impressions",
            "unique_impressions",
            "clicks",
            "likes",
            "comments",
            "shares",
            "engagement"
        ]
    );
    assert!(figures[0].value >= 100.0);

    let served = env
        .call(
            Some(CONNECTION),
            None,
            request(org(), Some(share.clone()), &["impressions", "likes"]),
        )
        .await;
    let figures = reply!(served, Analytics).unwrap();
    assert_eq!(
        figures.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["impressions", "likes"]
    );
    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        [
            "GET /rest/organizationalEntityShareStatistics",
            "GET /rest/organizationalEntityShareStatistics"
        ]
    );
    assert!(
        log[0].query.as_deref().unwrap().contains(
            "q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A1000001"
        )
    );
    // Rest.li 2.0: the list's structure unencoded, the URN inside encoded; the sandbox reads the
    // raw query and would answer 400 to `List%28...%29`.
    assert!(
        log[1]
            .query
            .as_deref()
            .unwrap()
            .ends_with(&format!("&shares=List({})", share.replace(':', "%3A"))),
        "{:?}",
        log[1].query
    );
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(200), Some(200)]
    );
    assert_versioned(&log);

    let since = env.last_request_id();
    let served = env
        .call(Some(CONNECTION), None, request(member(), None, &[]))
        .await;
    match expect_err(reply!(served, Analytics), "member analytics") {
        ConnectorError::NotSupported(why) => assert!(why.contains("only organizations"), "{why}"),
        other => panic!("expected not-supported, got {other:?}"),
    }
    assert!(env.requests_since(since, PREFIX).is_empty());
}

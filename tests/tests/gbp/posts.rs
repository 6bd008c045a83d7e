//! Local posts: a STANDARD post followed from PROCESSING to LIVE as continuations, EVENT, OFFER
//! and ALERT bodies, the topic rules checked before sending, REJECTED, edits within Google's
//! limit, delete, and performance metrics.

use super::*;

#[tokio::test]
async fn a_standard_post_is_followed_from_processing_to_live_and_never_created_twice() {
    let env = env().await;
    connect(&env).await.unwrap();
    let since = env.last_request_id();
    let mut standard = post(&location(), "Fresh bread every morning", &[]);
    standard.link = Some("https://bakery.example/menu".into());
    standard.media = vec![Media {
        kind: MediaKind::Image,
        url: "https://cdn.example/loaf.jpg".into(),
        mime_type: None,
        size_bytes: None,
        alt_text: None,
    }];
    let served = publish(&env, standard.clone(), job("job-std", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let name = point
        .strip_prefix("gbp-post:")
        .expect("the post is the recovery point")
        .to_string();
    assert!(
        name.starts_with(&format!("{}/localPosts/", location())),
        "{name}"
    );
    let task = served.continuations[0].clone();
    assert_eq!(task.kind, "gbp-post-state");
    assert!(task.delay > Duration::ZERO);
    assert!(in_progress(reply!(served, Publish).unwrap()).contains("processing"));

    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        [format!(
            "POST /v4/accounts/{}/locations/{}/localPosts",
            seed::GBP_ACCOUNT_ID,
            seed::GBP_FIRST_LOCATION_ID
        )]
    );
    let sent = body(&log[0]);
    assert_eq!(sent["topicType"], "STANDARD");
    assert_eq!(sent["summary"], "Fresh bread every morning");
    assert_eq!(sent["languageCode"], "en");
    assert_eq!(sent["callToAction"]["actionType"], "LEARN_MORE");
    assert_eq!(sent["callToAction"]["url"], "https://bakery.example/menu");
    assert_eq!(sent["media"][0]["mediaFormat"], "PHOTO");
    assert_eq!(
        sent["media"][0]["sourceUrl"],
        "https://cdn.example/loaf.jpg"
    );
    assert!(
        log[0]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );

    // Still processing: another continuation.
    let served = handle(&env, &task, job("job-std", 1, Some(&point))).await;
    let task = served.continuations[0].clone();
    in_progress(reply!(served, HandleTask).unwrap());

    // A retry of the job follows the post it made instead of creating another.
    let served = publish(&env, standard, job("job-std", 2, Some(&point))).await;
    in_progress(reply!(served, Publish).unwrap());

    env.sandbox.advance_clock(Duration::from_secs(61));
    let served = handle(&env, &task, job("job-std", 1, Some(&point))).await;
    assert!(served.continuations.is_empty());
    let done = published(reply!(served, HandleTask).unwrap());
    assert_eq!(done.post_id, name);
    assert!(done.url.as_deref().unwrap().contains("lpsid="));
    let created = env
        .sandbox
        .requests(Some(Platform::Gbp))
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/localPosts"))
        .count();
    assert_eq!(created, 1, "one post");
}

#[tokio::test]
async fn event_offer_and_alert_posts_follow_the_topic_rules() {
    let env = env().await;
    connect(&env).await.unwrap();
    let event_options = [
        ("event-title", "Open day"),
        ("event-start", "2026-12-05T10:00"),
        ("event-end", "2026-12-05T16:30"),
    ];
    let since = env.last_request_id();
    let mut options = vec![
        ("topic-type", "EVENT"),
        ("cta-type", "BOOK"),
        ("cta-url", "https://bakery.example/book"),
    ];
    options.extend(event_options);
    let served = publish(
        &env,
        post(&location(), "Come by", &options),
        job("job-ev", 1, None),
    )
    .await;
    in_progress(reply!(served, Publish).unwrap());

    let mut options = vec![
        ("topic-type", "OFFER"),
        ("coupon-code", "BREAD10"),
        ("terms", "One per visit"),
    ];
    options.extend(event_options);
    let mut offer = post(&location(), "10% off", &options);
    offer.link = Some("https://bakery.example/offer".into());
    let served = publish(&env, offer, job("job-off", 1, None)).await;
    in_progress(reply!(served, Publish).unwrap());

    let served = publish(
        &env,
        post(
            &location(),
            "Closed for the storm",
            &[("topic-type", "ALERT"), ("cta-type", "CALL")],
        ),
        job("job-alert", 1, None),
    )
    .await;
    in_progress(reply!(served, Publish).unwrap());

    let log = env.requests_since(since, PREFIX);
    assert_eq!(log.len(), 3);
    let event = body(&log[0]);
    assert_eq!(event["topicType"], "EVENT");
    assert_eq!(event["event"]["title"], "Open day");
    assert_eq!(
        event["event"]["schedule"]["startDate"],
        serde_json::json!({"year": 2026, "month": 12, "day": 5})
    );
    assert_eq!(
        event["event"]["schedule"]["endTime"],
        serde_json::json!({"hours": 16, "minutes": 30})
    );
    assert_eq!(event["callToAction"]["actionType"], "BOOK");
    let offer = body(&log[1]);
    assert_eq!(offer["topicType"], "OFFER");
    assert_eq!(offer["offer"]["couponCode"], "BREAD10");
    assert_eq!(
        offer["offer"]["redeemOnlineUrl"],
        "https://bakery.example/offer"
    );
    assert!(
        offer.get("callToAction").is_none(),
        "no call to action on offers"
    );
    let alert = body(&log[2]);
    assert_eq!(alert["topicType"], "ALERT");
    assert_eq!(
        alert["callToAction"],
        serde_json::json!({"actionType": "CALL"})
    );

    // Refused before anything is sent.
    let since = env.last_request_id();
    for (n, (options, reason)) in [
        (vec![("topic-type", "EVENT")], "event-title"),
        (
            vec![("topic-type", "OFFER"), ("event-title", "Sale")],
            "event-start",
        ),
        (
            vec![("cta-type", "CALL"), ("cta-url", "https://x.example")],
            "CALL",
        ),
        (vec![("topic-type", "NEWS")], "topic-type"),
        (vec![("cta-type", "SHOP")], "cta-url"),
    ]
    .into_iter()
    .enumerate()
    {
        let served = publish(
            &env,
            post(&location(), "Refused", &options),
            job(&format!("job-bad{n}"), 1, None),
        )
        .await;
        match expect_err(reply!(served, Publish), reason) {
            ConnectorError::InvalidInput(why) => assert!(why.contains(reason), "{why}"),
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }
    let long = post(&location(), &"x".repeat(1_501), &[]);
    let served = publish(&env, long, job("job-long", 1, None)).await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "long"),
        ConnectorError::InvalidInput(_)
    ));
    assert!(env.requests_since(since, PREFIX).is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_rejected_post_fails_with_the_reason() {
    let env = env().await;
    connect(&env).await.unwrap();
    let served = publish(
        &env,
        post(&location(), "Buy now sandbox-reject", &[]),
        job("job-rej", 1, None),
    )
    .await;
    let point = served.recovery_point.clone().unwrap();
    let task = served.continuations[0].clone();
    in_progress(reply!(served, Publish).unwrap());
    env.sandbox.advance_clock(Duration::from_secs(61));
    let served = handle(&env, &task, job("job-rej", 1, Some(&point))).await;
    match expect_err(reply!(served, HandleTask), "rejected") {
        ConnectorError::InvalidInput(why) => assert!(why.contains("REJECTED"), "{why}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[tokio::test]
async fn edits_patch_the_summary_within_ten_a_minute_and_delete_removes_the_post() {
    let env = env().await;
    connect(&env).await.unwrap();
    let served = publish(
        &env,
        post(&location(), "First words", &[]),
        job("job-e", 1, None),
    )
    .await;
    let name = served
        .recovery_point
        .clone()
        .unwrap()
        .strip_prefix("gbp-post:")
        .unwrap()
        .to_string();
    env.sandbox.advance_clock(Duration::from_secs(61));

    let since = env.last_request_id();
    for n in 0..10 {
        let served = publish(
            &env,
            post(
                &location(),
                &format!("Better words {n}"),
                &[("edit-post", &name)],
            ),
            job(&format!("job-edit{n}"), 1, None),
        )
        .await;
        assert_eq!(published(reply!(served, Publish).unwrap()).post_id, name);
    }
    let log = env.requests_since(since, PREFIX);
    assert_eq!(log.len(), 10);
    assert_eq!(log[0].method, "PATCH");
    assert_eq!(log[0].query.as_deref(), Some("updateMask=summary"));
    assert_eq!(body(&log[9])["summary"], "Better words 9");

    // The eleventh edit within the minute: RESOURCE_EXHAUSTED, rate-limited.
    let served = publish(
        &env,
        post(&location(), "Too many", &[("edit-post", &name)]),
        job("job-edit10", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "eleventh edit"),
        ConnectorError::RateLimited(_)
    ));
    // Someone else's post cannot be edited through this location.
    let served = publish(
        &env,
        post(
            &location(),
            "Not mine",
            &[("edit-post", &format!("{}/localPosts/1", studio()))],
        ),
        job("job-edit-other", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "other"),
        ConnectorError::InvalidInput(_)
    ));

    let since = env.last_request_id();
    for _ in 0..2 {
        let served = env
            .call(
                Some(CONNECTION),
                None,
                Invocation::DeletePost(DeleteRequest {
                    account_id: location(),
                    post_id: name.clone(),
                }),
            )
            .await;
        reply!(served, DeletePost).unwrap();
    }
    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        [format!("DELETE /v4/{name}"), format!("DELETE /v4/{name}")]
    );
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(200), Some(404)]
    );
}

#[tokio::test]
async fn performance_metrics_are_the_analytics() {
    let env = env().await;
    connect(&env).await.unwrap();
    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: location(),
                post_id: None,
                since: now() - 9 * 86_400,
                until: now(),
                metrics: vec!["WEBSITE_CLICKS".into(), "CALL_CLICKS".into()],
            }),
        )
        .await;
    let figures = reply!(served, Analytics).unwrap();
    // Ten days each, less the two most recent that have no value yet.
    assert_eq!(
        figures
            .iter()
            .filter(|m| m.name == "WEBSITE_CLICKS")
            .count(),
        8
    );
    assert_eq!(
        figures.iter().filter(|m| m.name == "CALL_CLICKS").count(),
        8
    );
    assert!(figures.iter().all(|m| m.period_end.is_some()));
    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        [format!(
            "GET /v1/locations/{}:fetchMultiDailyMetricsTimeSeries",
            seed::GBP_FIRST_LOCATION_ID
        )]
    );
    let query = log[0].query.as_deref().unwrap();
    assert!(
        query.contains("dailyMetrics=WEBSITE_CLICKS&dailyMetrics=CALL_CLICKS"),
        "{query}"
    );
    assert!(query.contains("dailyRange.startDate.year="), "{query}");

    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: location(),
                post_id: Some("x".into()),
                since: now() - 86_400,
                until: now(),
                metrics: vec![],
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Analytics), "post"),
        ConnectorError::NotSupported(_)
    ));
}

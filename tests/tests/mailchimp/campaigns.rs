//! Campaigns as posts: send, schedule on the quarter hour, unschedule and delete, retries, error mapping.

use super::*;

#[tokio::test]
async fn a_campaign_is_created_filled_and_sent_then_reported() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let since = env.last_request_id();
    let mut post = campaign("Hello <friends>\n\nOur November news.");
    post.link = Some("https://shop.example/news".into());
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-send"),
            Invocation::Publish(post, job("job-send", 1, None)),
        )
        .await;
    let recovery_point = served.recovery_point.clone();
    let published = published(reply!(served, Publish).unwrap());
    assert_eq!(recovery_point.as_deref(), Some(published.post_id.as_str()));
    assert_eq!(published.scheduled_for, None);
    assert!(published.url.is_some(), "the archive URL");

    let log = env.requests_since(since, PREFIX);
    let id = &published.post_id;
    assert_eq!(
        lines(&log),
        [
            "POST /3.0/campaigns".to_string(),
            format!("PUT /3.0/campaigns/{id}/content"),
            format!("POST /3.0/campaigns/{id}/actions/send"),
        ]
    );
    let created: serde_json::Value =
        serde_json::from_str(log[0].body_text.as_deref().unwrap()).unwrap();
    assert_eq!(created["type"], "regular");
    assert_eq!(created["recipients"]["list_id"], seed::MAILCHIMP_LIST_ID);
    assert_eq!(created["settings"]["subject_line"], "November news");
    assert_eq!(created["settings"]["reply_to"], "owner@example.com");
    let content: serde_json::Value =
        serde_json::from_str(log[1].body_text.as_deref().unwrap()).unwrap();
    let html = content["html"].as_str().unwrap();
    assert!(html.contains("Hello &lt;friends&gt;") && html.contains("https://shop.example/news"));

    env.sandbox
        .advance_clock(std::time::Duration::from_secs(120));
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: Some(id.clone()),
                since: 0,
                until: 0,
                metrics: vec![],
            }),
        )
        .await;
    let metrics = reply!(served, Analytics).unwrap();
    let value = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(value("emails_sent"), Some(3.0));
    assert!(value("unique_opens").is_some() && value("click_rate").is_some());

    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: None,
                since: 0,
                until: 0,
                metrics: vec!["member_count".into()],
            }),
        )
        .await;
    let metrics = reply!(served, Analytics).unwrap();
    assert_eq!(metrics.len(), 1);
    assert_eq!(
        (metrics[0].name.as_str(), metrics[0].value),
        ("member_count", 3.0)
    );
}

#[tokio::test]
async fn scheduling_rounds_up_to_the_quarter_hour_and_delete_unschedules() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Two hours ahead, then 7 minutes 13 seconds past a quarter hour.
    let on_quarter = (now / 900 + 8) * 900;
    let requested = on_quarter + 7 * 60 + 13;
    let effective = on_quarter + 900;
    let mut post = campaign("Coming soon");
    post.scheduled_for = Some(requested);
    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-sched"),
            Invocation::Publish(post, job("job-sched", 1, None)),
        )
        .await;
    let published = published(reply!(served, Publish).unwrap());
    assert_eq!(
        published.scheduled_for,
        Some(effective),
        "the effective time is reported"
    );
    let log = env.requests_since(since, PREFIX);
    let id = published.post_id.clone();
    assert_eq!(
        lines(&log).last().unwrap(),
        &format!("POST /3.0/campaigns/{id}/actions/schedule")
    );
    let body: serde_json::Value =
        serde_json::from_str(log.last().unwrap().body_text.as_deref().unwrap()).unwrap();
    let time = body["schedule_time"].as_str().unwrap();
    assert!(time.ends_with(":00+00:00"), "{time}");
    let minutes: u32 = time[14..16].parse().unwrap();
    assert_eq!(minutes % 15, 0, "{time} is on the quarter hour");

    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::DeletePost(DeleteRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: id.clone(),
            }),
        )
        .await;
    reply!(served, DeletePost).unwrap();
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        [
            format!("GET /3.0/campaigns/{id}"),
            format!("POST /3.0/campaigns/{id}/actions/unschedule"),
            format!("DELETE /3.0/campaigns/{id}"),
        ]
    );
}

#[tokio::test]
async fn a_retry_resumes_its_campaign_and_never_sends_twice() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    env.sandbox
        .inject(Platform::Mailchimp, rule("503", "/actions/send"))
        .unwrap();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-retry"),
            Invocation::Publish(campaign("Retry me"), job("job-retry", 1, None)),
        )
        .await;
    let point = served
        .recovery_point
        .clone()
        .expect("the campaign id is checkpointed");
    let error = expect_err(reply!(served, Publish), "send fails once");
    assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");

    for attempt in [2, 3] {
        let served = env
            .call(
                Some(CONNECTION),
                Some("job-retry"),
                Invocation::Publish(
                    campaign("Retry me"),
                    job("job-retry", attempt, Some(&point)),
                ),
            )
            .await;
        assert_eq!(published(reply!(served, Publish).unwrap()).post_id, point);
    }
    let log = lines(&env.sandbox.requests(Some(Platform::Mailchimp)));
    let creates = log.iter().filter(|l| l.ends_with("/3.0/campaigns")).count();
    let sends = log.iter().filter(|l| l.ends_with("/actions/send")).count();
    assert_eq!(creates, 1, "one campaign: {log:?}");
    assert_eq!(sends, 2, "the failed send and its one retry: {log:?}");
}

#[tokio::test]
async fn problem_json_errors_map_to_the_taxonomy() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    // An unknown audience: 400 Invalid Resource with the field named.
    let mut bad = campaign("To nowhere");
    bad.account_id = "nope".into();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-bad"),
            Invocation::Publish(bad, job("job-bad", 1, None)),
        )
        .await;
    let error = expect_err(reply!(served, Publish), "unknown audience");
    assert!(
        matches!(&error, ConnectorError::InvalidInput(why) if why.contains("recipients.list_id")),
        "{error:?}"
    );
    // Missing sender: refused before anything is sent.
    let since = env.last_request_id();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-nosender"),
            Invocation::Publish(
                post(seed::MAILCHIMP_LIST_ID, "Hi", &[]),
                job("job-nosender", 1, None),
            ),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "no sender"),
        ConnectorError::InvalidInput(_)
    ));
    assert!(env.requests_since(since, PREFIX).is_empty());
    // 404 on a report, 500 anywhere.
    env.sandbox
        .inject(Platform::Mailchimp, rule("500", "/ping"))
        .unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "500"),
        ConnectorError::Transient(_)
    ));
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: seed::MAILCHIMP_LIST_ID.into(),
                post_id: Some("missing".into()),
                since: 0,
                until: 0,
                metrics: vec![],
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Analytics), "404"),
        ConnectorError::InvalidInput(why) if why.contains("Resource Not Found")
    ));
}

#[tokio::test]
async fn unsupported_exports_say_so() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    let mut video = campaign("A film");
    video
        .media
        .push(postd_host::runtime::wit::connector::Media {
            kind: postd_host::runtime::wit::connector::MediaKind::Video,
            url: "https://cdn.example/v.mp4".into(),
            mime_type: None,
            size_bytes: None,
            alt_text: None,
        });
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-v"),
            Invocation::Publish(video, job("job-v", 1, None)),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "video"),
        ConnectorError::InvalidInput(_)
    ));
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-v"),
            Invocation::HandleTask(postd_host::runtime::wit::connector::TaskContext {
                task: postd_host::runtime::wit::queue::Task {
                    kind: "poll".into(),
                    payload: String::new(),
                },
                job: job("job-v", 1, None),
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, HandleTask), "handle-task"),
        ConnectorError::NotSupported(_)
    ));
}

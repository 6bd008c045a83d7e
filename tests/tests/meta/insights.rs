//! Insights of Pages, Page posts, Instagram media and Instagram accounts, on the metrics Meta
//! still serves; unknown and retired metrics are refused before Meta is called.

use postd_connector_meta::insights::{InsightsTarget, default_metrics, supported_metrics};

use super::*;

async fn analytics(
    env: &Env,
    account: &str,
    post_id: Option<&str>,
    metrics: &[&str],
) -> Result<Vec<postd_host::runtime::wit::connector::Metric>, ConnectorError> {
    let until = now();
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: account.into(),
                post_id: post_id.map(str::to_string),
                since: until - 3 * 86_400,
                until,
                metrics: metrics.iter().map(|m| m.to_string()).collect(),
            }),
        )
        .await;
    reply!(served, Analytics)
}

fn names(metrics: &[postd_host::runtime::wit::connector::Metric]) -> Vec<&str> {
    let mut names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    names.dedup();
    names
}

#[tokio::test]
async fn page_and_post_insights_ask_for_the_metrics_meta_still_serves() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    // The defaults: before 2025's retirements they named page_impressions and page_fan_adds,
    // which Graph (and the sandbox) now refuse with (#100).
    let page = analytics(&env, PAGE, None, &[]).await.unwrap();
    assert_eq!(names(&page), default_metrics(InsightsTarget::Page));
    assert!(page.iter().all(|m| m.period_end.is_some()), "daily values");
    let call = env
        .requests_since(0, PREFIX)
        .into_iter()
        .find(|r| r.path == format!("/{PAGE}/insights"))
        .unwrap();
    let query = call.query.unwrap();
    assert!(query.contains("metric=page_media_view%2Cpage_post_engagements%2Cpage_follows"));
    assert!(query.contains("period=day") && query.contains("since=") && query.contains("until="));

    let served = publish(&env, post(PAGE, "Measure me", &[]), job("job-ins", 1, None)).await;
    let fb = published(reply!(served, Publish).unwrap());
    let post_metrics = analytics(&env, PAGE, Some(&fb.post_id), &[]).await.unwrap();
    assert_eq!(
        names(&post_metrics),
        default_metrics(InsightsTarget::PagePost)
    );
    let chosen = analytics(
        &env,
        PAGE,
        Some(&fb.post_id),
        &["post_total_media_view_unique"],
    )
    .await
    .unwrap();
    assert_eq!(names(&chosen), ["post_total_media_view_unique"]);
}

#[tokio::test]
async fn unknown_and_retired_metrics_are_invalid_input_naming_the_supported_ones() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let served = publish(&env, post(PAGE, "Counted", &[]), job("job-cnt", 1, None)).await;
    let fb = published(reply!(served, Publish).unwrap());
    let since = env.last_request_id();
    // (account, post, metric asked for, what it is about, the replacement the error names)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        InsightsTarget,
        Option<&'a str>,
    );
    let cases: [Case<'_>; 4] = [
        (
            PAGE,
            None,
            "page_impressions",
            InsightsTarget::Page,
            Some("page_media_view"),
        ),
        (
            PAGE,
            None,
            "page_fan_adds",
            InsightsTarget::Page,
            Some("page_daily_follows"),
        ),
        (
            PAGE,
            Some(fb.post_id.as_str()),
            "post_impressions_unique",
            InsightsTarget::PagePost,
            Some("post_total_media_view_unique"),
        ),
        (
            IG,
            None,
            "impressions_by_day",
            InsightsTarget::InstagramAccount,
            None,
        ),
    ];
    for (account, post_id, metric, target, replacement) in cases {
        let error = expect_err(analytics(&env, account, post_id, &[metric]).await, metric);
        let ConnectorError::InvalidInput(why) = error else {
            panic!("{metric}: expected invalid-input, got {error:?}")
        };
        assert!(why.contains(&format!("`{metric}`")), "{why}");
        assert!(why.contains(&supported_metrics(target).join(", ")), "{why}");
        if let Some(new) = replacement {
            assert!(why.contains(&format!("use `{new}`")), "{why}");
        }
    }
    assert!(
        env.requests_since(since, PREFIX).is_empty(),
        "refused before Meta is called"
    );
}

#[tokio::test]
async fn instagram_media_and_account_insights() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let mut image = post(IG, "Insightful", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/i.jpg")];
    let served = publish(&env, image, job("job-igi", 1, None)).await;
    let task = served.continuations[0].clone();
    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(&env, &task, job("job-igi", 1, None)).await;
    let ig = published(reply!(served, HandleTask).unwrap());
    let media_metrics = analytics(&env, IG, Some(&ig.post_id), &[]).await.unwrap();
    assert_eq!(
        names(&media_metrics),
        default_metrics(InsightsTarget::InstagramMedia)
    );

    // The account: daily series for reach and follower_count, range totals for the rest.
    let since = env.last_request_id();
    let account = analytics(&env, IG, None, &[]).await.unwrap();
    let got = names(&account);
    for metric in default_metrics(InsightsTarget::InstagramAccount) {
        assert!(got.contains(metric), "{metric} in {got:?}");
    }
    assert_eq!(account.iter().filter(|m| m.name == "reach").count(), 3);
    assert_eq!(account.iter().filter(|m| m.name == "views").count(), 1);
    let calls = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&calls),
        [format!("GET /{IG}/insights"), format!("GET /{IG}/insights")]
    );
    assert!(
        calls[1]
            .query
            .as_deref()
            .unwrap()
            .contains("metric_type=total_value")
    );

    // What the Graph API does not offer: deleting Instagram media.
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::DeletePost(DeleteRequest {
                account_id: IG.into(),
                post_id: ig.post_id.clone(),
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, DeletePost), "ig delete"),
        ConnectorError::NotSupported(_)
    ));
}

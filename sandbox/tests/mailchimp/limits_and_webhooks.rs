//! Mailchimp's connection limit, injected errors and list webhooks.

use super::*;

#[tokio::test]
async fn more_than_ten_simultaneous_connections_get_429() {
    let sb = start().await;
    sb.set_latency(Platform::Mailchimp, Duration::from_millis(1000));
    let url = format!("{}/ping", api(&sb, "us6"));
    let calls: Vec<_> = (0..14)
        .map(|_| {
            tokio::spawn({
                let url = url.clone();
                async move { mc_get(&url, MAILCHIMP_API_KEY_US6).await }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        let a = c.await.expect("join");
        if a.status == 429 {
            assert_problem(&a, 429, "Too Many Requests");
        }
        statuses.push(a.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
    sb.set_latency(Platform::Mailchimp, Duration::ZERO);
    assert_eq!(mc_get(&url, MAILCHIMP_API_KEY_US6).await.status, 200);
}

#[tokio::test]
async fn injected_errors_use_problem_json() {
    let sb = start().await;
    let url = format!("{}/ping", api(&sb, "us6"));
    sb.inject(
        Platform::Mailchimp,
        FaultRule {
            error: "503".into(),
            count: 1,
            path_contains: None,
        },
    )
    .expect("known");
    let a = mc_get(&url, MAILCHIMP_API_KEY_US6).await;
    assert_eq!(a.status, 503);
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json"))
    );
    sb.inject(
        Platform::Mailchimp,
        FaultRule {
            error: "too_many_requests".into(),
            count: 1,
            path_contains: None,
        },
    )
    .expect("known");
    assert_problem(
        &mc_get(&url, MAILCHIMP_API_KEY_US6).await,
        429,
        "Too Many Requests",
    );
    assert_eq!(mc_get(&url, MAILCHIMP_API_KEY_US6).await.status, 200);
}

#[tokio::test]
async fn list_webhook_is_validated_with_a_get_and_events_are_form_posts() {
    let sb = start().await;
    let rx = Receiver::start().await;
    let key = MAILCHIMP_API_KEY_US6;
    let hooks = format!("{}/lists/{MAILCHIMP_LIST_ID}/webhooks", api(&sb, "us6"));
    let secret_url = format!("{}?secret=0f1e2d3c", rx.url);
    let created = mc_post(&hooks, key, &json!({"url": secret_url, "events": {"subscribe": true, "unsubscribe": true}, "sources": {"user": true, "admin": true, "api": false}})).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.body["events"]["subscribe"], true);
    assert_eq!(created.body["sources"]["api"], false);
    assert_eq!(rx.received()[0].method, "GET");
    let unreachable = mc_post(&hooks, key, &json!({"url": "http://127.0.0.1:1/nothing"})).await;
    assert_problem(&unreachable, 400, "Invalid Resource");

    let event = json!({"type": "subscribe", "fired_at": "2025-01-24 15:30:00", "data": {"id": "8a25ff1d98", "email": "api@example.com", "list_id": MAILCHIMP_LIST_ID, "merges": {"FNAME": "Api"}}});
    let d = sb
        .deliver_webhook(
            Platform::Mailchimp,
            &secret_url,
            &event,
            &DeliveryOptions::default(),
        )
        .await
        .expect("delivered");
    assert_eq!(d.status, 200);
    let got = &rx.received()[1];
    assert_eq!(got.method, "POST");
    assert!(got.uri.contains("secret=0f1e2d3c"));
    assert_eq!(
        got.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&got.body)
        .into_owned()
        .collect();
    assert!(form.contains(&("type".into(), "subscribe".into())));
    assert!(form.contains(&("fired_at".into(), "2025-01-24 15:30:00".into())));
    assert!(form.contains(&("data[merges][FNAME]".into(), "Api".into())));
    assert!(got.header("x-hub-signature-256").is_none());
}

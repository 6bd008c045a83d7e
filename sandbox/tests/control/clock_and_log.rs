//! The sandbox clock and the request log.

use super::*;

#[tokio::test]
async fn clock_advances_over_http() {
    let sb = start().await;
    let before = get(&control(&sb, "clock")).await.body["now_unix"]
        .as_i64()
        .expect("now");
    let a = post_json(
        &control(&sb, "clock/advance"),
        None,
        &json!({"seconds": 86_400}),
    )
    .await;
    assert!(a.body["now_unix"].as_i64().expect("now") >= before + 86_400);
    assert_eq!(a.body["offset_ms"], 86_400_000);
    post_json(&control(&sb, "reset"), None, &json!({})).await;
    assert_eq!(get(&control(&sb, "clock")).await.body["offset_ms"], 0);
}

#[tokio::test]
async fn request_log_is_listed_per_platform_and_cleared() {
    let sb = start().await;
    ping(&sb).await;
    get(&format!("{}/v27.0/me", sb.url(Platform::Meta))).await;
    let all = get(&control(&sb, "requests")).await;
    assert_eq!(all.body["requests"].as_array().map(Vec::len), Some(2));
    let mc = get(&control(&sb, "mailchimp/requests")).await;
    let r = &mc.body["requests"][0];
    assert_eq!(r["method"], "GET");
    assert_eq!(r["path"], "/mailchimp/us6/3.0/ping");
    assert_eq!(r["status"], 200);
    assert!(
        r["headers"]
            .as_array()
            .is_some_and(|h| h.iter().any(|kv| kv[0] == "authorization"))
    );
    assert_eq!(
        get(&control(&sb, "requests?platform=meta")).await.body["requests"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    delete(&control(&sb, "mailchimp/requests"), None).await;
    assert_eq!(
        get(&control(&sb, "requests")).await.body["requests"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    delete(&control(&sb, "requests"), None).await;
    assert!(
        get(&control(&sb, "requests")).await.body["requests"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

#[tokio::test]
async fn the_log_lists_only_what_came_after_an_id() {
    let sb = start().await;
    ping(&sb).await;
    let last = sb.requests(None).last().expect("logged").id;
    ping(&sb).await;
    let newer = get(&control(&sb, &format!("mailchimp/requests?since={last}"))).await;
    assert_eq!(newer.body["requests"].as_array().map(Vec::len), Some(1));
    assert_eq!(get(&control(&sb, "requests?since=x")).await.status, 400);
}

#[tokio::test]
async fn the_log_keeps_only_its_capacity() {
    let sb = start_with(SandboxConfig {
        log_capacity: 3,
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..5 {
        ping(&sb).await;
    }
    let log = sb.requests(None);
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].id, 3);
}

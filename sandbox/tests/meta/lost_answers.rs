//! "The answer was lost after the platform acted": the post is made, the caller sees a 502.

use super::*;

fn lost(path: &str) -> FaultRule {
    FaultRule {
        error: "answer-lost:502".into(),
        count: 1,
        path_contains: Some(path.into()),
    }
}

#[tokio::test]
async fn a_lost_answer_still_makes_the_post_scheduled_ones_listed_apart_from_the_feed() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let g = graph(&sb);
    let feed = format!("{g}/{META_PAGE_ID}/feed");
    let at = sb.now_unix() + 3_600;

    sb.inject(Platform::Meta, lost("/feed")).expect("known");
    let scheduled = post_form(
        &feed,
        &[
            ("message", "Later, maybe twice"),
            ("published", "false"),
            ("scheduled_publish_time", &at.to_string()),
            ("access_token", &page),
        ],
    )
    .await;
    assert_eq!(scheduled.status, 502, "{}", scheduled.text);
    assert_graph_error(&scheduled, 2, None);
    let listed = get(&format!(
        "{g}/{META_PAGE_ID}/scheduled_posts?fields=id,message,scheduled_publish_time&access_token={page}"
    ))
    .await;
    let data = listed.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{}", listed.text);
    assert_eq!(data[0]["message"], "Later, maybe twice");
    assert_eq!(data[0]["scheduled_publish_time"], at);
    let in_feed = get(&format!("{feed}?access_token={page}")).await;
    assert_eq!(
        in_feed.body["data"],
        json!([]),
        "not in the feed before its time"
    );

    sb.inject(Platform::Meta, lost("/feed")).expect("known");
    let now = post_form(&feed, &[("message", "Now"), ("access_token", &page)]).await;
    assert_eq!(now.status, 502);
    let in_feed = get(&format!("{feed}?access_token={page}")).await;
    assert_eq!(in_feed.body["data"][0]["message"], "Now");
    assert_eq!(
        sb.requests(Some(Platform::Meta))
            .iter()
            .filter(|r| r.method == "POST" && r.status == Some(502))
            .count(),
        2,
        "the log records the answer the caller saw"
    );

    // A plain 502 fails before the platform acts: nothing is made.
    sb.inject(
        Platform::Meta,
        FaultRule {
            error: "502".into(),
            count: 1,
            path_contains: Some("/feed".into()),
        },
    )
    .expect("known");
    let failed = post_form(&feed, &[("message", "Never"), ("access_token", &page)]).await;
    assert_eq!(failed.status, 502);
    let in_feed = get(&format!("{feed}?access_token={page}")).await;
    assert_eq!(in_feed.body["data"].as_array().map(Vec::len), Some(1));
}

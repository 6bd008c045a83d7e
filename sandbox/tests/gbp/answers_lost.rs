//! A create whose answer is lost after Google made the post, and the listing a client reads to
//! find it.

use super::*;

fn lost(error: &str) -> FaultRule {
    FaultRule {
        error: format!("answer-lost:{error}"),
        count: 1,
        path_contains: Some("/localPosts".into()),
    }
}

async fn listed(sb: &RunningSandbox, token: &str) -> Vec<Value> {
    let page = get_bearer(&format!("{}?pageSize=100", posts_url(sb)), token).await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["localPosts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_lost_answer_still_makes_the_post_and_a_plain_error_does_not() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let body =
        json!({"languageCode": "en", "summary": "Open late on Fridays", "topicType": "STANDARD"});

    sb.inject(Platform::Gbp, lost("502")).expect("known");
    let answered = post_json(&posts_url(&sb), Some(&t), &body).await;
    assert_google_error(&answered, 502, "INTERNAL");
    let posts = listed(&sb, &t).await;
    assert_eq!(posts.len(), 1, "Google made the post: {posts:?}");
    assert_eq!(posts[0]["summary"], "Open late on Fridays");
    let created = posts[0]["createTime"].as_str().expect("createTime");
    assert_eq!(
        postd_sandbox::clock::parse_rfc3339(created),
        Some(sb.now_unix()),
        "made at the call's time"
    );

    sb.inject(
        Platform::Gbp,
        FaultRule {
            error: "502".into(),
            count: 1,
            path_contains: Some("/localPosts".into()),
        },
    )
    .expect("known");
    let failed = post_json(&posts_url(&sb), Some(&t), &body).await;
    assert_google_error(&failed, 502, "INTERNAL");
    assert_eq!(listed(&sb, &t).await.len(), 1, "failed before acting");

    // Any known name may lose its answer; the rule is used up like any other.
    sb.inject(Platform::Gbp, lost("UNAVAILABLE"))
        .expect("known");
    let unavailable = post_json(&posts_url(&sb), Some(&t), &body).await;
    assert_google_error(&unavailable, 503, "UNAVAILABLE");
    assert_eq!(listed(&sb, &t).await.len(), 2);
    assert_eq!(
        post_json(&posts_url(&sb), Some(&t), &body).await.status,
        200
    );
    assert_eq!(listed(&sb, &t).await.len(), 3);
}

#[tokio::test]
async fn answer_lost_faults_name_a_known_error_over_http() {
    let sb = start().await;
    let faults = format!("{}/_control/gbp/faults", sb.base_url());
    let added = post_json(
        &faults,
        None,
        &json!({"error": "answer-lost:502", "path_contains": "/localPosts"}),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.body["rules"][0]["error"], "answer-lost:502");
    let unknown = post_json(&faults, None, &json!({"error": "answer-lost:kaboom"})).await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert!(sb.inject(Platform::Gbp, lost("kaboom")).is_err());
}

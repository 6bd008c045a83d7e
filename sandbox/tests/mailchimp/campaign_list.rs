//! Listing campaigns with Mailchimp's filters, and a create whose answer is lost after the draft
//! was saved.

use super::*;

async fn draft(sb: &RunningSandbox, title: &str) -> String {
    let c = mc_post(
        &format!("{}/campaigns", api(sb, "us6")),
        MAILCHIMP_API_KEY_US6,
        &json!({"type": "regular", "recipients": {"list_id": MAILCHIMP_LIST_ID}, "settings": {"subject_line": "Hi", "from_name": "Shop", "reply_to": "shop@example.com", "title": title}}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    c.body["id"].as_str().expect("id").to_string()
}

async fn listed(sb: &RunningSandbox, query: &str) -> Answer {
    mc_get(
        &format!("{}/campaigns?{query}", api(sb, "us6")),
        MAILCHIMP_API_KEY_US6,
    )
    .await
}

fn ids(a: &Answer) -> Vec<String> {
    a.body["campaigns"]
        .as_array()
        .expect("campaigns")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn campaigns_are_filtered_by_status_list_and_creation_time_and_paged() {
    let sb = start().await;
    let first = draft(&sb, "First").await;
    sb.advance_clock(Duration::from_secs(3600));
    let since = postd_sandbox::clock::rfc3339_offset(sb.now_unix());
    let second = draft(&sb, "Second").await;
    let sent = ready_campaign(&sb).await;
    let send = call(
        reqwest::Method::POST,
        &format!("{}/campaigns/{sent}/actions/send", api(&sb, "us6")),
        MAILCHIMP_API_KEY_US6,
        None,
    )
    .await;
    assert_eq!(send.status, 204, "{}", send.text);

    let all = listed(&sb, "").await;
    assert_eq!(ids(&all), [first.as_str(), second.as_str(), sent.as_str()]);
    assert_eq!(all.body["total_items"], 3);
    assert_eq!(
        all.body["campaigns"][0]["settings"]["title"], "First",
        "titles are listed"
    );
    assert_eq!(
        ids(&listed(&sb, "status=save").await),
        [first.as_str(), second.as_str()]
    );
    assert_eq!(ids(&listed(&sb, "status=sending").await), [sent.as_str()]);
    let encoded: String = url::form_urlencoded::byte_serialize(since.as_bytes()).collect();
    let recent = listed(
        &sb,
        &format!("status=save&list_id={MAILCHIMP_LIST_ID}&since_create_time={encoded}"),
    )
    .await;
    assert_eq!(ids(&recent), [second.as_str()]);
    assert!(
        ids(&listed(&sb, &format!("list_id={MAILCHIMP_LIST2_ID}")).await).is_empty(),
        "another audience"
    );
    let newest = listed(&sb, "sort_field=create_time&sort_dir=DESC&count=1&offset=1").await;
    assert_eq!(ids(&newest), [second.as_str()]);
    assert_eq!(newest.body["total_items"], 3, "every match is counted");

    assert_problem(&listed(&sb, "status=drafty").await, 400, "Invalid Resource");
    assert_problem(
        &listed(&sb, "since_create_time=yesterday").await,
        400,
        "Invalid Resource",
    );
    assert_problem(&listed(&sb, "count=1001").await, 400, "Invalid Resource");
}

#[tokio::test]
async fn a_lost_answer_still_saves_the_draft() {
    let sb = start().await;
    sb.inject(
        Platform::Mailchimp,
        FaultRule {
            error: "answer-lost:502".into(),
            count: 1,
            path_contains: Some("/campaigns".into()),
        },
    )
    .expect("known");
    let answered = mc_post(
        &format!("{}/campaigns", api(&sb, "us6")),
        MAILCHIMP_API_KEY_US6,
        &json!({"type": "regular", "recipients": {"list_id": MAILCHIMP_LIST_ID}, "settings": {"title": "Lost"}}),
    )
    .await;
    assert_eq!(answered.status, 502, "{}", answered.text);
    let drafts = listed(&sb, "status=save").await;
    assert_eq!(drafts.body["total_items"], 1, "{}", drafts.text);
    assert_eq!(drafts.body["campaigns"][0]["settings"]["title"], "Lost");
}

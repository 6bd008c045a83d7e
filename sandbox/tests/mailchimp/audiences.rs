//! Mailchimp lists and members.

use super::*;

#[tokio::test]
async fn lists_are_paged_and_unknown_resources_are_404() {
    let sb = start().await;
    let key = MAILCHIMP_API_KEY_US6;
    let all = mc_get(&format!("{}/lists", api(&sb, "us6")), key).await;
    assert_eq!(all.body["total_items"], 2);
    assert_eq!(all.body["lists"][0]["id"], MAILCHIMP_LIST_ID);
    assert_eq!(all.body["lists"][0]["stats"]["member_count"], 3);
    let page = mc_get(&format!("{}/lists?count=1&offset=1", api(&sb, "us6")), key).await;
    assert_eq!(page.body["lists"].as_array().map(Vec::len), Some(1));
    assert_eq!(page.body["lists"][0]["id"], MAILCHIMP_LIST2_ID);
    // Another account's list is not visible.
    assert_problem(
        &mc_get(
            &format!("{}/lists/{MAILCHIMP_US21_LIST_ID}", api(&sb, "us6")),
            key,
        )
        .await,
        404,
        "Resource Not Found",
    );
}

#[tokio::test]
async fn members_are_added_and_upserted_by_subscriber_hash() {
    let sb = start().await;
    let key = MAILCHIMP_API_KEY_US6;
    let members = format!("{}/lists/{MAILCHIMP_LIST_ID}/members", api(&sb, "us6"));
    let added = mc_post(&members, key, &json!({"email_address": "New@Example.com", "status": "subscribed", "merge_fields": {"FNAME": "New"}})).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let hash = postd_sandbox::platforms::mailchimp::subscriber_hash("new@example.com");
    assert_eq!(added.body["id"], hash.as_str());
    assert_problem(
        &mc_post(
            &members,
            key,
            &json!({"email_address": "new@example.com", "status": "subscribed"}),
        )
        .await,
        400,
        "Member Exists",
    );
    assert_problem(
        &mc_post(
            &members,
            key,
            &json!({"email_address": "nope", "status": "subscribed"}),
        )
        .await,
        400,
        "Invalid Resource",
    );
    assert_problem(
        &mc_post(
            &members,
            key,
            &json!({"email_address": "a@b.co", "status": "maybe"}),
        )
        .await,
        400,
        "Invalid Resource",
    );
    let put = call(
        reqwest::Method::PUT,
        &format!("{members}/{hash}"),
        key,
        Some(&json!({"email_address": "new@example.com", "status": "unsubscribed"})),
    )
    .await;
    assert_eq!(put.body["status"], "unsubscribed");
    let fresh = postd_sandbox::platforms::mailchimp::subscriber_hash("fresh@example.com");
    let put_new = call(
        reqwest::Method::PUT,
        &format!("{members}/{fresh}"),
        key,
        Some(&json!({"email_address": "fresh@example.com", "status_if_new": "subscribed"})),
    )
    .await;
    assert_eq!(put_new.body["status"], "subscribed", "{}", put_new.text);
    let mismatch = call(
        reqwest::Method::PUT,
        &format!("{members}/{hash}"),
        key,
        Some(&json!({"email_address": "other@example.com", "status": "subscribed"})),
    )
    .await;
    assert_problem(&mismatch, 400, "Invalid Resource");
}

//! Mailchimp campaigns: content, send, quarter-hour schedules, reports.

use super::*;

#[tokio::test]
async fn members_are_listed_and_campaign_settings_patched_while_editable() {
    let sb = start().await;
    let key = MAILCHIMP_API_KEY_US6;
    let base = api(&sb, "us6");
    let members = mc_get(
        &format!("{base}/lists/{MAILCHIMP_LIST_ID}/members?count=2"),
        key,
    )
    .await;
    assert_eq!(members.body["total_items"], 3);
    assert_eq!(members.body["members"].as_array().map(Vec::len), Some(2));
    let by_email = mc_get(
        &format!("{base}/lists/{MAILCHIMP_LIST_ID}/members/ann@example.com"),
        key,
    )
    .await;
    assert_eq!(by_email.body["email_address"], "ann@example.com");
    let id = ready_campaign(&sb).await;
    let patched = call(
        reqwest::Method::PATCH,
        &format!("{base}/campaigns/{id}"),
        key,
        Some(&json!({"settings": {"subject_line": "New subject"}})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["settings"]["subject_line"], "New subject");
    assert_eq!(
        patched.body["settings"]["from_name"], "Shop",
        "other settings are kept"
    );
    call(
        reqwest::Method::POST,
        &format!("{base}/campaigns/{id}/actions/send"),
        key,
        None,
    )
    .await;
    let late = call(
        reqwest::Method::PATCH,
        &format!("{base}/campaigns/{id}"),
        key,
        Some(&json!({"settings": {"subject_line": "Too late"}})),
    )
    .await;
    assert_problem(&late, 400, "Invalid Resource");
    let wrong_method = call(reqwest::Method::DELETE, &format!("{base}/ping"), key, None).await;
    assert_problem(&wrong_method, 405, "Method Not Allowed");
}

#[tokio::test]
async fn campaign_is_created_filled_sent_and_reported() {
    let sb = start().await;
    let key = MAILCHIMP_API_KEY_US6;
    let base = api(&sb, "us6");
    assert_problem(
        &mc_post(
            &format!("{base}/campaigns"),
            key,
            &json!({"type": "fancy", "recipients": {"list_id": MAILCHIMP_LIST_ID}}),
        )
        .await,
        400,
        "Invalid Resource",
    );
    assert_problem(
        &mc_post(
            &format!("{base}/campaigns"),
            key,
            &json!({"type": "regular", "recipients": {"list_id": "nope"}}),
        )
        .await,
        400,
        "Invalid Resource",
    );
    let bare = mc_post(
        &format!("{base}/campaigns"),
        key,
        &json!({"type": "regular", "recipients": {"list_id": MAILCHIMP_LIST_ID}}),
    )
    .await;
    let bare_id = bare.body["id"].as_str().expect("id");
    let not_ready = mc_post(
        &format!("{base}/campaigns/{bare_id}/actions/send"),
        key,
        &json!({}),
    )
    .await;
    assert_eq!(not_ready.status, 400);

    let id = ready_campaign(&sb).await;
    assert_problem(
        &mc_get(&format!("{base}/reports/{id}"), key).await,
        404,
        "Resource Not Found",
    );
    let sent = call(
        reqwest::Method::POST,
        &format!("{base}/campaigns/{id}/actions/send"),
        key,
        None,
    )
    .await;
    assert_eq!(sent.status, 204, "{}", sent.text);
    assert_eq!(
        mc_get(&format!("{base}/campaigns/{id}"), key).await.body["status"],
        "sending"
    );
    let late_edit = call(
        reqwest::Method::PUT,
        &format!("{base}/campaigns/{id}/content"),
        key,
        Some(&json!({"html": "<p>Too late</p>"})),
    )
    .await;
    assert_problem(&late_edit, 400, "Invalid Resource");
    sb.advance_clock(Duration::from_secs(61));
    let c = mc_get(&format!("{base}/campaigns/{id}"), key).await;
    assert_eq!(c.body["status"], "sent");
    assert_eq!(c.body["emails_sent"], 3);
    // mailchimp.md: report fields are unconfirmed; the sandbox answers the documented opens/clicks/bounces.
    let report = mc_get(&format!("{base}/reports/{id}"), key).await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.body["emails_sent"], 3);
    for k in ["opens", "clicks", "bounces"] {
        assert!(report.body[k].is_object(), "{k}");
    }
    assert!(report.body["opens"]["open_rate"].is_f64());
}

#[tokio::test]
async fn schedule_only_on_the_quarter_hour_and_content_stays_editable_while_scheduled() {
    let sb = start().await;
    let key = MAILCHIMP_API_KEY_US6;
    let base = api(&sb, "us6");
    let id = ready_campaign(&sb).await;
    let now = sb.now_unix();
    let quarter = (now / 900 + 4) * 900;
    let iso = |t: i64| postd_sandbox::clock::rfc3339(t);
    let schedule = format!("{base}/campaigns/{id}/actions/schedule");
    assert_problem(
        &mc_post(
            &schedule,
            key,
            &json!({"schedule_time": iso(quarter + 7 * 60)}),
        )
        .await,
        400,
        "Invalid Resource",
    );
    assert_problem(
        &mc_post(&schedule, key, &json!({"schedule_time": "tomorrow"})).await,
        400,
        "Invalid Resource",
    );
    assert_problem(
        &mc_post(
            &schedule,
            key,
            &json!({"schedule_time": iso((now / 900 - 1) * 900)}),
        )
        .await,
        400,
        "Invalid Resource",
    );
    let ok = mc_post(&schedule, key, &json!({"schedule_time": iso(quarter)})).await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert_eq!(
        mc_get(&format!("{base}/campaigns/{id}"), key).await.body["status"],
        "schedule"
    );
    let edit = call(
        reqwest::Method::PUT,
        &format!("{base}/campaigns/{id}/content"),
        key,
        Some(&json!({"html": "<p>Edited</p>"})),
    )
    .await;
    assert_eq!(edit.status, 200);
    let un = call(
        reqwest::Method::POST,
        &format!("{base}/campaigns/{id}/actions/unschedule"),
        key,
        None,
    )
    .await;
    assert_eq!(un.status, 204);
    assert_eq!(
        mc_get(&format!("{base}/campaigns/{id}"), key).await.body["status"],
        "save"
    );
    // A +01:00 offset on the quarter hour is accepted too.
    let offset = postd_sandbox::clock::rfc3339_offset(quarter + 3600).replace("+00:00", "+01:00");
    assert_eq!(
        mc_post(&schedule, key, &json!({"schedule_time": offset}))
            .await
            .status,
        204
    );
    sb.advance_clock(Duration::from_secs((quarter - now + 61) as u64));
    assert_eq!(
        mc_get(&format!("{base}/campaigns/{id}"), key).await.body["status"],
        "sent"
    );
    assert_eq!(
        mc_get(&format!("{base}/reports/{id}"), key).await.status,
        200
    );
    let del = call(
        reqwest::Method::DELETE,
        &format!("{base}/campaigns/{id}"),
        key,
        None,
    )
    .await;
    assert_eq!(del.status, 204);
    assert_problem(
        &mc_get(&format!("{base}/campaigns/{id}"), key).await,
        404,
        "Resource Not Found",
    );
}

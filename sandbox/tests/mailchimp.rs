//! Mailchimp imitation, tested against ../shared/platforms/mailchimp.md.

mod support;

use std::time::Duration;

use postd_sandbox::seed::*;
use postd_sandbox::{DeliveryOptions, FaultRule, Platform, RunningSandbox};
use serde_json::{Value, json};
use support::*;

fn api(sb: &RunningSandbox, dc: &str) -> String {
    format!("{}/{dc}/3.0", sb.url(Platform::Mailchimp))
}

async fn call(method: reqwest::Method, url: &str, key: &str, body: Option<&Value>) -> Answer {
    let mut r = client()
        .request(method, url)
        .basic_auth("anystring", Some(key));
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    answer(r.send().await.expect("request")).await
}

async fn mc_get(url: &str, key: &str) -> Answer {
    call(reqwest::Method::GET, url, key, None).await
}

async fn mc_post(url: &str, key: &str, body: &Value) -> Answer {
    call(reqwest::Method::POST, url, key, Some(body)).await
}

fn assert_problem(a: &Answer, status: u16, title: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json")),
        "{:?}",
        a.headers
    );
    assert_eq!(a.body["title"], title, "{}", a.text);
    assert_eq!(a.body["status"], status);
    assert!(
        a.body["type"].is_string()
            && a.body["detail"].is_string()
            && a.body["instance"].is_string()
    );
    assert!(a.header("x-request-id").is_some());
}

#[tokio::test]
async fn ping_answers_chimpy_with_basic_or_bearer_auth() {
    let sb = start().await;
    let basic = mc_get(&format!("{}/ping", api(&sb, "us6")), MAILCHIMP_API_KEY_US6).await;
    assert_eq!(basic.status, 200);
    assert_eq!(basic.body, json!({"health_status": "Everything's Chimpy!"}));
    assert!(basic.header("x-request-id").is_some());
    let bearer = get_bearer(
        &format!("{}/ping", api(&sb, "us21")),
        MAILCHIMP_API_KEY_US21,
    )
    .await;
    assert_eq!(bearer.status, 200);
}

#[tokio::test]
async fn wrong_data_centre_malformed_or_missing_key_is_401_problem_json() {
    let sb = start().await;
    assert_problem(
        &mc_get(&format!("{}/ping", api(&sb, "us21")), MAILCHIMP_API_KEY_US6).await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &mc_get(
            &format!("{}/ping", api(&sb, "us6")),
            "0123456789abcdef0123456789abcdef",
        )
        .await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &mc_get(&format!("{}/ping", api(&sb, "us6")), "not-a-key-us6").await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &mc_get(
            &format!("{}/ping", api(&sb, "us6")),
            "ffffffffffffffffffffffffffffffff-us6",
        )
        .await,
        401,
        "API Key Invalid",
    );
    assert_problem(
        &get(&format!("{}/ping", api(&sb, "us6"))).await,
        401,
        "API Key Missing",
    );
    assert!(sb.revoke_token(Platform::Mailchimp, MAILCHIMP_API_KEY_US6));
    assert_problem(
        &mc_get(&format!("{}/ping", api(&sb, "us6")), MAILCHIMP_API_KEY_US6).await,
        401,
        "API Key Invalid",
    );
}

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

async fn ready_campaign(sb: &RunningSandbox) -> String {
    let key = MAILCHIMP_API_KEY_US6;
    let c = mc_post(
        &format!("{}/campaigns", api(sb, "us6")),
        key,
        &json!({"type": "regular", "recipients": {"list_id": MAILCHIMP_LIST_ID}, "settings": {"subject_line": "Hello", "from_name": "Shop", "reply_to": "shop@example.com", "title": "T1"}}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["status"], "save");
    assert!(c.body["web_id"].is_u64() && c.body["archive_url"].is_string());
    let id = c.body["id"].as_str().expect("id").to_string();
    let content = call(
        reqwest::Method::PUT,
        &format!("{}/campaigns/{id}/content", api(sb, "us6")),
        key,
        Some(&json!({"html": "<p>Hi</p>"})),
    )
    .await;
    assert_eq!(content.status, 200, "{}", content.text);
    id
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

#[tokio::test]
async fn oauth_token_never_expires_and_metadata_names_the_data_centre() {
    let sb = start().await;
    let login = format!("{}/login/oauth2", sb.url(Platform::Mailchimp));
    let a = get(&format!("{login}/authorize?response_type=code&client_id={MAILCHIMP_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=st")).await;
    assert_eq!(a.status, 302);
    let loc = a.header("location").expect("location");
    assert_eq!(param(&loc, "state").as_deref(), Some("st"));
    let code = param(&loc, "code").expect("code");
    let t = post_form(
        &format!("{login}/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", MAILCHIMP_CLIENT_ID),
            ("client_secret", MAILCHIMP_CLIENT_SECRET),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["expires_in"], 0);
    let token = t.body["access_token"].as_str().expect("token").to_string();
    let meta = answer(
        client()
            .get(format!("{login}/metadata"))
            .header("authorization", format!("OAuth {token}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(meta.body["dc"], "us6");
    let endpoint = meta.body["api_endpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    sb.advance_clock(Duration::from_secs(400 * 86_400));
    assert_eq!(
        get_bearer(&format!("{endpoint}/3.0/ping"), &token)
            .await
            .status,
        200
    );
    assert_eq!(
        get_bearer(&format!("{}/ping", api(&sb, "us21")), &token)
            .await
            .status,
        401
    );
}

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

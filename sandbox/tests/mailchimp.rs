//! Mailchimp imitation, tested against ../shared/platforms/mailchimp.md.

#[path = "mailchimp/audiences.rs"]
mod audiences;
#[path = "mailchimp/auth.rs"]
mod auth;
#[path = "mailchimp/campaign_list.rs"]
mod campaign_list;
#[path = "mailchimp/campaigns.rs"]
mod campaigns;
#[path = "mailchimp/limits_and_webhooks.rs"]
mod limits_and_webhooks;
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

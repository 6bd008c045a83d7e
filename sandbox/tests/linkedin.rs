//! LinkedIn imitation, tested against ../shared/platforms/linkedin.md.

#[path = "linkedin/errors_and_webhooks.rs"]
mod errors_and_webhooks;
#[path = "linkedin/media.rs"]
mod media;
#[path = "linkedin/oauth.rs"]
mod oauth;
#[path = "linkedin/organizations.rs"]
mod organizations;
#[path = "linkedin/posts.rs"]
mod posts;
mod support;

use std::time::Duration;

use postd_sandbox::seed::*;
use postd_sandbox::{
    DeliveryOptions, FaultRule, LinkedInConfig, Platform, RunningSandbox, SandboxConfig,
};

use serde_json::{Value, json};

use support::*;

/// The sandbox clock's month as a LinkedIn-Version (`YYYYMM`), so tests do not depend on the date.
fn version(sb: &RunningSandbox, months_back: i64) -> String {
    let c = postd_sandbox::clock::civil_from_unix(sb.now_unix());
    let idx = c.year * 12 + i64::from(c.month) - 1 - months_back;
    format!("{:04}{:02}", idx / 12, idx % 12 + 1)
}

async fn rest(
    sb: &RunningSandbox,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Answer {
    let mut r = client()
        .request(
            method,
            format!("{}/rest/{path}", sb.url(Platform::Linkedin)),
        )
        .bearer_auth(token)
        .header("LinkedIn-Version", version(sb, 0))
        .header("X-Restli-Protocol-Version", "2.0.0");
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    answer(r.send().await.expect("request")).await
}

fn post_body(author: &str) -> Value {
    json!({
        "author": author,
        "commentary": "Hello from the sandbox",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    })
}

fn person() -> String {
    format!("urn:li:person:{LINKEDIN_MEMBER_ID}")
}

fn org(id: &str) -> String {
    format!("urn:li:organization:{id}")
}

async fn code(sb: &RunningSandbox, scope: &str) -> String {
    let base = sb.url(Platform::Linkedin);
    let scope = url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>();
    let a = get(&format!("{base}/oauth/v2/authorization?response_type=code&client_id={LINKEDIN_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=li-state&scope={scope}")).await;
    assert_eq!(a.status, 302, "{}", a.text);
    let loc = a.header("location").expect("location");
    assert_eq!(param(&loc, "state").as_deref(), Some("li-state"));
    param(&loc, "code").expect("code")
}

async fn exchange(sb: &RunningSandbox, code: &str) -> Answer {
    post_form(
        &format!("{}/oauth/v2/accessToken", sb.url(Platform::Linkedin)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("client_id", LINKEDIN_CLIENT_ID),
            ("client_secret", LINKEDIN_CLIENT_SECRET),
        ],
    )
    .await
}

async fn refresh(sb: &RunningSandbox, token: &str) -> Answer {
    post_form(
        &format!("{}/oauth/v2/accessToken", sb.url(Platform::Linkedin)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", LINKEDIN_CLIENT_ID),
            ("client_secret", LINKEDIN_CLIENT_SECRET),
        ],
    )
    .await
}

//! Google Business Profile imitation, tested against ../shared/platforms/gbp.md.

#[path = "gbp/answers_lost.rs"]
mod answers_lost;
mod support;

use std::time::Duration;

use base64::Engine as _;
use postd_sandbox::seed::*;
use postd_sandbox::{
    DeliveryOptions, FaultRule, GbpConfig, Platform, RunningSandbox, SandboxConfig,
};
use serde_json::{Value, json};
use support::*;

const SCOPE: &str = "https://www.googleapis.com/auth/business.manage";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn authorize(sb: &RunningSandbox, extra: &str) -> String {
    let a = get(&format!(
        "{}/o/oauth2/v2/auth?client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope={}&state=g{extra}",
        sb.url(Platform::Gbp),
        enc(GBP_CLIENT_ID),
        enc(&format!("{SCOPE} openid email"))
    ))
    .await;
    assert_eq!(a.status, 302, "{}", a.text);
    let loc = a.header("location").expect("location");
    assert_eq!(param(&loc, "state").as_deref(), Some("g"));
    param(&loc, "code").expect("code")
}

async fn token(sb: &RunningSandbox, pairs: &[(&str, &str)]) -> Answer {
    let mut all = vec![
        ("client_id", GBP_CLIENT_ID),
        ("client_secret", GBP_CLIENT_SECRET),
    ];
    all.extend_from_slice(pairs);
    post_form(&format!("{}/token", sb.url(Platform::Gbp)), &all).await
}

async fn exchange(sb: &RunningSandbox, code: &str) -> Answer {
    token(
        sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    )
    .await
}

fn assert_google_error(a: &Answer, code: u16, status: &str) {
    assert_eq!(a.status, code, "{}", a.text);
    assert_eq!(a.body["error"]["code"], code, "{}", a.text);
    assert_eq!(a.body["error"]["status"], status, "{}", a.text);
    assert!(a.body["error"]["message"].is_string());
}

#[tokio::test]
async fn hour_long_access_tokens_and_refresh_without_a_new_refresh_token() {
    let sb = start().await;
    let code = authorize(&sb, "&access_type=offline&prompt=consent").await;
    let t = exchange(&sb, &code).await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["expires_in"], 3599);
    assert_eq!(t.body["token_type"], "Bearer");
    assert!(t.body["scope"].as_str().is_some_and(|s| s.contains(SCOPE)));
    let access = t.body["access_token"].as_str().expect("access").to_string();
    let refresh = t.body["refresh_token"]
        .as_str()
        .expect("refresh on first consent")
        .to_string();
    let accounts = format!("{}/v1/accounts", sb.url(Platform::Gbp));
    assert_eq!(get_bearer(&accounts, &access).await.status, 200);

    sb.advance_clock(Duration::from_secs(3600));
    assert_google_error(
        &get_bearer(&accounts, &access).await,
        401,
        "UNAUTHENTICATED",
    );
    let r = token(
        &sb,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body.get("refresh_token").is_none(),
        "a refresh returns no new refresh token"
    );
    let fresh = r.body["access_token"].as_str().expect("access").to_string();
    assert_eq!(get_bearer(&accounts, &fresh).await.status, 200);
    // The old refresh token keeps working.
    assert_eq!(
        token(
            &sb,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]
        )
        .await
        .status,
        200
    );

    assert!(sb.revoke_token(Platform::Gbp, &refresh));
    let dead = token(
        &sb,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(dead.status, 400);
    assert_eq!(
        dead.body,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
    assert_google_error(&get_bearer(&accounts, &fresh).await, 401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn refresh_token_only_on_first_consent_unless_prompt_consent() {
    let sb = start().await;
    let first = exchange(&sb, &authorize(&sb, "&access_type=offline").await).await;
    assert!(first.body["refresh_token"].is_string());
    let again = exchange(&sb, &authorize(&sb, "&access_type=offline").await).await;
    assert!(again.body.get("refresh_token").is_none(), "{}", again.text);
    let forced = exchange(
        &sb,
        &authorize(&sb, "&access_type=offline&prompt=consent").await,
    )
    .await;
    assert!(forced.body["refresh_token"].is_string());
    let online = exchange(&sb, &authorize(&sb, "&prompt=consent").await).await;
    assert!(online.body.get("refresh_token").is_none());
}

#[tokio::test]
async fn testing_apps_get_refresh_tokens_that_expire_after_seven_days() {
    let sb = start_with(SandboxConfig {
        gbp: GbpConfig {
            testing_app: true,
            ..GbpConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let t = exchange(
        &sb,
        &authorize(&sb, "&access_type=offline&prompt=consent").await,
    )
    .await;
    let refresh = t.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    sb.advance_clock(Duration::from_secs(6 * 86_400));
    assert_eq!(
        token(
            &sb,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]
        )
        .await
        .status,
        200
    );
    sb.advance_clock(Duration::from_secs(86_400));
    assert_eq!(
        token(
            &sb,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]
        )
        .await
        .body["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn locations_need_a_read_mask_and_come_in_pages() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let base = sb.url(Platform::Gbp);
    let accounts = get_bearer(&format!("{base}/v1/accounts"), &t).await;
    assert_eq!(
        accounts.body["accounts"][0]["name"],
        format!("accounts/{GBP_ACCOUNT_ID}")
    );
    let url = format!("{base}/v1/accounts/{GBP_ACCOUNT_ID}/locations");
    assert_google_error(&get_bearer(&url, &t).await, 400, "INVALID_ARGUMENT");
    assert_google_error(
        &get_bearer(&format!("{url}?readMask=name,nonsense"), &t).await,
        400,
        "INVALID_ARGUMENT",
    );
    let mut seen = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut u = format!("{url}?readMask=name,title");
        if let Some(p) = &page_token {
            u.push_str(&format!("&pageToken={p}"));
        }
        let a = get_bearer(&u, &t).await;
        assert_eq!(a.status, 200, "{}", a.text);
        pages += 1;
        for l in a.body["locations"].as_array().expect("locations") {
            assert!(
                l["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("locations/"))
            );
            assert!(l["title"].is_string());
            assert!(l.get("storefrontAddress").is_none(), "only masked fields");
            seen.push(l["name"].clone());
        }
        match a.body.get("nextPageToken").and_then(Value::as_str) {
            Some(p) => page_token = Some(p.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), GBP_LOCATION_COUNT);
    let big = get_bearer(&format!("{url}?readMask=name&pageSize=100"), &t).await;
    assert_eq!(
        big.body["locations"].as_array().map(Vec::len),
        Some(GBP_LOCATION_COUNT)
    );
    assert_google_error(
        &get_bearer(&format!("{url}?readMask=name&pageToken=garbage"), &t).await,
        400,
        "INVALID_ARGUMENT",
    );
}

fn posts_url(sb: &RunningSandbox) -> String {
    format!(
        "{}/v4/accounts/{GBP_ACCOUNT_ID}/locations/{GBP_FIRST_LOCATION_ID}/localPosts",
        sb.url(Platform::Gbp)
    )
}

fn event() -> Value {
    json!({"title": "Tasting", "schedule": {"startDate": {"year": 2030, "month": 5, "day": 1}, "startTime": {"hours": 9, "minutes": 0}, "endDate": {"year": 2030, "month": 5, "day": 2}, "endTime": {"hours": 17, "minutes": 0}}})
}

#[tokio::test]
async fn a_standard_post_goes_from_processing_to_live() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let a = post_json(&posts_url(&sb), Some(&t), &json!({"languageCode": "en", "summary": "Fresh bread", "topicType": "STANDARD", "callToAction": {"actionType": "LEARN_MORE", "url": "https://example.com"}, "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://example.com/a.jpg"}]})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["state"], "PROCESSING");
    let name = a.body["name"].as_str().expect("name").to_string();
    assert!(name.starts_with(&format!(
        "accounts/{GBP_ACCOUNT_ID}/locations/{GBP_FIRST_LOCATION_ID}/localPosts/"
    )));
    assert!(
        a.body["createTime"].is_string()
            && a.body["updateTime"].is_string()
            && a.body["searchUrl"].is_string()
    );
    sb.advance_clock(Duration::from_secs(60));
    let got = get_bearer(&format!("{}/v4/{name}", sb.url(Platform::Gbp)), &t).await;
    assert_eq!(got.body["state"], "LIVE");
    let rejected = post_json(
        &posts_url(&sb),
        Some(&t),
        &json!({"summary": "sandbox-reject me", "topicType": "STANDARD"}),
    )
    .await;
    sb.advance_clock(Duration::from_secs(60));
    let rname = rejected.body["name"].as_str().expect("name");
    assert_eq!(
        get_bearer(&format!("{}/v4/{rname}", sb.url(Platform::Gbp)), &t)
            .await
            .body["state"],
        "REJECTED"
    );
}

#[tokio::test]
async fn topic_type_rules_are_enforced() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let url = posts_url(&sb);
    let bad = |body: Value| {
        let url = url.clone();
        let t = t.clone();
        async move {
            let a = post_json(&url, Some(&t), &body).await;
            assert_google_error(&a, 400, "INVALID_ARGUMENT");
            assert!(
                a.body["error"]["details"][0]["fieldViolations"][0]["field"].is_string(),
                "{}",
                a.text
            );
        }
    };
    bad(json!({"summary": "x", "topicType": "PROMO"})).await;
    bad(json!({"summary": "x"})).await;
    bad(json!({"summary": "Party", "topicType": "EVENT"})).await;
    bad(json!({"summary": "Deal", "topicType": "OFFER"})).await;
    bad(json!({"summary": "Call us", "topicType": "STANDARD", "callToAction": {"actionType": "CALL", "url": "https://example.com"}})).await;
    bad(json!({"summary": "More", "topicType": "STANDARD", "callToAction": {"actionType": "LEARN_MORE"}})).await;
    bad(json!({"summary": "x", "topicType": "STANDARD", "media": [{"mediaFormat": "GIF", "sourceUrl": "https://example.com/a.gif"}]})).await;
    bad(json!({"summary": "x".repeat(1501), "topicType": "STANDARD"})).await;

    let call = post_json(&url, Some(&t), &json!({"summary": "Call us", "topicType": "STANDARD", "callToAction": {"actionType": "CALL"}})).await;
    assert_eq!(call.status, 200, "{}", call.text);
    let ev = post_json(
        &url,
        Some(&t),
        &json!({"summary": "Party", "topicType": "EVENT", "event": event()}),
    )
    .await;
    assert_eq!(ev.status, 200, "{}", ev.text);
    let offer = post_json(&url, Some(&t), &json!({"summary": "Deal", "topicType": "OFFER", "event": event(), "offer": {"couponCode": "BREAD10", "redeemOnlineUrl": "https://example.com/r", "termsConditions": "One per customer"}, "callToAction": {"actionType": "ORDER", "url": "https://example.com"}})).await;
    assert_eq!(offer.status, 200, "{}", offer.text);
    assert!(
        offer.body.get("callToAction").is_none(),
        "callToAction is ignored for OFFER"
    );
    assert_eq!(offer.body["offer"]["couponCode"], "BREAD10");
}

#[tokio::test]
async fn posts_are_listed_edited_with_an_update_mask_and_deleted() {
    let sb = start_with(SandboxConfig {
        gbp: GbpConfig {
            edits_per_minute: 2,
            ..GbpConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let url = posts_url(&sb);
    for i in 0..3 {
        post_json(
            &url,
            Some(&t),
            &json!({"summary": format!("Post {i}"), "topicType": "STANDARD"}),
        )
        .await;
    }
    let page = get_bearer(&format!("{url}?pageSize=2"), &t).await;
    assert_eq!(page.body["localPosts"].as_array().map(Vec::len), Some(2));
    assert_eq!(page.body["localPosts"][0]["summary"], "Post 2");
    let next = page.body["nextPageToken"].as_str().expect("next");
    let rest = get_bearer(&format!("{url}?pageSize=2&pageToken={next}"), &t).await;
    assert_eq!(rest.body["localPosts"].as_array().map(Vec::len), Some(1));
    assert_google_error(
        &get_bearer(&format!("{url}?pageSize=101"), &t).await,
        400,
        "INVALID_ARGUMENT",
    );

    let name = page.body["localPosts"][0]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let post_url = format!("{}/v4/{name}", sb.url(Platform::Gbp));
    let patch = |mask: &str, body: Value| {
        let u = format!("{post_url}?updateMask={mask}");
        let t = t.clone();
        async move {
            answer(
                client()
                    .patch(&u)
                    .bearer_auth(&t)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .expect("patch"),
            )
            .await
        }
    };
    assert_google_error(
        &answer(
            client()
                .patch(&post_url)
                .bearer_auth(&t)
                .body("{}")
                .send()
                .await
                .expect("patch"),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
    );
    let edited = patch(
        "summary",
        json!({"summary": "Edited", "topicType": "EVENT"}),
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["summary"], "Edited");
    assert_eq!(
        edited.body["topicType"], "STANDARD",
        "fields outside the mask are untouched"
    );
    assert_eq!(
        patch("summary", json!({"summary": "Again"})).await.status,
        200
    );
    assert_google_error(
        &patch("summary", json!({"summary": "Too fast"})).await,
        429,
        "RESOURCE_EXHAUSTED",
    );

    assert_eq!(delete(&post_url, Some(&t)).await.body, json!({}));
    assert_google_error(&get_bearer(&post_url, &t).await, 404, "NOT_FOUND");
}

#[tokio::test]
async fn daily_metrics_lag_two_days() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let today = sb.now_unix().div_euclid(86_400);
    let d = |days: i64| postd_sandbox::clock::civil_from_unix((today - days) * 86_400);
    let (s, e) = (d(5), d(0));
    let url = format!(
        "{}/v1/locations/{GBP_FIRST_LOCATION_ID}:fetchMultiDailyMetricsTimeSeries?dailyMetrics=WEBSITE_CLICKS&dailyMetrics=CALL_CLICKS&dailyRange.startDate.year={}&dailyRange.startDate.month={}&dailyRange.startDate.day={}&dailyRange.endDate.year={}&dailyRange.endDate.month={}&dailyRange.endDate.day={}",
        sb.url(Platform::Gbp),
        s.year,
        s.month,
        s.day,
        e.year,
        e.month,
        e.day
    );
    let a = get_bearer(&url, &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let series = a.body["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"]
        .as_array()
        .expect("series");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["dailyMetric"], "WEBSITE_CLICKS");
    let values = series[0]["timeSeries"]["datedValues"]
        .as_array()
        .expect("values");
    assert_eq!(values.len(), 6);
    assert!(values[0]["value"].is_string());
    assert!(
        values[5].get("value").is_none() && values[4].get("value").is_none(),
        "the last two days have no data yet"
    );
    let bad = url.replace("CALL_CLICKS", "EVERYTHING");
    assert_google_error(&get_bearer(&bad, &t).await, 400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn quota_errors_and_missing_scope() {
    let sb = start_with(SandboxConfig {
        gbp: GbpConfig {
            queries_per_minute: 2,
            ..GbpConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let url = format!("{}/v1/accounts", sb.url(Platform::Gbp));
    get_bearer(&url, &t).await;
    get_bearer(&url, &t).await;
    let over = get_bearer(&url, &t).await;
    assert_google_error(&over, 429, "RESOURCE_EXHAUSTED");
    assert!(over.header("retry-after").is_none());
    // Another API has its own per-minute quota.
    assert_eq!(
        get_bearer(
            &format!(
                "{}/v1/accounts/{GBP_ACCOUNT_ID}/locations?readMask=name",
                sb.url(Platform::Gbp)
            ),
            &t
        )
        .await
        .status,
        200
    );
    sb.advance_clock(Duration::from_secs(60));
    assert_eq!(get_bearer(&url, &t).await.status, 200);

    sb.inject(
        Platform::Gbp,
        FaultRule {
            error: "RESOURCE_EXHAUSTED".into(),
            count: 1,
            path_contains: Some("/localPosts".into()),
        },
    )
    .expect("known");
    let p = post_json(
        &posts_url(&sb),
        Some(&t),
        &json!({"summary": "x", "topicType": "STANDARD"}),
    )
    .await;
    assert_google_error(&p, 429, "RESOURCE_EXHAUSTED");
    sb.inject(
        Platform::Gbp,
        FaultRule {
            error: "503".into(),
            count: 1,
            path_contains: None,
        },
    )
    .expect("known");
    sb.advance_clock(Duration::from_secs(60));
    assert_google_error(&get_bearer(&url, &t).await, 503, "UNAVAILABLE");

    let a = get(&format!(
        "{}/o/oauth2/v2/auth?client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid",
        sb.url(Platform::Gbp),
        enc(GBP_CLIENT_ID)
    ))
    .await;
    let code = param(&a.header("location").expect("location"), "code").expect("code");
    let narrow = exchange(&sb, &code).await.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_google_error(&get_bearer(&url, &narrow).await, 403, "PERMISSION_DENIED");
}

#[tokio::test]
async fn a_quota_of_zero_imitates_a_project_not_yet_approved() {
    // gbp.md: "quota 0 means API access not yet approved".
    let sb = start_with(SandboxConfig {
        gbp: GbpConfig {
            queries_per_minute: 0,
            ..GbpConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    assert_google_error(
        &get_bearer(&format!("{}/v1/accounts", sb.url(Platform::Gbp)), &t).await,
        429,
        "RESOURCE_EXHAUSTED",
    );
}

#[tokio::test]
async fn notifications_are_pubsub_pushes_not_signed_webhooks() {
    let sb = start().await;
    let t = sb.issue_token(Platform::Gbp).access_token;
    let setting = format!(
        "{}/v1/accounts/{GBP_ACCOUNT_ID}/notificationSetting?updateMask=notificationTypes,pubsubTopic",
        sb.url(Platform::Gbp)
    );
    let body = json!({"pubsubTopic": "projects/p/topics/gbp", "notificationTypes": ["NEW_REVIEW", "UPDATED_REVIEW"]});
    let a = answer(
        client()
            .patch(&setting)
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["pubsubTopic"], "projects/p/topics/gbp");

    let rx = Receiver::start().await;
    let event = json!({"type": "NEW_REVIEW", "location": format!("locations/{GBP_FIRST_LOCATION_ID}"), "review": "accounts/x/locations/y/reviews/z"});
    sb.deliver_webhook(Platform::Gbp, &rx.url, &event, &DeliveryOptions::default())
        .await
        .expect("delivered");
    let got = &rx.received()[0];
    let envelope: Value = serde_json::from_slice(&got.body).expect("json");
    let data = base64::engine::general_purpose::STANDARD
        .decode(envelope["message"]["data"].as_str().expect("data"))
        .expect("base64");
    assert_eq!(serde_json::from_slice::<Value>(&data).expect("json"), event);
    assert!(
        envelope["message"]["messageId"].is_string()
            && envelope["message"]["publishTime"].is_string()
    );
    assert!(envelope["subscription"].is_string());
    assert!(
        sb.verify_subscription(Platform::Gbp, &rx.url, "")
            .await
            .is_err()
    );
}

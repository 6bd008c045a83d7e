//! The control API over HTTP: faults, clock, request log, revocation, reset, webhooks; and the
//! sandbox's own robustness (malformed requests never crash it) and the binary.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use postd_sandbox::seed::*;
use postd_sandbox::{Platform, RunningSandbox, SandboxConfig};
use serde_json::{Value, json};
use support::*;

fn control(sb: &RunningSandbox, path: &str) -> String {
    format!("{}/_control/{path}", sb.base_url())
}

async fn ping(sb: &RunningSandbox) -> Answer {
    answer(
        client()
            .get(format!("{}/us6/3.0/ping", sb.url(Platform::Mailchimp)))
            .basic_auth("x", Some(MAILCHIMP_API_KEY_US6))
            .send()
            .await
            .expect("ping"),
    )
    .await
}

#[tokio::test]
async fn health_names_every_platform_url() {
    let sb = start().await;
    let a = get(&control(&sb, "health")).await;
    assert_eq!(a.body["status"], "ok");
    for p in Platform::ALL {
        assert_eq!(a.body["platforms"][p.as_str()], sb.url(p));
    }
    assert_eq!(get(&format!("{}/nowhere", sb.base_url())).await.status, 404);
    let endpoints = get(&control(&sb, "endpoints")).await;
    let list = endpoints.body["endpoints"]
        .as_array()
        .expect("endpoints")
        .clone();
    assert!(list.contains(&json!({"platform": "mailchimp", "real": "https://{dc}.api.mailchimp.com", "sandbox": format!("{}/{{dc}}", sb.url(Platform::Mailchimp))})));
    assert_eq!(sb.endpoints().len(), list.len());
    let ping_url =
        postd_sandbox::to_sandbox(&sb.base_url(), "https://us6.api.mailchimp.com/3.0/ping")
            .expect("mapped");
    let a = answer(
        client()
            .get(ping_url)
            .basic_auth("x", Some(MAILCHIMP_API_KEY_US6))
            .send()
            .await
            .expect("ping"),
    )
    .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn faults_are_injected_listed_and_cleared_over_http() {
    let sb = start().await;
    let faults = control(&sb, "mailchimp/faults");
    let added = post_json(&faults, None, &json!({"error": "503", "count": 2})).await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.body["rules"][0]["count"], 2);
    assert_eq!(ping(&sb).await.status, 503);
    assert_eq!(get(&faults).await.body["rules"][0]["count"], 1);
    assert_eq!(delete(&faults, None).await.status, 200);
    assert_eq!(ping(&sb).await.status, 200);

    let unknown = post_json(&faults, None, &json!({"error": "kaboom"})).await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("kaboom"))
    );
    let malformed = answer(client().post(&faults).body("{").send().await.expect("post")).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(
        post_json(
            &control(&sb, "myspace/faults"),
            None,
            &json!({"error": "503"})
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn error_rate_is_reproducible_for_a_seed() {
    async fn run() -> Vec<u16> {
        let sb = start().await;
        let a = post_json(
            &control(&sb, "mailchimp/error-rate"),
            None,
            &json!({"rate": 0.5, "error": "500", "seed": 7}),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(ping(&sb).await.status);
        }
        out
    }
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
}

#[tokio::test]
async fn latency_is_set_per_platform() {
    let sb = start().await;
    let a = post_json(&control(&sb, "gbp/latency"), None, &json!({"ms": 25})).await;
    assert_eq!(a.body["latency_ms"], 25);
    assert_eq!(sb.state().faults.get(Platform::Gbp).latency_ms, 25);
    assert_eq!(sb.state().faults.get(Platform::Meta).latency_ms, 0);
}

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
    get(&format!("{}/v20.0/me", sb.url(Platform::Meta))).await;
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
async fn tokens_can_be_issued_with_fewer_scopes() {
    let sb = start().await;
    let t = post_json(
        &control(&sb, "meta/tokens"),
        None,
        &json!({"scopes": ["pages_show_list"]}),
    )
    .await;
    let user = t.body["access_token"].as_str().expect("token").to_string();
    let perms = get(&format!(
        "{}/v20.0/me/permissions?access_token={user}",
        sb.url(Platform::Meta)
    ))
    .await;
    assert_eq!(
        perms.body["data"],
        json!([{"permission": "pages_show_list", "status": "granted"}])
    );
    let li = sb
        .issue_token_with_scopes(Platform::Linkedin, &["openid", "profile"])
        .access_token;
    let post = answer(
        client()
            .post(format!("{}/rest/posts", sb.url(Platform::Linkedin)))
            .bearer_auth(&li)
            .header("LinkedIn-Version", {
                let c = postd_sandbox::clock::civil_from_unix(sb.now_unix());
                format!("{:04}{:02}", c.year, c.month)
            })
            .header("content-type", "application/json")
            .body(json!({"author": format!("urn:li:person:{LINKEDIN_MEMBER_ID}"), "commentary": "x", "visibility": "PUBLIC", "distribution": {"feedDistribution": "MAIN_FEED"}, "lifecycleState": "PUBLISHED"}).to_string())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(post.status, 403, "{}", post.text);
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

#[tokio::test]
async fn tokens_are_issued_and_revoked_over_http() {
    let sb = start().await;
    let t = post_json(&control(&sb, "linkedin/tokens"), None, &json!({})).await;
    let token = t.body["access_token"].as_str().expect("token").to_string();
    assert!(t.body["refresh_token"].is_string());
    let me = format!("{}/v2/userinfo", sb.url(Platform::Linkedin));
    assert_eq!(get_bearer(&me, &token).await.status, 200);
    let r = post_json(
        &control(&sb, "linkedin/tokens/revoke"),
        None,
        &json!({"token": token}),
    )
    .await;
    assert_eq!(r.body["revoked"], true);
    assert_eq!(
        get_bearer(&me, &token).await.body["code"],
        "REVOKED_ACCESS_TOKEN"
    );
    assert_eq!(
        post_json(
            &control(&sb, "linkedin/tokens/revoke"),
            None,
            &json!({"token": "nope"})
        )
        .await
        .body["revoked"],
        false
    );
}

#[tokio::test]
async fn reset_of_one_platform_leaves_the_others() {
    let sb = start().await;
    let li = sb.issue_token(Platform::Linkedin).access_token;
    let tt = sb.issue_token(Platform::Tiktok).access_token;
    sb.set_latency(Platform::Tiktok, std::time::Duration::from_millis(1));
    post_json(&control(&sb, "tiktok/reset"), None, &json!({})).await;
    assert_eq!(sb.state().faults.get(Platform::Tiktok).latency_ms, 0);
    assert_eq!(
        get_bearer(
            &format!("{}/v2/user/info/?fields=open_id", sb.url(Platform::Tiktok)),
            &tt
        )
        .await
        .status,
        401
    );
    assert_eq!(
        get_bearer(&format!("{}/v2/userinfo", sb.url(Platform::Linkedin)), &li)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn webhooks_are_delivered_and_subscriptions_checked_over_http() {
    let sb = start().await;
    let rx = Receiver::start().await;
    let d = post_json(
        &control(&sb, "meta/webhooks/deliver"),
        None,
        &json!({"url": rx.url, "event": {"object": "page", "entry": []}}),
    )
    .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["status"], 200);
    let got = &rx.received()[0];
    assert_eq!(
        got.header("x-hub-signature-256").map(str::to_string),
        Some(postd_sandbox::webhooks::meta_signature(
            &got.body,
            META_APP_SECRET
        ))
    );
    let bad = post_json(
        &control(&sb, "meta/webhooks/deliver"),
        None,
        &json!({"url": rx.url, "event": {}, "options": {"secret": "wrong"}}),
    )
    .await;
    assert_eq!(bad.status, 200);
    let sig = rx.received()[1]
        .header("x-hub-signature-256")
        .map(str::to_string);
    assert_ne!(
        sig,
        Some(postd_sandbox::webhooks::meta_signature(
            &rx.received()[1].body,
            META_APP_SECRET
        ))
    );
    let v = post_json(
        &control(&sb, "meta/webhooks/verify"),
        None,
        &json!({"url": rx.url, "verify_token": "verify-me"}),
    )
    .await;
    assert_eq!(v.body["passed"], true, "{}", v.text);
    let unreachable = post_json(
        &control(&sb, "tiktok/webhooks/deliver"),
        None,
        &json!({"url": "http://127.0.0.1:1/x", "event": {"event": "x"}}),
    )
    .await;
    assert_eq!(unreachable.status, 502);
}

/// Malformed requests get each platform's error shape, never a crash.
#[tokio::test]
async fn malformed_requests_get_platform_errors_not_crashes() {
    let sb = start().await;
    let meta = sb.issue_token(Platform::Meta).access_token;
    let li = sb.issue_token(Platform::Linkedin).access_token;
    let tt = sb.issue_token(Platform::Tiktok).access_token;
    let g = sb.issue_token(Platform::Gbp).access_token;
    let junk: Vec<u8> = vec![0xFF, 0x00, b'{', b'%', 0xC3];
    let cases: Vec<(reqwest::Method, String, Option<String>)> = vec![
        (
            reqwest::Method::POST,
            format!("{}/v20.0/{META_PAGE_ID}/feed", sb.url(Platform::Meta)),
            Some(meta.clone()),
        ),
        (
            reqwest::Method::POST,
            format!(
                "{}/v20.0/{META_IG_USER_ID}/media_publish",
                sb.url(Platform::Meta)
            ),
            Some(meta.clone()),
        ),
        (
            reqwest::Method::GET,
            format!(
                "{}/v20.0/%E0%A4%A/insights?metric=%ZZ",
                sb.url(Platform::Meta)
            ),
            Some(meta),
        ),
        (
            reqwest::Method::GET,
            format!(
                "{}/v20.0/oauth/access_token?code=%FF",
                sb.url(Platform::Meta)
            ),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{}/rest/posts", sb.url(Platform::Linkedin)),
            Some(li.clone()),
        ),
        (
            reqwest::Method::POST,
            format!(
                "{}/rest/videos?action=finalizeUpload",
                sb.url(Platform::Linkedin)
            ),
            Some(li.clone()),
        ),
        (
            reqwest::Method::PUT,
            format!(
                "{}/_upload/video/x/99999999999999999999",
                sb.url(Platform::Linkedin)
            ),
            Some(li),
        ),
        (
            reqwest::Method::POST,
            format!("{}/oauth/v2/accessToken", sb.url(Platform::Linkedin)),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{}/v2/post/publish/video/init/", sb.url(Platform::Tiktok)),
            Some(tt.clone()),
        ),
        (
            reqwest::Method::POST,
            format!("{}/v2/post/publish/status/fetch/", sb.url(Platform::Tiktok)),
            Some(tt),
        ),
        (
            reqwest::Method::PUT,
            format!(
                "{}/upload/video/?upload_id=&upload_token=",
                sb.url(Platform::Tiktok)
            ),
            None,
        ),
        (
            reqwest::Method::POST,
            format!(
                "{}/v4/accounts/{GBP_ACCOUNT_ID}/locations/{GBP_FIRST_LOCATION_ID}/localPosts",
                sb.url(Platform::Gbp)
            ),
            Some(g.clone()),
        ),
        (
            reqwest::Method::GET,
            format!(
                "{}/v1/locations/1:fetchMultiDailyMetricsTimeSeries?dailyMetrics=CALL_CLICKS",
                sb.url(Platform::Gbp)
            ),
            Some(g),
        ),
        (
            reqwest::Method::POST,
            format!("{}/token", sb.url(Platform::Gbp)),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{}/us6/3.0/campaigns", sb.url(Platform::Mailchimp)),
            Some(MAILCHIMP_API_KEY_US6.to_string()),
        ),
        (
            reqwest::Method::PUT,
            format!(
                "{}/us6/3.0/lists/{MAILCHIMP_LIST_ID}/members/x",
                sb.url(Platform::Mailchimp)
            ),
            Some(MAILCHIMP_API_KEY_US6.to_string()),
        ),
        (
            reqwest::Method::POST,
            format!("{}/_control/clock/advance", sb.base_url()),
            None,
        ),
    ];
    for (method, url, token) in cases {
        for content_type in [
            "application/json",
            "application/x-www-form-urlencoded",
            "video/mp4",
        ] {
            let mut r = client()
                .request(method.clone(), &url)
                .header("content-type", content_type)
                .header("content-range", "bytes 9-1/x")
                .body(junk.clone());
            if let Some(t) = &token {
                r = r.bearer_auth(t);
            }
            let a = answer(r.send().await.expect("answered")).await;
            assert!(
                (400..500).contains(&a.status),
                "{method} {url} ({content_type}) -> {}: {}",
                a.status,
                a.text
            );
            assert!(a.body.is_object(), "{method} {url}: not JSON: {}", a.text);
        }
    }
    assert_eq!(ping(&sb).await.status, 200, "the sandbox still answers");
}

/// Extreme numbers in requests are refused, not overflowed.
#[tokio::test]
async fn extreme_numbers_are_refused_not_overflowed() {
    let sb = start().await;
    let meta = sb.issue_token(Platform::Meta).access_token;
    let a = get(&format!(
        "{}/v20.0/{META_PAGE_ID}/insights?metric=page_impressions&since=-9223372036854775808&until=9223372036854775807&access_token={meta}",
        sb.url(Platform::Meta)
    ))
    .await;
    assert!((400..500).contains(&a.status), "{}", a.text);
    let g = sb.issue_token(Platform::Gbp).access_token;
    let huge = hex::encode("o18446744073709551615");
    let a = get_bearer(
        &format!(
            "{}/v1/accounts/{GBP_ACCOUNT_ID}/locations?readMask=name&pageToken={huge}",
            sb.url(Platform::Gbp)
        ),
        &g,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.body["locations"].as_array().is_some_and(Vec::is_empty));
    let event = json!({"summary": "x", "topicType": "EVENT", "event": {"title": "t", "schedule": {"startDate": {"year": i64::MAX, "month": 1, "day": 1}, "endDate": {"year": i64::MAX, "month": 1, "day": 2}}}});
    let a = post_json(
        &format!(
            "{}/v4/accounts/{GBP_ACCOUNT_ID}/locations/{GBP_FIRST_LOCATION_ID}/localPosts",
            sb.url(Platform::Gbp)
        ),
        Some(&g),
        &event,
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let a = post_json(
        &control(&sb, "clock/advance"),
        None,
        &json!({"seconds": u64::MAX, "ms": u64::MAX}),
    )
    .await;
    assert_eq!(a.status, 400);
    sb.advance_clock(std::time::Duration::MAX);
    assert_eq!(ping(&sb).await.status, 200);
}

#[test]
fn the_binary_serves_on_the_address_it_is_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_postd-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a line")
        .expect("utf8");
    let base = first.rsplit(' ').next().expect("url").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let health: Value = rt.block_on(async { get(&format!("{base}/_control/health")).await.body });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health["status"], "ok");
    let bad = Command::new(env!("CARGO_BIN_EXE_postd-sandbox"))
        .args(["--listen", "nowhere"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
}

#[tokio::test]
async fn a_public_url_names_the_sandbox_in_what_it_hands_out() {
    let sb = start_with(SandboxConfig {
        public_url: Some("http://sandbox.test:7700/".into()),
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(sb.base_url(), "http://sandbox.test:7700");
    assert_eq!(sb.url(Platform::Tiktok), "http://sandbox.test:7700/tiktok");
    let direct = format!("http://{}/tiktok/v2/post/publish/video/init/", sb.addr());
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let body = json!({"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1}});
    let a = post_json(&direct, Some(&t), &body).await;
    assert!(
        a.body["data"]["upload_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://sandbox.test:7700/tiktok/upload/video/")),
        "{}",
        a.text
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sb = start().await;
    let health = control(&sb, "health");
    assert_eq!(get(&health).await.status, 200);
    let bound = sb.addr();
    tokio::time::timeout(std::time::Duration::from_secs(10), sb.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(
        client().get(&health).send().await.is_err(),
        "{bound} still answers"
    );
}

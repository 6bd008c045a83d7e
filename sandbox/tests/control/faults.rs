//! Fault injection: named errors, seeded error rates, latency, malformed and extreme input.

use super::*;

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

/// A brownout's mix over HTTP: a gateway's 429 with `Retry-After`, an answer cut mid-body (the
/// client sees the connection close, with or without the head), a hang answered 504 once its
/// time is up; an unknown name in the mix is refused; injected
/// throttles are not counted as the platform's own refusals.
#[tokio::test]
async fn an_error_mix_throttles_resets_and_hangs() {
    let sb = start().await;
    let rate = control(&sb, "mailchimp/error-rate");
    let bad = post_json(
        &rate,
        None,
        &json!({"rate": 1.0, "errors": ["throttle", "kaboom"]}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(
        post_json(&control(&sb, "mailchimp/hang"), None, &json!({"ms": 50}))
            .await
            .status,
        200
    );
    let set = post_json(
        &rate,
        None,
        &json!({"rate": 1.0, "errors": ["throttle", "reset", "hang"], "seed": 3}),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let (mut throttled, mut reset, mut hung) = (0, 0, 0);
    for _ in 0..30 {
        let sent = client()
            .get(format!("{}/us6/3.0/ping", sb.url(Platform::Mailchimp)))
            .basic_auth("x", Some(MAILCHIMP_API_KEY_US6))
            .send()
            .await;
        // A reset may reach the client before the answer's head does.
        let Ok(sent) = sent else {
            reset += 1;
            continue;
        };
        match sent.status().as_u16() {
            429 => {
                assert_eq!(sent.headers()["retry-after"], "1");
                throttled += 1;
            }
            504 => hung += 1,
            200 => {
                assert!(sent.bytes().await.is_err(), "a 200 here is cut mid-body");
                reset += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        throttled > 0 && reset > 0 && hung > 0,
        "{throttled} {reset} {hung}"
    );
    assert_eq!(
        get(&control(&sb, "mailchimp/faults")).await.body["injected"],
        30
    );
    assert_eq!(
        get(&control(&sb, "mailchimp/throttled")).await.body["throttled"],
        0
    );
}

#[tokio::test]
async fn latency_is_set_per_platform() {
    let sb = start().await;
    let a = post_json(&control(&sb, "gbp/latency"), None, &json!({"ms": 25})).await;
    assert_eq!(a.body["latency_ms"], 25);
    assert_eq!(sb.state().faults.get(Platform::Gbp).latency_ms, 25);
    assert_eq!(sb.state().faults.get(Platform::Meta).latency_ms, 0);
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
            format!("{}/v27.0/{META_PAGE_ID}/feed", sb.url(Platform::Meta)),
            Some(meta.clone()),
        ),
        (
            reqwest::Method::POST,
            format!(
                "{}/v27.0/{META_IG_USER_ID}/media_publish",
                sb.url(Platform::Meta)
            ),
            Some(meta.clone()),
        ),
        (
            reqwest::Method::GET,
            format!(
                "{}/v27.0/%E0%A4%A/insights?metric=%ZZ",
                sb.url(Platform::Meta)
            ),
            Some(meta),
        ),
        (
            reqwest::Method::GET,
            format!(
                "{}/v27.0/oauth/access_token?code=%FF",
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
        "{}/v27.0/{META_PAGE_ID}/insights?metric=page_media_view&since=-9223372036854775808&until=9223372036854775807&access_token={meta}",
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

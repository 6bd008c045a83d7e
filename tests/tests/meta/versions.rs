//! The Graph API version: a setting with a current default, a health warning from 90 days before
//! Meta retires it, and a clear failure once it has.

use postd_connector_meta::versions::{DEFAULT_GRAPH_VERSION, GRAPH_VERSIONS, WARN_BEFORE_END_SECS};

use super::*;

async fn env_on(version: &str) -> Env {
    let version = version.to_string();
    Env::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        move |base| settings_on(base, &version),
    )
    .await
}

/// Unix seconds of a `YYYY-MM-DD` date.
fn day(date: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    (era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468) * 86_400
}

#[tokio::test]
async fn without_a_setting_the_connector_calls_the_current_version() {
    let env = Env::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        settings_without_version,
    )
    .await;
    connect(&env, &[]).await.unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    assert!(
        health.message.contains(DEFAULT_GRAPH_VERSION),
        "{}",
        health.message
    );
    assert!(!health.message.contains("warning"), "{}", health.message);
    let log = env.sandbox.requests(Some(Platform::Meta));
    assert!(!log.is_empty());
    for request in log.iter().filter(|r| !r.path.ends_with("/dialog/oauth")) {
        assert!(
            request
                .path
                .starts_with(&format!("/meta/{DEFAULT_GRAPH_VERSION}/")),
            "{}",
            request.path
        );
    }
    // The login dialog follows the version too.
    let url = reply!(
        env.call(
            None,
            None,
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: "s".into(),
                redirect_uri: "http://127.0.0.1:9/cb".into(),
                scopes: vec![],
            }),
        )
        .await,
        AuthorizeUrl
    )
    .unwrap();
    assert!(
        url.contains(&format!("/meta/{DEFAULT_GRAPH_VERSION}/dialog/oauth?")),
        "{url}"
    );
}

#[tokio::test]
async fn a_retired_version_fails_health_and_every_call_names_it() {
    // v20.0 ended on 24 September 2026 (Meta's version table); the sandbox answers 2635.
    let env = env_on("v20.0").await;
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    match expect_err(reply!(served, Health), "health on v20.0") {
        ConnectorError::InvalidInput(why) => {
            assert!(why.contains("v20.0") && why.contains("2026-09-24"), "{why}");
            assert!(
                why.contains("graph-version") && why.contains(DEFAULT_GRAPH_VERSION),
                "{why}"
            );
        }
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert!(
        env.sandbox.requests(Some(Platform::Meta)).is_empty(),
        "health refuses before calling Meta"
    );
    match expect_err(connect(&env, &[]).await, "connecting on v20.0") {
        ConnectorError::Platform(p) => {
            assert_eq!(p.code, "2635");
            assert!(
                p.message.contains("v20.0") && p.message.contains("graph-version"),
                "{}",
                p.message
            );
        }
        other => panic!("expected platform 2635, got {other:?}"),
    }

    // A configuration from before `graph-version`, with the version ending the base URL: that
    // version is the one used, and health says so.
    let legacy = Env::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        |base| {
            let mut s = settings_without_version(base);
            s.0[0].1 = format!("{base}/meta/v20.0");
            s
        },
    )
    .await;
    let served = legacy
        .call(Some(CONNECTION), None, Invocation::Health)
        .await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health on a legacy base URL"),
        ConnectorError::InvalidInput(why) if why.contains("v20.0")
    ));
}

#[tokio::test]
async fn health_warns_in_its_message_as_the_end_of_the_version_nears() {
    // The announced end nearest ahead of today; with this table that is v21.0 (21 January
    // 2027), within 90 days from late October 2026.
    let now = now();
    let (nearest, ends) = GRAPH_VERSIONS
        .iter()
        .filter_map(|v| Some((v.name, v.available_until?)))
        .filter(|(_, end)| day(end) > now)
        .min_by_key(|(_, end)| day(end))
        .expect("a version with an announced end ahead");
    let env = env_on(nearest).await;
    connect(&env, &[]).await.unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    if day(ends) - now <= WARN_BEFORE_END_SECS {
        assert!(
            health.message.contains("warning")
                && health.message.contains(nearest)
                && health.message.contains(ends)
                && health.message.contains("graph-version"),
            "{}",
            health.message
        );
    } else {
        assert!(!health.message.contains("warning"), "{}", health.message);
    }
    assert_eq!(health.external_id, seed::META_USER_ID);
}

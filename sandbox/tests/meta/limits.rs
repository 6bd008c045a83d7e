//! Meta throttles, usage headers and errors in Graph shape.

use super::*;

#[tokio::test]
async fn throttles_with_code_17_and_usage_headers_for_user_tokens() {
    let sb = start_with(SandboxConfig {
        meta: MetaConfig {
            calls_per_hour: 4,
            ..MetaConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let me = format!("{}/me?access_token={user}", graph(&sb));
    let first = get(&me).await;
    let usage: Value =
        serde_json::from_str(&first.header("x-app-usage").expect("X-App-Usage")).expect("json");
    assert_eq!(usage["call_count"], 25);
    for _ in 0..3 {
        assert_eq!(get(&me).await.status, 200);
    }
    let over = get(&me).await;
    assert_eq!(over.status, 429);
    assert_graph_error(&over, 17, None);
    sb.advance_clock(Duration::from_secs(3600));
    assert_eq!(get(&me).await.status, 200);
}

#[tokio::test]
async fn page_tokens_report_business_use_case_usage_and_throttle_with_32_or_80001() {
    // meta.md marks 80001 (Pages business-use-case throttle) unconfirmed: the default Page throttle
    // is the documented 32, and MetaConfig::page_throttle_code produces 80001.
    for code in [32, 80001] {
        let sb = start_with(SandboxConfig {
            meta: MetaConfig {
                calls_per_hour: 2,
                page_throttle_code: code,
                ..MetaConfig::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        let user = sb.issue_token(Platform::Meta).access_token;
        let page = page_token(&sb, &user, META_PAGE_ID).await;
        let me = format!("{}/me?access_token={page}", graph(&sb));
        let ok = get(&me).await;
        let buc: Value =
            serde_json::from_str(&ok.header("x-business-use-case-usage").expect("header"))
                .expect("json");
        assert_eq!(buc[META_PAGE_ID][0]["type"], "pages");
        get(&me).await;
        let over = get(&me).await;
        assert_eq!(over.status, 429);
        assert_graph_error(&over, code, None);
        let buc: Value =
            serde_json::from_str(&over.header("x-business-use-case-usage").expect("header"))
                .expect("json");
        assert_eq!(buc[META_PAGE_ID][0]["estimated_time_to_regain_access"], 60);
    }
}

#[tokio::test]
async fn injected_throttles_carry_usage_headers_with_the_time_to_regain_access() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE2_ID).await;
    sb.inject(
        Platform::Meta,
        FaultRule {
            error: "80001".into(),
            count: 1,
            path_contains: Some("/feed".into()),
        },
    )
    .expect("known");
    let a = post_form(
        &format!("{}/{META_PAGE2_ID}/feed", graph(&sb)),
        &[("message", "x"), ("access_token", &page)],
    )
    .await;
    assert_eq!(a.status, 429);
    assert_graph_error(&a, 80001, None);
    let buc: Value = serde_json::from_str(&a.header("x-business-use-case-usage").expect("header"))
        .expect("json");
    assert_eq!(buc[META_PAGE2_ID][0]["estimated_time_to_regain_access"], 5);
    assert_eq!(buc[META_PAGE2_ID][0]["call_count"], 100);
    sb.inject(
        Platform::Meta,
        FaultRule {
            error: "4".into(),
            count: 1,
            path_contains: None,
        },
    )
    .expect("known");
    let a = get(&format!("{}/me?access_token={user}", graph(&sb))).await;
    assert_graph_error(&a, 4, None);
    let app: Value = serde_json::from_str(&a.header("x-app-usage").expect("header")).expect("json");
    assert_eq!(app["call_count"], 100);
}

#[tokio::test]
async fn injected_errors_and_revocation_come_in_graph_shape() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let me = format!("{}/me?access_token={user}", graph(&sb));
    sb.inject(
        Platform::Meta,
        FaultRule {
            error: "190/460".into(),
            count: 2,
            path_contains: None,
        },
    )
    .expect("known");
    assert_graph_error(&get(&me).await, 190, Some(460));
    assert_graph_error(&get(&me).await, 190, Some(460));
    assert_eq!(get(&me).await.status, 200);
    sb.inject(
        Platform::Meta,
        FaultRule {
            error: "368/1390008".into(),
            count: 1,
            path_contains: Some("/feed".into()),
        },
    )
    .expect("known");
    assert_eq!(get(&me).await.status, 200);
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    let blocked = post_form(
        &format!("{}/{META_PAGE_ID}/feed", graph(&sb)),
        &[("message", "x"), ("access_token", &page)],
    )
    .await;
    assert_graph_error(&blocked, 368, Some(1_390_008));
    assert!(blocked.body["error"]["error_user_msg"].is_string());
    sb.inject(
        Platform::Meta,
        FaultRule {
            error: "503".into(),
            count: 1,
            path_contains: None,
        },
    )
    .expect("known");
    assert_eq!(get(&me).await.status, 503);
    assert!(
        sb.inject(
            Platform::Meta,
            FaultRule {
                error: "nonsense".into(),
                count: 1,
                path_contains: None
            }
        )
        .is_err()
    );

    assert!(sb.revoke_token(Platform::Meta, &user));
    assert_graph_error(&get(&me).await, 190, Some(458));
    // Page tokens of the same grant go too.
    assert_graph_error(
        &get(&format!("{}/me?access_token={page}", graph(&sb))).await,
        190,
        Some(458),
    );
}

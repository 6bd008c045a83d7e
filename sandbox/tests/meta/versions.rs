//! Graph API versions: a call to a retired one is refused (code 2635), as meta.md says.

use super::*;

/// v25.0 is "available until" 29 July 2028 in Meta's version table.
const V25_END: i64 = 1_848_441_600;

#[tokio::test]
async fn a_retired_version_is_refused_with_2635_and_a_current_one_served() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let me = |version: &str| {
        format!(
            "{}/{version}/me?access_token={user}",
            sb.url(Platform::Meta)
        )
    };
    // v20.0 ended on 24 September 2026; v2.3 is older than every listed version.
    for retired in ["v20.0", "v2.3"] {
        let refused = get(&me(retired)).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_graph_error(&refused, 2635, None);
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(retired) && message.contains("v27.0"),
            "{message}"
        );
    }
    assert_eq!(get(&me(VERSION)).await.status, 200);
    // The login dialog is not a Graph call: it still answers on an old version.
    let dialog = get(&format!(
        "{}/v20.0/dialog/oauth?client_id={META_APP_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s&scope=pages_show_list",
        sb.url(Platform::Meta)
    ))
    .await;
    assert_eq!(dialog.status, 302, "{}", dialog.text);

    // A version still served is refused from its end date on the sandbox clock.
    let now = sb.now_unix();
    if now < V25_END {
        assert_eq!(get(&me("v25.0")).await.status, 200);
        sb.advance_clock(Duration::from_secs((V25_END - now) as u64));
    }
    let user = sb.issue_token(Platform::Meta).access_token;
    let late = get(&format!(
        "{}/v25.0/me?access_token={user}",
        sb.url(Platform::Meta)
    ))
    .await;
    assert_graph_error(&late, 2635, None);
}

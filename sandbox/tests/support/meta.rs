//! Meta helpers shared by the Meta test files.

use postd_sandbox::Platform;
use postd_sandbox::seed::*;

use super::*;

/// The Graph version the tests call: the sandbox's latest.
pub const VERSION: &str = "v27.0";

pub fn graph(sb: &postd_sandbox::RunningSandbox) -> String {
    format!("{}/{VERSION}", sb.url(Platform::Meta))
}

/// Logs in through the dialog and the code exchange; returns the short-lived user token.
pub async fn login(sb: &postd_sandbox::RunningSandbox, scopes: &str) -> String {
    let g = graph(sb);
    let dialog = format!(
        "{g}/dialog/oauth?client_id={META_APP_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=xyz&scope={scopes}"
    );
    let a = get(&dialog).await;
    assert_eq!(a.status, 302, "{}", a.text);
    let location = a.header("location").expect("redirect");
    assert!(location.starts_with("http://127.0.0.1:9/cb?"));
    assert_eq!(param(&location, "state").as_deref(), Some("xyz"));
    let code = param(&location, "code").expect("code");
    let a = get(&format!(
        "{g}/oauth/access_token?client_id={META_APP_ID}&client_secret={META_APP_SECRET}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code={code}"
    ))
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["access_token"].as_str().expect("token").to_string()
}

pub const ALL_SCOPES: &str = "pages_show_list,business_management,pages_manage_posts,pages_read_engagement,read_insights,instagram_basic,instagram_content_publish,instagram_manage_insights";

pub async fn page_token(
    sb: &postd_sandbox::RunningSandbox,
    user_token: &str,
    page: &str,
) -> String {
    let a = get(&format!(
        "{}/me/accounts?fields=id,name,access_token&limit=100&access_token={user_token}",
        graph(sb)
    ))
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|p| p["id"] == page)
        .and_then(|p| p["access_token"].as_str())
        .expect("page token")
        .to_string()
}

pub fn assert_graph_error(a: &Answer, code: i64, subcode: Option<i64>) {
    let e = &a.body["error"];
    assert_eq!(e["code"], code, "{}", a.text);
    assert_eq!(
        e["type"].as_str().map(|t| !t.is_empty()),
        Some(true),
        "{}",
        a.text
    );
    assert!(
        e["message"].is_string() && e["fbtrace_id"].is_string(),
        "{}",
        a.text
    );
    match subcode {
        Some(s) => assert_eq!(e["error_subcode"], s, "{}", a.text),
        None => assert!(e.get("error_subcode").is_none(), "{}", a.text),
    }
}

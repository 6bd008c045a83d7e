//! The hosted connect page against the platform sandbox: LinkedIn's real connector, its OAuth
//! consent served by the sandbox on loopback, through to the tenant's app.

use postd_host::config::{PluginEntry, SecretSource};
use postd_sandbox::{Platform, Sandbox, SandboxConfig, seed};
use reqwest::StatusCode;
use serde_json::json;

use super::browser::Browser;
use super::connect::tenant_app;
use crate::support::{Harness, Kind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_connects_linkedin_through_the_hosted_page_against_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let base = sandbox.url(Platform::Linkedin);
    let h = Harness::new(Kind::Sqlite).await;
    let mut entry = PluginEntry::new("linkedin", postd_test_artifacts::LINKEDIN);
    let origin = url::Url::parse(&base)
        .unwrap()
        .origin()
        .ascii_serialization();
    entry.allowed_hosts = vec![origin];
    entry.allowed_ranges = vec!["127.0.0.0/8".into()];
    entry.settings = [
        ("api-base-url", base.clone()),
        ("oauth-base-url", format!("{base}/oauth/v2")),
        ("client-id", seed::LINKEDIN_CLIENT_ID.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    entry.secrets = [(
        "client-secret".to_string(),
        SecretSource::Value(seed::LINKEDIN_CLIENT_SECRET.into()),
    )]
    .into();
    h.runtime.configure_plugin(entry).await.unwrap();
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    let (app, returns) = tenant_app(&api, &key).await;
    let opened = api
        .post(
            "/v1/connect-sessions",
            &key,
            json!({ "plugins": ["linkedin"], "return_to": format!("{app}/done") }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{opened:?}");

    let mut b = Browser::start(390, 844).await;
    b.goto(opened.json["url"].as_str().unwrap()).await;
    b.sees("LinkedIn").await;
    b.shot("connect-linkedin").await;
    b.click("connect-linkedin").await;
    b.sees("back in the app").await;
    let back = returns.lock().unwrap().last().cloned().unwrap();
    let connection = url::form_urlencoded::parse(back.as_bytes())
        .find(|(k, _)| k == "connection_id")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no connection in {back}"));
    let made = api
        .get(&format!("/v1/connections/{connection}"), &key)
        .await;
    assert_eq!(
        (made.json["plugin"].as_str(), made.json["status"].as_str()),
        (Some("linkedin"), Some("healthy")),
        "{made:?}"
    );
    let accounts = api
        .get(&format!("/v1/connections/{connection}/accounts"), &key)
        .await;
    assert_eq!(accounts.status, StatusCode::OK, "{accounts:?}");
    assert!(
        !accounts.json.as_array().unwrap().is_empty(),
        "{accounts:?}"
    );
    sandbox.shutdown().await;
}

//! The hosted connect page in a real browser at a phone's size: a tenant's user connects an
//! account through OAuth and lands back in the tenant's app with the connection; cancelling,
//! a used or unknown link, and a `return_to` outside the tenant's origins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use postd_host::config::PluginEntry;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::browser::Browser;
use crate::support::server::{Api, json as with_json};
use crate::support::{Harness, Kind};

/// The tenant's own app, allowed as the tenant's return origin: records the query each return
/// brings.
pub(super) async fn tenant_app(api: &Api, key: &str) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/done",
            get(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, RawQuery(query): RawQuery| async move {
                    let query = query.unwrap_or_default();
                    seen.lock().unwrap().push(query.clone());
                    format!("back in the app: {query}")
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let origins = api
        .send(with_json(
            api.request(Method::PUT, "/v1/oauth/return-origins", Some(key)),
            &json!({ "origins": [url] }),
        ))
        .await;
    assert_eq!(origins.status, StatusCode::OK, "{origins:?}");
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_connects_through_the_hosted_page_and_lands_back_in_the_tenants_app() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    let (app, returns) = tenant_app(&api, &key).await;

    // A return outside the tenant's origins, or an unknown plugin, opens no page.
    let outside = api
        .post(
            "/v1/connect-sessions",
            &key,
            json!({ "return_to": "https://elsewhere.example/done" }),
        )
        .await;
    assert_eq!(outside.status, StatusCode::BAD_REQUEST, "{outside:?}");
    let unknown = api
        .post(
            "/v1/connect-sessions",
            &key,
            json!({ "plugins": ["nope"], "return_to": format!("{app}/done") }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{unknown:?}");

    let opened = api
        .post(
            "/v1/connect-sessions",
            &key,
            json!({ "return_to": format!("{app}/done?from=connect") }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{opened:?}");
    assert_eq!(opened.json["plugins"], json!(["pipeline"]));
    let page = opened.json["url"].as_str().unwrap().to_string();

    let mut b = Browser::start(390, 844).await;
    b.goto(&page).await;
    b.sees("Connect an account").await;
    b.shot("connect-page").await;
    b.click("connect-pipeline").await;
    b.sees("back in the app").await;
    let back = returns.lock().unwrap().last().cloned().unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(back.as_bytes())
        .into_owned()
        .collect();
    assert!(pairs.contains(&("from".into(), "connect".into())), "{back}");
    let connection = pairs
        .iter()
        .find(|(k, _)| k == "connection_id")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no connection in {back}"));
    let made = api
        .get(&format!("/v1/connections/{connection}"), &key)
        .await;
    assert_eq!(
        (made.status, made.json["status"].as_str()),
        (StatusCode::OK, Some("healthy")),
        "{made:?}"
    );

    // An API-key platform: a key the platform refuses shows on the page, and the user tries
    // again; the connection made sends the user back, and the link is used up.
    let mut example = PluginEntry::new("example", postd_test_artifacts::EXAMPLE);
    example.allowed_hosts = vec![h.platform.url.clone()];
    example.allowed_ranges = vec!["127.0.0.0/8".into()];
    example.settings = BTreeMap::from([("base-url".to_string(), h.platform.url.clone())]);
    h.runtime.configure_plugin(example).await.unwrap();
    let keyed = api
        .post(
            "/v1/connect-sessions",
            &key,
            json!({ "plugins": ["example"], "return_to": format!("{app}/done") }),
        )
        .await;
    assert_eq!(keyed.status, StatusCode::CREATED, "{keyed:?}");
    let keyed_page = keyed.json["url"].as_str().unwrap().to_string();
    b.goto(&keyed_page).await;
    h.platform.with(|s| s.revoked = true);
    b.fill("key-example", "sk-refused").await;
    b.click("connect-example").await;
    b.sees("The platform did not accept that key").await;
    b.shot("connect-refused-key").await;
    h.platform.with(|s| s.revoked = false);
    b.fill("key-example", "sk-good").await;
    b.click("connect-example").await;
    b.sees("back in the app: connection_id=").await;
    let back = returns.lock().unwrap().last().cloned().unwrap();
    let id = back.strip_prefix("connection_id=").unwrap();
    let made = api.get(&format!("/v1/connections/{id}"), &key).await;
    assert_eq!(made.json["plugin"], "example", "{made:?}");
    b.goto(&keyed_page).await;
    b.sees("This link no longer works").await;

    // Cancelling sends the user back with the error; an unknown link says it no longer works.
    let again = api
        .post(
            "/v1/connect-sessions",
            &key,
            json!({ "plugins": ["pipeline"], "return_to": format!("{app}/done") }),
        )
        .await;
    b.goto(again.json["url"].as_str().unwrap()).await;
    b.click("cancel").await;
    b.sees("error=cancelled").await;
    b.goto(&format!("{}/connect/pcn_not-a-real-token", api.url))
        .await;
    b.sees("This link no longer works").await;
    b.shot("connect-gone").await;
}

//! The HTTP API over the pipeline: authentication and tenant scoping, the OAuth flow, posts,
//! jobs and dead letters, webhooks, admin, operations and the OpenAPI document.

mod access;
mod admin;
mod binary;
mod console;
mod drain;
mod events;
mod fleet;
mod hostile;
mod limits;
mod ops;
mod pool;
mod posts;
mod secrets;
mod telemetry;
mod tenants;
mod webhooks;

use std::collections::BTreeMap;

use postd_host::api::{Access, OPERATIONS};
use postd_host::config::{PluginEntry, SecretSource};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::server::{ADMIN_KEY, Answer, Api, json as with_json};
use crate::support::{Harness, Kind, WEBHOOK_SECRET};

/// The app secret the snoop fixture is configured with.
pub(super) const SNOOP_APP_SECRET: &str = "operator-client-secret-0123456789";

/// Loads the snoop fixture as plugin `snoop`, its entry changed by `adjust`.
pub(super) async fn load_snoop(h: &Harness, adjust: impl FnOnce(&mut PluginEntry)) {
    let mut entry = PluginEntry::new("snoop", postd_test_artifacts::SNOOP);
    entry.secrets = BTreeMap::from([(
        "client-secret".to_string(),
        SecretSource::Value(SNOOP_APP_SECRET.into()),
    )]);
    adjust(&mut entry);
    h.runtime
        .configure_plugin(entry)
        .await
        .expect("loading the snoop fixture");
}

/// Calls plugin `plugin` has run for `tenant` so far.
pub(super) fn calls(h: &Harness, tenant: &str, plugin: &str) -> u64 {
    h.runtime.fuel().usage(tenant, plugin).calls
}

pub(super) async fn setup() -> (Harness, Api, String) {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    (h, api, key)
}

/// Connects through the API's OAuth flow; returns the connection id.
pub(super) async fn connect(api: &Api, key: &str) -> String {
    let start = api.get("/v1/oauth/pipeline/start", key).await;
    assert_eq!(start.status, StatusCode::OK, "{start:?}");
    let authorize = start.json["authorize_url"].as_str().unwrap();
    assert!(
        authorize.contains("response_type=code") && authorize.contains("state=st_"),
        "{authorize}"
    );
    let state = start.json["state"].as_str().unwrap();
    let callback = api
        .send(api.request(
            Method::GET,
            &format!("/v1/oauth/pipeline/callback?code=abc&state={state}"),
            None,
        ))
        .await;
    assert_eq!(callback.status, StatusCode::OK, "{callback:?}");
    callback.json["id"].as_str().unwrap().to_string()
}

pub(super) fn post_body(connection: &str, text: &str) -> Value {
    json!({ "text": text, "targets": [{ "connection_id": connection, "account_id": "acct-1" }] })
}

pub(super) async fn publish(api: &Api, key: &str, idempotency_key: &str, body: &Value) -> Answer {
    api.send(
        with_json(api.request(Method::POST, "/v1/posts", Some(key)), body)
            .header("idempotency-key", idempotency_key),
    )
    .await
}

/// Every item of a paged list, following `next-cursor` with `limit` items a page; and how many
/// pages it took. `path` has a query already (`?` present).
pub(super) async fn all_pages(api: &Api, key: &str, path: &str, limit: u32) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = api
            .get(&format!("{path}&limit={limit}&cursor={cursor}"), key)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {page:?}");
        pages += 1;
        items.extend(page.json.as_array().unwrap().iter().cloned());
        match page.headers.get("next-cursor") {
            Some(next) => cursor = url::form_urlencoded::byte_serialize(next.as_bytes()).collect(),
            None => return (items, pages),
        }
    }
}

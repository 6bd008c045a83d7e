//! Outbound events through the real host: endpoints over the API, events written with the
//! changes they report, deliveries signed (checked with the Standard Webhooks project's own
//! verifier) and retried, in order per subject, tenant-scoped, and refused for private
//! addresses.

mod delivery;
mod endpoints;

use super::*;
use crate::support::Setup;

pub(super) const HOUR_MS: i64 = 3_600_000;

pub(super) async fn start(kind: Kind) -> (Harness, Api, String) {
    let h = Harness::new(kind).await;
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    (h, api, key)
}

/// Adds an endpoint for `types`; returns its id and signing secret.
pub(super) async fn add_endpoint(
    api: &Api,
    key: &str,
    url: &str,
    types: Value,
) -> (String, String) {
    let created = api
        .post(
            "/v1/event-endpoints",
            key,
            json!({ "url": url, "event_types": types }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let secret = created.json["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (created.json["id"].as_str().unwrap().to_string(), secret)
}

pub(super) async fn deliveries(api: &Api, key: &str, endpoint: &str) -> Vec<Value> {
    let answer = api
        .get(&format!("/v1/event-endpoints/{endpoint}/deliveries"), key)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.json.as_array().unwrap().clone()
}

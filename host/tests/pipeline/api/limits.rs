//! A tenant's own egress ceiling through the admin API: set, shown, applied by the runtime,
//! cleared back to the host's default, audited; bad values and unknown tenants refused without
//! a change.

use super::*;
use crate::on_both_backends;

on_both_backends!(a_tenant_s_egress_ceiling_is_set_applied_and_cleared);

async fn put_limits(api: &Api, tenant: &str, body: Value) -> Answer {
    let path = format!("/admin/tenants/{tenant}/limits");
    api.send(with_json(
        api.request(Method::PUT, &path, Some(ADMIN_KEY)),
        &body,
    ))
    .await
}

async fn a_tenant_s_egress_ceiling_is_set_applied_and_cleared(kind: Kind) {
    let h = Harness::new(kind).await;
    let api = h.serve_api().await;
    h.tenant_key("acme").await;
    let default = h.runtime.tenant_ceiling("acme");
    assert_eq!(default.map(|b| b.requests), Some(100), "the host's default");

    let set = put_limits(&api, "acme", json!({ "egress_per_second": 500 })).await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.json["egress_per_second"], 500);
    assert_eq!(
        h.runtime.tenant_ceiling("acme").map(|b| b.requests),
        Some(500)
    );
    let read = api
        .send(api.request(Method::GET, "/admin/tenants/acme", Some(ADMIN_KEY)))
        .await;
    assert_eq!(read.json["egress_per_second"], 500);
    // What every replica reads (the fleet sync applies it).
    assert_eq!(
        h.store.tenant_egress_ceilings().await.unwrap().get("acme"),
        Some(&500)
    );

    // 0 lifts the ceiling; null returns to the default.
    let lifted = put_limits(&api, "acme", json!({ "egress_per_second": 0 })).await;
    assert_eq!(lifted.status, StatusCode::OK, "{lifted:?}");
    assert_eq!(h.runtime.tenant_ceiling("acme"), None);
    let cleared = put_limits(&api, "acme", json!({ "egress_per_second": null })).await;
    assert_eq!(cleared.status, StatusCode::OK, "{cleared:?}");
    assert!(cleared.json["egress_per_second"].is_null());
    assert_eq!(h.runtime.tenant_ceiling("acme"), default);

    // Refused without a change: too large, negative, not a number, unknown field, unknown tenant.
    for body in [
        json!({ "egress_per_second": 1_000_001 }),
        json!({ "egress_per_second": -1 }),
        json!({ "egress_per_second": "fast" }),
        json!({ "egress_per_second": 5, "burst": 9 }),
    ] {
        let refused = put_limits(&api, "acme", body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{body}: {refused:?}"
        );
    }
    assert_eq!(h.runtime.tenant_ceiling("acme"), default);
    let unknown = put_limits(&api, "nobody", json!({ "egress_per_second": 5 })).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");

    let audit = api
        .send(api.request(
            Method::GET,
            "/admin/audit?tenant=acme&action=tenant.limits",
            Some(ADMIN_KEY),
        ))
        .await;
    let details: Vec<&str> = audit
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details.len(),
        3,
        "three changes audited, none for the refusals: {details:?}"
    );
}

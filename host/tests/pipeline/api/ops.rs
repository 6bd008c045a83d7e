//! Operations: liveness, readiness, metrics and the OpenAPI document (the binary: `binary.rs`).

use super::*;

#[tokio::test]
async fn operations_metrics_and_the_openapi_document_match_the_routes() {
    let (h, api, key) = setup().await;
    connect(&api, &key).await;
    assert_eq!(
        api.send(api.request(Method::GET, "/livez", None))
            .await
            .status,
        StatusCode::OK
    );
    let ready = api.send(api.request(Method::GET, "/readyz", None)).await;
    assert_eq!(
        (ready.status, ready.json["database"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{ready:?}"
    );
    let metrics = api.send(api.request(Method::GET, "/metrics", None)).await;
    let text = metrics.json.as_str().unwrap();
    // Every metric the README's list names is declared (a gauge with nothing to count yet,
    // like `postd_jobs` before any job, has no series).
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let list = &readme[readme
        .find("`/metrics` exposes")
        .expect("the README lists metrics")..];
    let list = &list[..list.find("\n\n").unwrap()];
    let listed: Vec<&str> = list
        .split('`')
        .filter_map(|quoted| quoted.split(['{', ' ']).next())
        .filter(|name| name.starts_with("postd_"))
        .collect();
    assert!(listed.len() >= 10, "{listed:?}");
    for name in listed {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "the README lists {name}, /metrics lacks it"
        );
    }
    for series in [
        "postd_http_requests_total{",
        "postd_jobs",
        "postd_dead_letters ",
        "postd_fuel_consumed_total{tenant=\"acme\",plugin=\"pipeline\"}",
        "postd_egress_request_duration_seconds_bucket{plugin=\"pipeline\"",
        "postd_token_expiry_seconds ",
        "postd_egress_requests_total{plugin=\"pipeline\",outcome=\"2xx\"}",
        "postd_egress_requests_total{plugin=\"pipeline\",outcome=\"refused\"} 0",
        "postd_plugin_swaps_total{plugin=\"pipeline\"}",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    let document = api
        .send(api.request(Method::GET, "/openapi.json", None))
        .await
        .json;
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        OPERATIONS.len()
    );
    // Every documented operation is routed, and guarded as documented.
    for op in OPERATIONS {
        let path = op
            .path
            .replace("{id}", "x1")
            .replace("{plugin}", "pipeline")
            .replace("{tenant}", "acme");
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let answer = api.send(api.request(method, &path, None)).await;
        assert_ne!(
            answer.code(),
            "no-route",
            "{} {} is documented but not routed",
            op.method,
            op.path
        );
        if op.access != Access::Public {
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{} {} without a key",
                op.method,
                op.path
            );
        }
        assert!(paths[op.path][op.method].is_object());
    }
    drop(h);
}

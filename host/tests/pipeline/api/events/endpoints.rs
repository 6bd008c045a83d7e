//! Endpoints as a tenant manages them: scoped to their tenant, refused for private addresses,
//! malformed changes refused without changing anything.

use super::*;
use crate::support::receiver::Receiver;

#[tokio::test]
async fn tenants_see_and_receive_only_their_own_events() {
    let (h, api, acme_key) = start(Kind::Sqlite).await;
    let other_key = h.tenant_key("globex").await;
    let (acme_receiver, other_receiver) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let (acme_endpoint, _) = add_endpoint(&api, &acme_key, &acme_receiver.url, json!(["*"])).await;
    let (other_endpoint, _) =
        add_endpoint(&api, &other_key, &other_receiver.url, json!(["*"])).await;
    connect(&api, &acme_key).await;
    h.pipeline.events().deliver_due().await;
    assert_eq!(acme_receiver.got().len(), 1);
    assert!(other_receiver.got().is_empty(), "another tenant's event");

    // Another tenant's endpoint does not exist for this one.
    for (method, path, body) in [
        (
            Method::GET,
            format!("/v1/event-endpoints/{acme_endpoint}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/event-endpoints/{acme_endpoint}"),
            Some(json!({ "url": other_receiver.url })),
        ),
        (
            Method::GET,
            format!("/v1/event-endpoints/{acme_endpoint}/deliveries"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/event-endpoints/{acme_endpoint}/redeliver"),
            Some(json!({ "since_ms": 0 })),
        ),
        (
            Method::POST,
            format!("/v1/event-endpoints/{acme_endpoint}/rotate-secret"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/event-endpoints/{acme_endpoint}"),
            None,
        ),
    ] {
        let request = api.request(method.clone(), &path, Some(&other_key));
        let request = match &body {
            Some(body) => with_json(request, body),
            None => request,
        };
        let answer = api.send(request).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {answer:?}"
        );
    }
    let listed = api.get("/v1/event-endpoints", &other_key).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 1);
    assert_eq!(listed.json[0]["id"], other_endpoint.as_str());
    assert!(
        listed.json[0].get("secret").is_none(),
        "a listed endpoint shows no secret"
    );
    // The owner still has its endpoint and its delivery.
    assert_eq!(deliveries(&api, &acme_key, &acme_endpoint).await.len(), 1);
}

#[tokio::test]
async fn private_addresses_are_refused_at_creation_and_at_delivery() {
    let (h, api, key) = start(Kind::Sqlite).await;
    for url in [
        "http://10.0.0.1/events",
        "https://169.254.169.254/latest",
        "https://192.168.1.20/hook",
        "http://[::1]:8080/",
        "https://[fd00::1]/",
        "http://0x0a.1/",
        "ftp://example.com/",
        "https://user:pass@example.com/",
        "http://example.com/events",
        "not a url",
    ] {
        let answer = api
            .post("/v1/event-endpoints", &key, json!({ "url": url }))
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-endpoint"),
            "{url}: {answer:?}"
        );
    }
    let unknown = api
        .post(
            "/v1/event-endpoints",
            &key,
            json!({ "url": "https://example.com/", "event_types": ["post.everything"] }),
        )
        .await;
    assert!(
        unknown.status == StatusCode::UNPROCESSABLE_ENTITY
            && unknown.json["message"]
                .as_str()
                .unwrap()
                .contains("post.published"),
        "{unknown:?}"
    );
    assert!(
        api.get("/v1/event-endpoints", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing refused was stored"
    );

    // Without the operator's range, a name that resolves to loopback is refused when a
    // delivery resolves it, and given up at once: retrying cannot help.
    let mut setup = Setup::new(Kind::Sqlite);
    setup.events.allowed_ranges.clear();
    let guarded = Harness::start(setup).await;
    let guarded_api = guarded.serve_api().await;
    let guarded_key = guarded.tenant_key("acme").await;
    let receiver = Receiver::start(&[]).await;
    let loopback = api
        .post("/v1/event-endpoints", &key, json!({ "url": receiver.url }))
        .await;
    assert_eq!(
        loopback.status,
        StatusCode::CREATED,
        "allowed in the first host"
    );
    let refused = guarded_api
        .post(
            "/v1/event-endpoints",
            &guarded_key,
            json!({ "url": receiver.url }),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let (endpoint, _) = add_endpoint(
        &guarded_api,
        &guarded_key,
        &format!("https://localhost:{port}/events"),
        json!(["*"]),
    )
    .await;
    connect(&guarded_api, &guarded_key).await;
    assert_eq!(guarded.pipeline.events().deliver_due().await, 1);
    let listed = deliveries(&guarded_api, &guarded_key, &endpoint).await;
    assert_eq!(listed[0]["state"], "failed", "{listed:?}");
    assert!(
        listed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("event_allowed_ranges"),
        "{listed:?}"
    );
    assert!(receiver.got().is_empty(), "nothing reached the address");
    drop(h);
}

#[tokio::test]
async fn malformed_endpoint_requests_are_refused_and_change_nothing() {
    let (_h, api, key) = start(Kind::Sqlite).await;
    let receiver = Receiver::start(&[]).await;
    let (endpoint, _) = add_endpoint(&api, &key, &receiver.url, json!(["*"])).await;
    let path = format!("/v1/event-endpoints/{endpoint}");
    let patch = |body: Value| {
        api.send(with_json(
            api.request(Method::PATCH, &path, Some(&key)),
            &body,
        ))
    };
    for (body, status) in [
        (
            json!({ "url": "http://10.0.0.1/" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "event_types": ["post.nope"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "description": "x".repeat(501) }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({ "secret": "whsec_mine" }), StatusCode::BAD_REQUEST),
    ] {
        let answer = patch(body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {answer:?}");
    }
    let unchanged = api.get(&path, &key).await;
    assert_eq!(unchanged.json["url"], receiver.url.as_str());
    assert_eq!(unchanged.json["event_types"], json!(["*"]));

    let redeliver = format!("{path}/redeliver");
    for body in [
        json!({}),
        json!({ "event_id": "evt_1", "since_ms": 0 }),
        json!({ "since_ms": 10, "until_ms": 10 }),
    ] {
        let answer = api.post(&redeliver, &key, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {answer:?}");
    }
    let unknown = api
        .post(&redeliver, &key, json!({ "event_id": "evt_unknown" }))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    let state = api
        .get(&format!("{path}/deliveries?state=lost"), &key)
        .await;
    assert_eq!(state.status, StatusCode::BAD_REQUEST, "{state:?}");

    // A tenant has at most 20 endpoints.
    for _ in 1..20 {
        add_endpoint(&api, &key, &receiver.url, json!([])).await;
    }
    let over = api
        .post("/v1/event-endpoints", &key, json!({ "url": receiver.url }))
        .await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::CONFLICT, "too-many-endpoints"),
        "{over:?}"
    );
    assert_eq!(
        api.get("/v1/event-endpoints", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        20
    );
}

//! Webhook challenges and deliveries: verified, stored once, acted on.

use super::*;

fn signed(body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn webhooks_are_verified_stored_once_and_acted_on() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    let challenge = api
        .send(api.request(Method::GET, "/webhooks/pipeline?challenge=c123", None))
        .await;
    assert_eq!(
        (challenge.status, challenge.json.as_str()),
        (StatusCode::OK, Some("c123"))
    );

    let body =
        json!({ "events": [{ "id": "evt-1", "kind": "deauthorization", "account": "user-1" }] })
            .to_string();
    let forged = api
        .send(
            api.request(Method::POST, "/webhooks/pipeline", None)
                .header("x-signature", "00")
                .body(body.clone()),
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.get(&format!("/v1/connections/{connection}"), &key)
            .await
            .json["status"],
        "healthy",
        "nothing acted on"
    );

    let deliver = || {
        api.send(
            api.request(Method::POST, "/webhooks/pipeline", None)
                .header("x-signature", signed(&body))
                .body(body.clone()),
        )
    };
    let first = deliver().await;
    assert_eq!(
        (
            first.json["stored"].as_u64(),
            first.json["revoked"].as_u64()
        ),
        (Some(1), Some(1)),
        "{first:?}"
    );
    let again = deliver().await;
    assert_eq!(again.json["duplicates"].as_u64(), Some(1), "{again:?}");
    assert_eq!(
        api.get(&format!("/v1/connections/{connection}"), &key)
            .await
            .json["status"],
        "revoked"
    );
    drop(h);
}

#[tokio::test]
async fn a_webhook_naming_an_account_of_a_connection_finds_it() {
    let (_h, api, key) = setup().await;
    // Connecting records the connection's accounts (`acct-1` for the fixture).
    let connection = connect(&api, &key).await;
    let body =
        json!({ "events": [{ "id": "evt-page", "kind": "deauthorization", "account": "acct-1" }] })
            .to_string();
    let delivered = api
        .send(
            api.request(Method::POST, "/webhooks/pipeline", None)
                .header("x-signature", signed(&body))
                .body(body.clone()),
        )
        .await;
    assert_eq!(delivered.json["revoked"].as_u64(), Some(1), "{delivered:?}");
    assert_eq!(
        api.get(&format!("/v1/connections/{connection}"), &key)
            .await
            .json["status"],
        "revoked"
    );
}

#[tokio::test]
async fn a_challenge_answer_carries_only_the_body_and_an_allowed_content_type() {
    let (h, api, _key) = setup().await;
    load_snoop(&h, |_| {}).await;
    // The plugin asks for HTML, a cookie, open CORS and a redirect target.
    let answer = api
        .send(api.request(Method::GET, "/webhooks/snoop?challenge=c123", None))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    for dropped in [
        "set-cookie",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "location",
    ] {
        assert_eq!(header(dropped), None, "{dropped} was served");
    }
    assert!(answer.json.as_str().unwrap().ends_with("c123"));

    // A content type from the list is kept, with its charset.
    let json_answer = api
        .send(api.request(
            Method::GET,
            "/webhooks/snoop?challenge=c123&type=application/json;%20charset=utf-8",
            None,
        ))
        .await;
    assert_eq!(
        json_answer.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(json_answer.headers["x-content-type-options"], "nosniff");
    assert!(!json_answer.headers.contains_key("set-cookie"));
}

#[tokio::test]
async fn a_plugin_no_tenant_uses_takes_no_webhooks() {
    let (h, api, _key) = setup().await;
    load_snoop(&h, |entry| entry.tenants = vec![]).await;
    let unknown = api
        .send(
            api.request(Method::POST, "/webhooks/nobody", None)
                .body("{}"),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let challenge = api
        .send(api.request(Method::GET, "/webhooks/snoop?challenge=c1", None))
        .await;
    let delivery = api
        .send(
            api.request(Method::POST, "/webhooks/snoop", None)
                .body("{}"),
        )
        .await;
    for refused in [&challenge, &delivery] {
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::NOT_FOUND, unknown.code()),
            "the same answer as an unknown plugin: {refused:?}"
        );
    }
    assert_eq!(calls(&h, "_webhooks", "snoop"), 0, "the plugin never ran");

    // Enabled for one tenant through the admin API, it takes them.
    let enabled = api
        .send(with_json(
            api.request(
                Method::PUT,
                "/admin/tenants/acme/plugins/snoop",
                Some(ADMIN_KEY),
            ),
            &json!({ "enabled": true }),
        ))
        .await;
    assert!(enabled.status.is_success(), "{enabled:?}");
    let delivery = api
        .send(
            api.request(Method::POST, "/webhooks/snoop", None)
                .body("{}"),
        )
        .await;
    assert_eq!(delivery.status, StatusCode::OK, "{delivery:?}");
    assert_eq!(calls(&h, "_webhooks", "snoop"), 1);
}

#[tokio::test]
async fn webhook_floods_are_refused_before_the_plugin_runs() {
    let (h, api, _key) = setup().await;
    load_snoop(&h, |entry| {
        entry.webhook_rate = postd_host::capability::http::Budget::per_seconds(3, 60)
    })
    .await;
    let deliver = || {
        api.send(
            api.request(Method::POST, "/webhooks/snoop", None)
                .body("{}"),
        )
    };
    for _ in 0..3 {
        assert_eq!(deliver().await.status, StatusCode::OK);
    }
    let flooded = deliver().await;
    assert_eq!(
        (flooded.status, flooded.code()),
        (StatusCode::TOO_MANY_REQUESTS, "webhook-rate-limited"),
        "{flooded:?}"
    );
    let retry_after: u64 = flooded.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    // Challenges share the budget.
    let challenge = api
        .send(api.request(Method::GET, "/webhooks/snoop?challenge=c1", None))
        .await;
    assert_eq!(challenge.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        calls(&h, "_webhooks", "snoop"),
        3,
        "refused requests ran nothing"
    );
    // The budget is the plugin's: the pipeline's webhooks still pass.
    let pipeline = api
        .send(api.request(Method::GET, "/webhooks/pipeline?challenge=c1", None))
        .await;
    assert_eq!(pipeline.status, StatusCode::OK);
}

#[tokio::test]
async fn an_oversized_webhook_body_is_refused_unread() {
    let (h, api, _key) = setup().await;
    load_snoop(&h, |_| {}).await;
    let body = vec![b'x'; postd_host::api::MAX_WEBHOOK_BODY + 1];
    let refused = api
        .send(
            api.request(Method::POST, "/webhooks/snoop", None)
                .body(body),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        "{refused:?}"
    );
    assert_eq!(calls(&h, "_webhooks", "snoop"), 0);
    let fits = vec![b'x'; postd_host::api::MAX_WEBHOOK_BODY];
    let taken = api
        .send(
            api.request(Method::POST, "/webhooks/snoop", None)
                .body(fits),
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{taken:?}");
}

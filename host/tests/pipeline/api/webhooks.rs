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

//! Meta webhooks and the request log.

use super::*;

#[tokio::test]
async fn webhooks_are_signed_with_x_hub_signature_256_and_challenges_checked() {
    let sb = start().await;
    let rx = Receiver::start().await;
    let event = json!({"object":"page","entry":[{"id":META_PAGE_ID,"time":1_700_000_000,"changes":[{"field":"feed","value":{"item":"status","post_id":"P_1","verb":"add"}}]}]});
    let d = sb
        .deliver_webhook(Platform::Meta, &rx.url, &event, &DeliveryOptions::default())
        .await
        .expect("delivered");
    assert_eq!(d.status, 200);
    let got = &rx.received()[0];
    let sig = got
        .header("x-hub-signature-256")
        .expect("signature")
        .to_string();
    assert_eq!(
        sig,
        postd_sandbox::webhooks::meta_signature(&got.body, META_APP_SECRET)
    );
    assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
    assert_eq!(
        serde_json::from_slice::<Value>(&got.body).expect("json"),
        event
    );

    let ok = sb
        .verify_subscription(Platform::Meta, &rx.url, "verify-me")
        .await
        .expect("sent");
    assert!(ok.passed, "{ok:?}");
    let bad = sb
        .verify_subscription(Platform::Meta, &rx.url, "other")
        .await
        .expect("sent");
    assert!(!bad.passed);
    let got = rx.received();
    assert!(got[1].uri.contains("hub.mode=subscribe") && got[1].uri.contains("hub.challenge="));

    let deauth =
        json!({"algorithm": "HMAC-SHA256", "issued_at": 1_700_000_000, "user_id": META_USER_ID});
    let options = DeliveryOptions {
        meta_signed_request: true,
        ..DeliveryOptions::default()
    };
    sb.deliver_webhook(Platform::Meta, &rx.url, &deauth, &options)
        .await
        .expect("delivered");
    let body = String::from_utf8(rx.received()[3].body.clone()).expect("utf8");
    let signed = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "signed_request")
        .expect("field")
        .1
        .into_owned();
    assert_eq!(
        signed,
        postd_sandbox::webhooks::meta_signed_request(&deauth, META_APP_SECRET)
    );
}

#[tokio::test]
async fn every_request_is_logged_with_headers_and_body() {
    let sb = start().await;
    let user = sb.issue_token(Platform::Meta).access_token;
    let page = page_token(&sb, &user, META_PAGE_ID).await;
    post_json(
        &format!("{}/{META_PAGE_ID}/feed", graph(&sb)),
        Some(&page),
        &json!({"message": "logged"}),
    )
    .await;
    let log = sb.requests(Some(Platform::Meta));
    let last = log.last().expect("logged");
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, format!("/meta/{VERSION}/{META_PAGE_ID}/feed"));
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {page}").as_str())
    );
    assert_eq!(last.body_json(), Some(json!({"message": "logged"})));
    assert_eq!(last.status, Some(200));
    sb.reset();
    assert!(sb.requests(None).is_empty());
    // A reset forgets issued tokens.
    assert_graph_error(
        &get(&format!("{}/me?access_token={user}", graph(&sb))).await,
        190,
        None,
    );
}

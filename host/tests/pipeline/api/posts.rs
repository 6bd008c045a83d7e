//! Posts, jobs and dead letters through the API.

use super::*;

#[tokio::test]
async fn posts_are_idempotent_validated_and_observable() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    let body = post_body(&connection, "hello");
    let no_key = api.post("/v1/posts", &key, body.clone()).await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    let malformed = api
        .send(
            api.request(Method::POST, "/v1/posts", Some(&key))
                .header("content-type", "application/json")
                .header("idempotency-key", "x")
                .body("{not json"),
        )
        .await;
    assert!(
        malformed.status.is_client_error() && malformed.code() == "bad-request",
        "{malformed:?}"
    );
    let unknown_field = publish(
        &api,
        &key,
        "x",
        &json!({ "text": "a", "targets": [], "colour": "red" }),
    )
    .await;
    assert!(unknown_field.status.is_client_error(), "{unknown_field:?}");
    let too_long = publish(&api, &key, "x", &post_body(&connection, &"x".repeat(281))).await;
    assert_eq!(
        (too_long.status, too_long.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-content")
    );
    let huge = publish(
        &api,
        &key,
        "x",
        &post_body(&connection, &"x".repeat(2 << 20)),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        api.get("/v1/jobs", &key).await.json,
        json!([]),
        "nothing was stored by refused requests"
    );

    let first = publish(&api, &key, "k1", &body).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let replay = publish(&api, &key, "k1", &body).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.json["id"], first.json["id"]);
    let conflict = publish(&api, &key, "k1", &post_body(&connection, "changed")).await;
    assert_eq!(
        (conflict.status, conflict.code()),
        (StatusCode::CONFLICT, "conflict")
    );

    assert_eq!(h.pipeline.run_due().await, 1);
    let post = api
        .get(
            &format!("/v1/posts/{}", first.json["id"].as_str().unwrap()),
            &key,
        )
        .await;
    assert_eq!(post.json["jobs"][0]["state"], "published", "{post:?}");
    assert_eq!(
        api.get("/v1/jobs?status=published", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/v1/jobs?status=bogus", &key).await.status,
        StatusCode::BAD_REQUEST
    );
    let accounts = api
        .get(&format!("/v1/connections/{connection}/accounts"), &key)
        .await;
    assert_eq!(accounts.json[0]["id"], "acct-1");
    let refreshed = api
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");

    // Deleting: a scheduled job is cancelled; the published one stays (no delete on this platform).
    let mut later = post_body(&connection, "later");
    later["scheduled_for"] = json!(h.pipeline.now() / 1000 + 3600);
    let scheduled = publish(&api, &key, "k2", &later).await;
    let deletion = api
        .send(api.request(
            Method::DELETE,
            &format!("/v1/posts/{}", scheduled.json["id"].as_str().unwrap()),
            Some(&key),
        ))
        .await;
    assert_eq!(
        deletion.json["cancelled"].as_array().unwrap().len(),
        1,
        "{deletion:?}"
    );
    let kept = api
        .send(api.request(
            Method::DELETE,
            &format!("/v1/posts/{}", first.json["id"].as_str().unwrap()),
            Some(&key),
        ))
        .await;
    assert_eq!(kept.json["kept"].as_object().unwrap().len(), 1, "{kept:?}");
}

#[tokio::test]
async fn dead_letters_are_listed_and_replayed() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    h.platform.with(|s| s.draft_failures.push_back(400));
    publish(&api, &key, "k1", &post_body(&connection, "hello")).await;
    h.pipeline.run_due().await;
    let letters = api.get("/v1/dead-letters", &key).await;
    assert_eq!(
        letters.json[0]["reason_code"], "invalid-input",
        "{letters:?}"
    );
    let id = letters.json[0]["id"].as_str().unwrap();
    let replayed = api
        .post(&format!("/v1/dead-letters/{id}/replay"), &key, json!({}))
        .await;
    assert_eq!(
        (replayed.status, replayed.json["state"].as_str()),
        (StatusCode::ACCEPTED, Some("queued"))
    );
    assert_eq!(
        api.post(&format!("/v1/dead-letters/{id}/replay"), &key, json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    h.pipeline.run_due().await;
    assert_eq!(
        api.get("/v1/jobs?status=published", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

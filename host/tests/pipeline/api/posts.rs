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

    // Deleting: a scheduled job is cancelled; the published one is deleted on the platform.
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
    let first_id = first.json["id"].as_str().unwrap();
    let deleted = api
        .send(
            api.request(Method::DELETE, &format!("/v1/posts/{first_id}"), Some(&key))
                .header("x-request-id", "delete-call-1"),
        )
        .await;
    assert_eq!(
        deleted.json["deleted"].as_array().unwrap().len(),
        1,
        "{deleted:?}"
    );
    assert_eq!(h.platform.with(|s| s.deleted.len()), 1);
    // The job says so: state, when, and which call.
    let job = &api.get(&format!("/v1/posts/{first_id}"), &key).await.json["jobs"][0];
    assert_eq!(job["state"], "deleted", "{job}");
    assert_eq!(job["deleted_at"], h.pipeline.now());
    let reason = job["state_reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("DELETE /v1/posts/{first_id}"))
            && reason.contains("delete-call-1"),
        "{reason}"
    );
    assert_eq!(
        api.get("/v1/jobs?status=deleted", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A second delete finds nothing left to delete.
    let again = api
        .send(api.request(Method::DELETE, &format!("/v1/posts/{first_id}"), Some(&key)))
        .await;
    assert_eq!(
        again.json["kept"].as_object().unwrap().len(),
        1,
        "{again:?}"
    );
    assert_eq!(h.platform.with(|s| s.deleted.len()), 1);
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

#[tokio::test]
async fn a_dead_letter_is_replayed_with_corrected_options_and_the_change_is_audited() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    let mut body = post_body(&connection, "needs a fix");
    body["options"] = json!({ "fail": "invalid", "keep": "yes" });
    publish(&api, &key, "k1", &body).await;
    h.pipeline.run_due().await;
    let letters = api.get("/v1/dead-letters", &key).await;
    let id = letters.json[0]["id"].as_str().unwrap().to_string();
    let replay = |body: Value| {
        let path = format!("/v1/dead-letters/{id}/replay");
        let api = &api;
        let key = &key;
        async move { api.post(&path, key, body).await }
    };
    // Malformed changes are refused and change nothing.
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("o{i}"), json!("x"))).collect();
    for bad in [
        json!({ "options": { "bad name": "x" } }),
        json!({ "options": { "fail": 3 } }),
        json!({ "colour": "red" }),
        json!({ "options": many }),
        json!({ "options": { "long": "x".repeat(4097) } }),
    ] {
        let refused = replay(bad.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {refused:?}"
        );
    }
    assert_eq!(
        api.get("/v1/dead-letters", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let replayed = replay(json!({ "options": { "fail": null, "added": "1" } })).await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{replayed:?}");
    let options = &replayed.json["content"]["options"];
    assert_eq!(
        options,
        &json!({ "keep": "yes", "added": "1" }),
        "{replayed:?}"
    );
    h.pipeline.run_due().await;
    let job = replayed.json["id"].as_str().unwrap();
    assert_eq!(h.platform.posts_for(job), 1);
    let audit = h.store.tenant("acme").audit_log(10).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "job.replayed").unwrap();
    assert!(
        entry.detail.contains("options_changed=added,fail"),
        "{entry:?}"
    );
}

#[tokio::test]
async fn analytics_takes_the_callers_metrics_and_the_connector_judges_them() {
    let (_h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    let path = |query: &str| {
        format!("/v1/analytics?connection={connection}&account=acct-1&since=1000&until=4600{query}")
    };
    let names = |answer: &Answer| -> Vec<String> {
        answer
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    let default = api.get(&path(""), &key).await;
    assert_eq!(default.status, StatusCode::OK, "{default:?}");
    assert_eq!(names(&default), ["impressions", "clicks"]);
    assert_eq!(default.json[0]["value"], 3600.0);

    let chosen = api.get(&path("&metrics=clicks"), &key).await;
    assert_eq!(names(&chosen), ["clicks"], "{chosen:?}");

    let unknown = api.get(&path("&metrics=clicks,page_fans"), &key).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
        "{unknown:?}"
    );
    let message = unknown.json["message"].as_str().unwrap();
    assert!(
        message.contains("page_fans") && message.contains("impressions"),
        "{message}"
    );

    for malformed in ["&metrics=Clicks", "&metrics=a,,b", "&metrics=a%20b"] {
        let refused = api.get(&path(malformed), &key).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{malformed}: {refused:?}"
        );
    }
    let many = vec!["m"; 33].join(",");
    let too_many = api.get(&path(&format!("&metrics={many}")), &key).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_post_the_connector_cannot_publish_is_refused_naming_the_target_and_the_rule() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    // The pipeline fixture declares text posts only.
    let mut image = post_body(&connection, "with a picture");
    image["media"] = json!([{ "kind": "image", "url": "https://cdn.example/a.png" }]);
    let refused = publish(&api, &key, "image-1", &image).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-content"),
        "{refused:?}"
    );
    let message = refused.json["message"].as_str().unwrap();
    assert!(
        message.contains("target 0")
            && message.contains(&connection)
            && message.contains("does not publish images"),
        "{message}"
    );
    let mut link = post_body(&connection, "with a link");
    link["link"] = json!("https://example.com/article");
    let refused = publish(&api, &key, "link-1", &link).await;
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .contains("does not publish links"),
        "{refused:?}"
    );
    // Nothing was queued.
    assert!(
        h.store
            .tenant("acme")
            .jobs(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn lists_are_paged_with_a_cursor() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    for i in 0..5 {
        let mut body = post_body(&connection, &format!("post {i}"));
        body["options"] = json!({ "fail": "invalid" });
        publish(&api, &key, &format!("k{i}"), &body).await;
    }
    h.pipeline.run_due().await;
    for route in ["/v1/jobs?", "/v1/dead-letters?"] {
        let (items, pages) = all_pages(&api, &key, route, 2).await;
        // 2 + 2 + 1: the last page is short and names no next one.
        assert_eq!(pages, 3, "{route}");
        let seen: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        let mut newest_first = seen.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        newest_first.dedup();
        assert_eq!(seen, newest_first, "{route}: every item once, newest first");
        assert_eq!(seen.len(), 5, "{route}");
        let bad = api.get(&format!("{route}cursor=%0A"), &key).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{route}: {bad:?}");
    }
    // Connections, oldest first (their ids are the caller's, so the cursor carries the time).
    for _ in 0..3 {
        connect(&api, &key).await;
    }
    let (items, pages) = all_pages(&api, &key, "/v1/connections?", 3).await;
    let everything = api.get("/v1/connections", &key).await;
    assert_eq!(pages, 2);
    assert_eq!(
        &json!(items),
        &everything.json,
        "the pages add up to the whole list"
    );
    assert_eq!(items.len(), 4);
    let bad = api.get("/v1/connections?cursor=no-dot", &key).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
}

#[tokio::test]
async fn an_idempotency_key_is_one_to_255_visible_characters() {
    let (_h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    let body = post_body(&connection, "hello");
    let long = "k".repeat(256);
    for bad in [long.as_str(), "two words"] {
        let refused = publish(&api, &key, bad, &body).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {refused:?}"
        );
        assert!(
            refused.json["message"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
    }
    let fine = publish(&api, &key, &"k".repeat(255), &body).await;
    assert_eq!(fine.status, StatusCode::ACCEPTED, "{fine:?}");
}

//! The admin API: uploads, swaps, rollbacks, tenants, per-tenant enablement.

use super::*;

#[tokio::test]
async fn admin_uploads_swap_roll_back_and_enable_per_tenant() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    let admin = |m: Method, p: &str| api.request(m, p, Some(ADMIN_KEY));
    let plugins = api.send(admin(Method::GET, "/admin/plugins")).await;
    assert_eq!(
        (
            plugins.json[0]["id"].as_str(),
            plugins.json[0]["status"].as_str()
        ),
        (Some("pipeline"), Some("serving"))
    );

    let garbage = api
        .send(admin(Method::PUT, "/admin/plugins/pipeline").body(b"\0asm garbage".to_vec()))
        .await;
    assert_eq!(
        (garbage.status, garbage.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-component")
    );
    let bytes = std::fs::read(postd_test_artifacts::PIPELINE_NEXT).unwrap();
    let swapped = api
        .send(admin(Method::PUT, "/admin/plugins/pipeline").body(bytes))
        .await;
    assert_eq!(swapped.status, StatusCode::OK, "{swapped:?}");
    assert_eq!(swapped.json["previous_version"], "0.1.0");
    let rolled = api
        .send(admin(Method::POST, "/admin/plugins/pipeline/rollback"))
        .await;
    assert_eq!(rolled.status, StatusCode::OK);
    assert!(rolled.json["swaps"].as_u64().unwrap() >= 2);
    let unknown = api
        .send(admin(Method::PUT, "/admin/plugins/nope").body(vec![0u8]))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let disable = api
        .send(with_json(
            admin(Method::PUT, "/admin/tenants/acme/plugins/pipeline"),
            &json!({ "enabled": false }),
        ))
        .await;
    assert_eq!(disable.status, StatusCode::NO_CONTENT);
    let refused = api
        .get(&format!("/v1/connections/{connection}/accounts"), &key)
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "plugin-disabled"),
        "{refused:?}"
    );
    publish(&api, &key, "k1", &post_body(&connection, "waits")).await;
    h.pipeline.run_due().await;
    assert_eq!(
        api.get("/v1/jobs?status=paused", &key)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1,
        "kept, not dropped"
    );
    let clear = api
        .send(admin(
            Method::DELETE,
            "/admin/tenants/acme/plugins/pipeline",
        ))
        .await;
    assert_eq!(clear.status, StatusCode::NO_CONTENT);
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

    let created = api
        .send(with_json(
            admin(Method::POST, "/admin/tenants"),
            &json!({ "id": "initech", "name": "Initech" }),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let new_key = created.json["api_key"].as_str().unwrap();
    assert_eq!(
        api.get("/v1/connections", new_key).await.status,
        StatusCode::OK
    );
}

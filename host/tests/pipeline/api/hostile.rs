//! A hostile connector through the API: what it answers is capped before it is stored or served.

use postd_host::config::PluginEntry;

use super::*;

/// Serves the hostile fixture beside the pipeline one and connects `acme` to it by API key.
async fn hostile_connection(h: &Harness, api: &Api, key: &str) -> String {
    h.runtime
        .configure_plugin(PluginEntry::new("hostile", postd_test_artifacts::HOSTILE))
        .await
        .expect("the hostile fixture loads");
    let created = api
        .post(
            "/v1/connections",
            key,
            json!({ "plugin": "hostile", "api_key": "hostile-test-key" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    created.json["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_oversized_post_id_is_dead_lettered_not_stored_or_served() {
    let (h, api, key) = setup().await;
    let connection = hostile_connection(&h, &api, &key).await;
    let accepted = publish(&api, &key, "huge", &post_body(&connection, "huge-id")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    assert_eq!(h.pipeline.run_due().await, 1);

    let id = accepted.json["id"].as_str().unwrap();
    let post = api.get(&format!("/v1/posts/{id}"), &key).await;
    let job = &post.json["jobs"][0];
    assert_eq!(job["state"], "dead", "{post:?}");
    assert!(
        job.to_string().contains("answer-too-large"),
        "the reason is named: {job}"
    );
    let served = serde_json::to_string(&post.json).unwrap();
    assert!(
        served.len() < 16 << 10,
        "the 2 MiB id is neither stored nor served ({} bytes)",
        served.len()
    );
    let listed = api.get("/v1/posts", &key).await;
    assert!(serde_json::to_string(&listed.json).unwrap().len() < 16 << 10);
}

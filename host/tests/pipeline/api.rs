//! The HTTP API over the pipeline: authentication and tenant scoping, the OAuth flow, posts,
//! jobs and dead letters, webhooks, admin, operations and the OpenAPI document.

use postd_host::api::{Access, OPERATIONS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::server::{ADMIN_KEY, Api, json as with_json};
use crate::support::{Harness, Kind, WEBHOOK_SECRET};

async fn setup() -> (Harness, Api, String) {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    (h, api, key)
}

/// Connects through the API's OAuth flow; returns the connection id.
async fn connect(api: &Api, key: &str) -> String {
    let start = api.get("/v1/oauth/pipeline/start", key).await;
    assert_eq!(start.status, StatusCode::OK, "{start:?}");
    let authorize = start.json["authorize_url"].as_str().unwrap();
    assert!(
        authorize.contains("response_type=code") && authorize.contains("state=st_"),
        "{authorize}"
    );
    let state = start.json["state"].as_str().unwrap();
    let callback = api
        .send(api.request(
            Method::GET,
            &format!("/v1/oauth/pipeline/callback?code=abc&state={state}"),
            None,
        ))
        .await;
    assert_eq!(callback.status, StatusCode::OK, "{callback:?}");
    callback.json["id"].as_str().unwrap().to_string()
}

fn post_body(connection: &str, text: &str) -> Value {
    json!({ "text": text, "targets": [{ "connection_id": connection, "account_id": "acct-1" }] })
}

async fn publish(
    api: &Api,
    key: &str,
    idempotency_key: &str,
    body: &Value,
) -> crate::support::server::Answer {
    api.send(
        with_json(api.request(Method::POST, "/v1/posts", Some(key)), body)
            .header("idempotency-key", idempotency_key),
    )
    .await
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused_in_json() {
    let (_h, api, _key) = setup().await;
    let none = api
        .send(api.request(Method::GET, "/v1/connections", None))
        .await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let wrong = api.get("/v1/connections", "pdk_wrong").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let tenant_as_admin = api.get("/admin/plugins", "pdk_wrong").await;
    assert_eq!(tenant_as_admin.status, StatusCode::UNAUTHORIZED);
    let missing = api.get("/v1/nope", "x").await;
    assert_eq!(
        (missing.status, missing.code()),
        (StatusCode::NOT_FOUND, "no-route")
    );
    assert!(none.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn oauth_state_is_single_use_bound_to_its_plugin_and_expires() {
    let (h, api, key) = setup().await;
    let connection = connect(&api, &key).await;
    assert_eq!(
        api.get(&format!("/v1/connections/{connection}"), &key)
            .await
            .json["status"],
        "healthy"
    );

    let start = api.get("/v1/oauth/pipeline/start", &key).await;
    let state = start.json["state"].as_str().unwrap().to_string();
    let callback = format!("/v1/oauth/pipeline/callback?code=abc&state={state}");
    assert_eq!(
        api.send(api.request(Method::GET, &callback, None))
            .await
            .status,
        StatusCode::OK
    );
    let again = api.send(api.request(Method::GET, &callback, None)).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::BAD_REQUEST, "invalid-state"),
        "single use"
    );
    let forged = api
        .send(api.request(
            Method::GET,
            "/v1/oauth/pipeline/callback?code=abc&state=st_forged",
            None,
        ))
        .await;
    assert_eq!(forged.code(), "invalid-state");

    let late = api.get("/v1/oauth/pipeline/start", &key).await.json["state"]
        .as_str()
        .unwrap()
        .to_string();
    h.clock.advance(10 * 60 * 1000 + 1);
    let expired = api
        .send(api.request(
            Method::GET,
            &format!("/v1/oauth/pipeline/callback?code=abc&state={late}"),
            None,
        ))
        .await;
    assert_eq!(expired.code(), "invalid-state", "expired after ten minutes");
    let denied_state = api.get("/v1/oauth/pipeline/start", &key).await.json["state"]
        .as_str()
        .unwrap()
        .to_string();
    let denied = api
        .send(api.request(
            Method::GET,
            &format!("/v1/oauth/pipeline/callback?error=access_denied&state={denied_state}"),
            None,
        ))
        .await;
    assert_eq!(denied.code(), "authorization-denied");
    // API-key connections are refused for an OAuth plugin.
    let pasted = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "pipeline", "api_key": "k" }),
        )
        .await;
    assert_eq!(pasted.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_tenant_sees_and_changes_only_its_own_resources() {
    let (h, api, key_a) = setup().await;
    let key_b = h.tenant_key("globex").await;
    let connection = connect(&api, &key_a).await;
    let accepted = publish(&api, &key_a, "k1", &post_body(&connection, "acme's")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    let post_id = accepted.json["id"].as_str().unwrap();

    assert_eq!(api.get("/v1/connections", &key_b).await.json, json!([]));
    assert_eq!(
        api.get(&format!("/v1/connections/{connection}"), &key_b)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&format!("/v1/posts/{post_id}"), &key_b)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/v1/jobs", &key_b).await.json, json!([]));
    let delete = api
        .send(api.request(
            Method::DELETE,
            &format!("/v1/connections/{connection}"),
            Some(&key_b),
        ))
        .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    let via_other = publish(&api, &key_b, "k1", &post_body(&connection, "globex's")).await;
    assert_eq!(
        via_other.status,
        StatusCode::NOT_FOUND,
        "another tenant's connection cannot be a target"
    );
    assert_eq!(
        api.get("/v1/jobs", &key_a)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

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
    let bytes = std::fs::read(postd_test_artifacts::PIPELINE).unwrap();
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
    for series in [
        "postd_http_requests_total{",
        "postd_jobs",
        "postd_dead_letters ",
        "postd_fuel_consumed_total{tenant=\"acme\",plugin=\"pipeline\"}",
        "postd_egress_request_duration_seconds_bucket{plugin=\"pipeline\"",
        "postd_token_expiry_seconds ",
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

#[tokio::test]
async fn the_binary_serves_the_api_with_a_first_tenant_and_stops_gracefully() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.path().join("plugins.toml"), "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(["run", "--plugins"])
        .arg(dir.path().join("plugins.toml"))
        .env("POSTD_DATA_DIR", dir.path())
        .env("POSTD_LISTEN", format!("127.0.0.1:{port}"))
        .env("POSTD_LOG", "warn")
        .env_remove("POSTD_DATABASE_URL")
        .env_remove("POSTD_REDIS_URL")
        .env_remove("POSTD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first start prints the default tenant's key.
    let stdout = child.stdout.take().unwrap();
    let key = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.trim()
                    .strip_prefix("pdk_")
                    .map(|rest| format!("pdk_{rest}"))
            })
    })
    .await
    .unwrap()
    .expect("the first tenant's key is printed");
    let api = Api {
        url: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
    };
    crate::support::eventually(
        std::time::Duration::from_secs(30),
        "the API to answer",
        || async {
            api.client
                .get(format!("{}/livez", api.url))
                .send()
                .await
                .is_ok()
        },
    )
    .await;
    assert_eq!(api.get("/v1/connections", &key).await.json, json!([]));
    assert_eq!(
        api.send(api.request(Method::GET, "/readyz", None))
            .await
            .status,
        StatusCode::OK
    );
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
}

//! Keys, the OAuth flow and tenant scoping.

use super::*;

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

async fn start_oauth(api: &Api, key: &str) -> String {
    let start = api.get("/v1/oauth/pipeline/start", key).await;
    assert_eq!(start.status, StatusCode::OK, "{start:?}");
    start.json["state"].as_str().unwrap().to_string()
}

async fn callback(api: &Api, query: &str) -> Answer {
    api.send(api.request(
        Method::GET,
        &format!("/v1/oauth/pipeline/callback?{query}"),
        None,
    ))
    .await
}

#[tokio::test]
async fn a_callback_that_fails_leaves_its_state_usable_and_no_secrets_behind() {
    let (h, api, key) = setup().await;
    let state = start_oauth(&api, &key).await;
    // The connector refuses a callback without a code: nothing is stored, the state still works.
    let failed = callback(&api, &format!("state={state}")).await;
    assert_eq!(
        (failed.status, failed.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
        "{failed:?}"
    );
    assert_eq!(
        api.get("/v1/connections", &key).await.json,
        json!([]),
        "nothing stored"
    );
    let done = callback(&api, &format!("code=abc&state={state}")).await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    let again = callback(&api, &format!("code=abc&state={state}")).await;
    assert_eq!(again.code(), "invalid-state", "used up once it connected");
    assert_eq!(h.platform.with(|s| s.token_exchanges), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callbacks_on_sqlite_all_connect() {
    let (h, api, key) = setup().await;
    let mut states = Vec::new();
    for _ in 0..6 {
        states.push(start_oauth(&api, &key).await);
    }
    let queries: Vec<String> = states
        .iter()
        .map(|s| format!("code=abc&state={s}"))
        .collect();
    let answers = futures::future::join_all(queries.iter().map(|q| callback(&api, q))).await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
    let listed = api.get("/v1/connections", &key).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 6, "{listed:?}");
    // Each connection's tokens are in the vault: a refresh through the connector works.
    for answer in &answers {
        let id = answer.json["id"].as_str().unwrap();
        let refreshed = api
            .post(&format!("/v1/connections/{id}/refresh"), &key, json!({}))
            .await;
        assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    }
    drop(h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_state_raced_by_two_callbacks_connects_once() {
    let (h, api, key) = setup().await;
    let state = start_oauth(&api, &key).await;
    let query = format!("code=abc&state={state}");
    let (first, second) = tokio::join!(callback(&api, &query), callback(&api, &query));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "{first:?} / {second:?}"
    );
    let winner = if first.status == StatusCode::OK {
        &first
    } else {
        &second
    };
    let id = winner.json["id"].as_str().unwrap();
    // The loser erased nothing: the stored connection's tokens still refresh.
    let refreshed = api
        .post(&format!("/v1/connections/{id}/refresh"), &key, json!({}))
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    drop(h);
}

/// The query of a `303`'s `Location`, as pairs.
fn location_query(answer: &Answer) -> (String, BTreeMap<String, String>) {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    let location = answer.headers["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    let base = format!("{}{}", url.origin().ascii_serialization(), url.path());
    (base, url.query_pairs().into_owned().collect())
}

#[tokio::test]
async fn oauth_ends_in_the_tenants_app_when_it_names_an_allowed_return_to() {
    let (_h, api, key) = setup().await;
    let origins = |body: Value| {
        let api = &api;
        let key = &key;
        async move {
            api.send(with_json(
                api.request(Method::PUT, "/v1/oauth/return-origins", Some(key)),
                &body,
            ))
            .await
        }
    };
    for bad in [
        "http://app.example.com",
        "https://app.example.com/path",
        "javascript:x",
    ] {
        let refused = origins(json!({ "origins": [bad] })).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {refused:?}"
        );
    }
    let too_many: Vec<String> = (0..21)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    let refused = origins(json!({ "origins": too_many })).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
    assert_eq!(
        api.get("/v1/oauth/return-origins", &key).await.json,
        json!({ "origins": [] }),
        "a refused change changes nothing"
    );
    let set =
        origins(json!({ "origins": ["https://App.Example.com:443", "http://localhost:3000"] }))
            .await;
    assert_eq!(
        set.json["origins"],
        json!(["http://localhost:3000", "https://app.example.com"]),
        "{set:?}"
    );
    assert_eq!(
        api.get("/v1/oauth/return-origins", &key).await.json,
        set.json
    );

    let start = |return_to: &str| {
        let path = format!(
            "/v1/oauth/pipeline/start?return_to={}",
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        );
        let api = &api;
        let key = &key;
        async move { api.get(&path, key).await }
    };
    let foreign = start("https://evil.example/connected").await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{foreign:?}");
    assert!(
        foreign.json["message"]
            .as_str()
            .unwrap()
            .contains("return origins")
    );

    // Success: back to the app with the connection id, nothing secret in the URL.
    let started = start("https://app.example.com/connected?from=postd").await;
    assert_eq!(started.status, StatusCode::OK, "{started:?}");
    let state = started.json["state"].as_str().unwrap();
    let done = callback(&api, &format!("code=abc&state={state}")).await;
    let (base, query) = location_query(&done);
    assert_eq!(base, "https://app.example.com/connected");
    assert_eq!(query["from"], "postd");
    assert_eq!(query["status"], "connected");
    assert_eq!(
        query["connection_id"],
        started.json["connection_id"].as_str().unwrap()
    );
    assert_eq!(query.len(), 3, "{query:?}");
    assert_eq!(done.headers["cache-control"], "no-store");

    // Refused by the user, or failed in the connector: back to the app with the error.
    let denied = start("http://localhost:3000/oauth").await.json["state"]
        .as_str()
        .unwrap()
        .to_string();
    let (base, query) =
        location_query(&callback(&api, &format!("error=access_denied&state={denied}")).await);
    assert_eq!(base, "http://localhost:3000/oauth");
    assert_eq!(query["error"], "authorization-denied");
    let failing = start("http://localhost:3000/oauth").await.json["state"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, query) = location_query(&callback(&api, &format!("state={failing}")).await);
    assert_eq!(query["error"], "invalid-input", "{query:?}");
    assert!(query["error_description"].contains("code"), "{query:?}");
    // An unknown state cannot say where to go: JSON, as before.
    let unknown = callback(&api, "code=abc&state=st_unknown").await;
    assert_eq!(unknown.code(), "invalid-state");
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

/// A client whose requests come from `source` (a loopback address).
fn client_from(api: &Api, source: &str) -> Api {
    Api {
        url: api.url.clone(),
        client: reqwest::Client::builder()
            .local_address(source.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap(),
    }
}

#[tokio::test]
async fn an_address_guessing_keys_must_wait_and_no_one_else_does() {
    let (_h, api, key) = setup().await;
    let guesser = client_from(&api, "127.0.0.2");
    // Twenty wrong keys in a minute, tenant and admin alike, are answered 401...
    for n in 0..20 {
        let wrong = if n % 2 == 0 {
            guesser
                .get("/v1/connections", &format!("pdk_guess{n}"))
                .await
        } else {
            guesser
                .get("/admin/plugins", &format!("admin-guess-{n}"))
                .await
        };
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    // ...then the address waits, whatever key it sends, the right one included.
    for (path, key) in [
        ("/v1/connections", "pdk_guess20"),
        ("/v1/connections", key.as_str()),
        ("/admin/plugins", ADMIN_KEY),
    ] {
        let refused = guesser.get(path, key).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::TOO_MANY_REQUESTS, "too-many-failures"),
            "{path}: {refused:?}"
        );
        let wait: u64 = refused.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    // Other addresses are not affected, and successes cost nothing.
    let other = client_from(&api, "127.0.0.3");
    for _ in 0..50 {
        assert_eq!(
            other.get("/v1/connections", &key).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        other.get("/admin/plugins", ADMIN_KEY).await.status,
        StatusCode::OK
    );
}

/// A request refused before its body is read (wrong key, then over the failure budget) is
/// answered with `Connection: close`, so a keep-alive client never sends its next request on a
/// connection the server is closing: every request of a reusing client gets an answer.
#[tokio::test]
async fn refused_requests_with_unread_bodies_close_their_connection() {
    let (_h, api, key) = setup().await;
    // A body that was read keeps the connection open.
    let read = api
        .client
        .put(format!("{}/v1/oauth/return-origins", api.url))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(json!({ "origins": ["https://app.example"] }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert!(read.headers().get("connection").is_none());
    let body = vec![b'x'; 200_000];
    for i in 0..60 {
        let answer = api
            .client
            .put(format!("{}/v1/oauth/return-origins", api.url))
            .bearer_auth("pdk_wrong")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} got no answer: {e}"));
        assert!(
            matches!(
                answer.status(),
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "{i}: {}",
            answer.status()
        );
        assert_eq!(answer.headers()["connection"], "close", "{i}");
    }
}

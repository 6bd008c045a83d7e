//! The Python example connector (`connectors-python/example`, built by componentize-py with the
//! Python SDK of `sdk-python/`) through the real pipeline: loaded and validated by the runtime,
//! connected and published through the HTTP API, run by the job pipeline against a loopback
//! platform that speaks the example API. Each scenario runs the Rust example connector too, so
//! the two are held to the same answers.
//!
//! The component is built outside cargo: `make python-connectors` writes
//! `target/python/example-py.wasm`. A missing component fails these tests; it never skips them.
//!
//! It is large (CPython and what the connector imports of its standard library, about 18 MB),
//! and a debug build of the host takes 110-150 s to compile it on 2 cores, at the edge of the
//! runtime's 120 s compile budget; so the first scenario compiles it once into the tests'
//! shared compile cache with a longer budget, and the harnesses load it from there, as a
//! release host loads it within its budget.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use postd_host::config::PluginEntry;
use postd_host::runtime::{HostServices, Runtime, RuntimeSettings};
use postd_host::store::{ConnectionStatus, JobState};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::server::{Api, json as with_json};
use crate::support::{Harness, Kind, shared_cache};

/// The API key the tests connect with.
const API_KEY: &str = "key-for-the-example-api";

/// A connector under test: its plugin id (its manifest id) and its component.
struct Connector {
    plugin: &'static str,
    path: PathBuf,
}

/// Where `make python-connectors` writes the Python example.
fn python_component() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/python/example-py.wasm")
}

/// The Python example, built by `make python-connectors`.
fn python() -> Connector {
    let path = python_component();
    assert!(
        path.is_file(),
        "{} is missing: run `make python-connectors` to build the Python example connector \
         (it needs python3 and PyPI for componentize-py)",
        path.display()
    );
    Connector {
        plugin: "example-py",
        path,
    }
}

/// The Rust example, built by the fixture crate.
fn rust() -> Connector {
    Connector {
        plugin: "example",
        path: PathBuf::from(postd_test_artifacts::EXAMPLE),
    }
}

/// The Python SDK's version, as `sdk-python/postd_sdk/version.py` states it.
fn python_sdk_version() -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sdk-python/postd_sdk/version.py");
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("SDK_VERSION = "))
        .expect("SDK_VERSION in version.py");
    line.trim().trim_matches('"').to_string()
}

/// Runs each scenario once with the Python example and once with the Rust one.
macro_rules! python_and_rust {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn python() {
                    super::$scenario(super::python()).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn rust() {
                    super::$scenario(super::rust()).await
                }
            }
        )*
    };
}

python_and_rust!(
    connects_lists_publishes_deletes_and_answers_challenges,
    a_platform_500_is_retried_with_backoff_then_published,
    a_platform_401_asks_for_a_refresh_the_api_key_cannot_give,
);

/// One request the platform received.
#[derive(Debug, Clone)]
struct Received {
    method: &'static str,
    path: String,
    authorization: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Seen {
    requests: Vec<Received>,
    /// Statuses the next `POST /posts` answer with, in order.
    post_failures: VecDeque<u16>,
    next_id: u64,
}

/// The example API on loopback: `GET /me`, `GET /accounts`, `POST /posts`, `DELETE /posts/{id}`,
/// each answering 401 to anything but `Bearer <API_KEY>`.
#[derive(Clone)]
struct ExamplePlatform {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

type Shared = State<Arc<Mutex<Seen>>>;

impl ExamplePlatform {
    async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new()
            .route("/me", get(me))
            .route("/accounts", get(accounts))
            .route("/posts", post(create_post))
            .route("/posts/{id}", delete(delete_post))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ExamplePlatform { url, seen }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.seen.lock().unwrap())
    }

    fn requests(&self, method: &str, path: &str) -> Vec<Received> {
        self.with(|s| {
            s.requests
                .iter()
                .filter(|r| r.method == method && r.path == path)
                .cloned()
                .collect()
        })
    }
}

/// Records the request; answers 401 unless it carries the test key.
fn record(
    seen: &mut Seen,
    method: &'static str,
    path: String,
    headers: &HeaderMap,
    body: Value,
) -> Result<(), (StatusCode, Json<Value>)> {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorized = authorization.as_deref() == Some(&format!("Bearer {API_KEY}"));
    seen.requests.push(Received {
        method,
        path,
        authorization,
        body,
    });
    if authorized {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "bad key" })),
        ))
    }
}

async fn me(State(seen): Shared, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let mut s = seen.lock().unwrap();
    if let Err(refused) = record(&mut s, "GET", "/me".into(), &headers, Value::Null) {
        return refused;
    }
    (
        StatusCode::OK,
        Json(json!({ "id": "user-1", "name": "Test User" })),
    )
}

async fn accounts(State(seen): Shared, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let mut s = seen.lock().unwrap();
    if let Err(refused) = record(&mut s, "GET", "/accounts".into(), &headers, Value::Null) {
        return refused;
    }
    (
        StatusCode::OK,
        Json(json!([{ "id": "acct-1", "name": "Main feed" }])),
    )
}

async fn create_post(
    State(seen): Shared,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, [(&'static str, String); 1], Json<Value>) {
    let mut s = seen.lock().unwrap();
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if let Err((status, answer)) = record(&mut s, "POST", "/posts".into(), &headers, body) {
        return (status, [("x-platform", "test".into())], answer);
    }
    if let Some(status) = s.post_failures.pop_front() {
        return (
            StatusCode::from_u16(status).unwrap(),
            [("retry-after", "5".into())],
            Json(json!({ "error": "scripted platform failure" })),
        );
    }
    s.next_id += 1;
    let id = format!("post-{}", s.next_id);
    (
        StatusCode::CREATED,
        [("x-platform", "test".into())],
        Json(json!({ "id": id, "url": format!("https://platform.test/p/{id}") })),
    )
}

async fn delete_post(
    State(seen): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    let mut s = seen.lock().unwrap();
    let path = format!("/posts/{id}");
    if let Err(refused) = record(&mut s, "DELETE", path, &headers, Value::Null) {
        return refused;
    }
    (StatusCode::NO_CONTENT, Json(Value::Null))
}

/// Compiles the components these scenarios load (the harness's pipeline fixture, the Rust
/// example and the Python one when it is built) into the shared compile cache, once per test
/// run and one at a time, under a budget a debug build of the host can meet (see the module's
/// documentation). Done before any harness starts, so the Python compile does not starve
/// their own compiles of the CPU.
async fn compile_once() {
    static COMPILED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    COMPILED
        .get_or_init(|| async {
            let settings = RuntimeSettings {
                cache_dir: Some(shared_cache()),
                compile_budget: Duration::from_secs(30 * 60),
                max_concurrent_compiles: 1,
                ..RuntimeSettings::default()
            };
            let runtime = Runtime::new(settings, HostServices::in_memory()).unwrap();
            let mut components = vec![
                ("pipeline", PathBuf::from(postd_test_artifacts::PIPELINE)),
                ("example", rust().path),
            ];
            let python = python_component();
            if python.is_file() {
                components.push(("example-py", python));
            }
            for (plugin, path) in components {
                if let Err(error) = runtime
                    .configure_plugin(PluginEntry::new(plugin, &path))
                    .await
                {
                    panic!("{} must load: {error}", path.display());
                }
            }
        })
        .await;
}

/// A harness (SQLite) with `connector` configured against a fresh example platform, its API
/// served, and a key for tenant `acme`.
async fn setup(connector: &Connector) -> (Harness, ExamplePlatform, Api, String) {
    compile_once().await;
    let h = Harness::new(Kind::Sqlite).await;
    let platform = ExamplePlatform::start().await;
    let mut entry = PluginEntry::new(connector.plugin, &connector.path);
    entry.allowed_hosts = vec![platform.url.clone()];
    entry.allowed_ranges = vec!["127.0.0.0/8".into()];
    entry.settings = BTreeMap::from([("base-url".to_string(), platform.url.clone())]);
    if let Err(error) = h.runtime.configure_plugin(entry).await {
        panic!(
            "{} must load from {}: {error}",
            connector.plugin,
            connector.path.display()
        );
    }
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    (h, platform, api, key)
}

/// Connects with [`API_KEY`] through `POST /v1/connections`; returns the connection.
/// [`setup`], then a connection made with [`connect`]; its id last.
async fn connected(connector: &Connector) -> (Harness, ExamplePlatform, Api, String, String) {
    let (h, platform, api, key) = setup(connector).await;
    let connection = connect(&api, &key, connector).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (h, platform, api, key, connection)
}

async fn connect(api: &Api, key: &str, connector: &Connector) -> Value {
    let created = api
        .post(
            "/v1/connections",
            key,
            json!({ "plugin": connector.plugin, "api_key": API_KEY }),
        )
        .await;
    assert_eq!(created.status, reqwest::StatusCode::CREATED, "{created:?}");
    created.json
}

/// Accepts a one-target post through `POST /v1/posts`; returns the post id.
async fn publish(api: &Api, key: &str, idempotency_key: &str, body: &Value) -> String {
    let accepted = api
        .send(
            with_json(api.request(Method::POST, "/v1/posts", Some(key)), body)
                .header("idempotency-key", idempotency_key),
        )
        .await;
    assert_eq!(
        accepted.status,
        reqwest::StatusCode::ACCEPTED,
        "{accepted:?}"
    );
    accepted.json["id"].as_str().unwrap().to_string()
}

fn post_body(connection: &str, text: &str) -> Value {
    json!({
        "text": text,
        "link": "https://example.com/article",
        "targets": [{ "connection_id": connection, "account_id": "acct-1" }],
    })
}

async fn job(api: &Api, key: &str, post: &str) -> Value {
    api.get(&format!("/v1/posts/{post}"), key).await.json["jobs"][0].clone()
}

async fn connects_lists_publishes_deletes_and_answers_challenges(connector: Connector) {
    let (h, platform, api, key) = setup(&connector).await;
    let manifest = h.runtime.manifest(connector.plugin).expect("a manifest");
    assert_eq!(manifest.id, connector.plugin);
    assert_eq!(manifest.limits.max_text_chars, Some(500));
    if connector.plugin == "example-py" {
        assert_eq!(
            manifest.sdk_version,
            python_sdk_version(),
            "the Python SDK stamps its version"
        );
        assert_eq!(manifest.display_name, "Example (Python)");
    }

    let connection = connect(&api, &key, &connector).await;
    assert_eq!(
        (&connection["external_id"], &connection["display_name"]),
        (&json!("user-1"), &json!("Test User")),
        "{connection}"
    );
    let me = platform.requests("GET", "/me");
    assert_eq!(me.len(), 1);
    assert_eq!(
        me[0].authorization.as_deref(),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    let connection = connection["id"].as_str().unwrap().to_string();
    let accounts = api
        .get(&format!("/v1/connections/{connection}/accounts"), &key)
        .await;
    assert_eq!(
        accounts.json,
        json!([{ "id": "acct-1", "name": "Main feed", "kind": "feed", "parent_id": null }])
    );

    // Over the manifest's limit: refused before any job exists.
    let too_long = api
        .send(
            with_json(
                api.request(Method::POST, "/v1/posts", Some(&key)),
                &post_body(&connection, &"x".repeat(501)),
            )
            .header("idempotency-key", "too-long"),
        )
        .await;
    assert_eq!(too_long.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);

    let text = "Héllo from the example connector ✓";
    let post = publish(&api, &key, "k1", &post_body(&connection, text)).await;
    assert_eq!(h.pipeline.run_due().await, 1);
    let created = platform.requests("POST", "/posts");
    assert_eq!(created.len(), 1, "posted once");
    assert_eq!(
        created[0].authorization.as_deref(),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(
        created[0].body,
        json!({ "account": "acct-1", "text": text, "link": "https://example.com/article" })
    );
    let job = job(&api, &key, &post).await;
    assert_eq!(job["state"], "published", "{job}");
    let result: Value = serde_json::from_str(job["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["post_id"], "post-1", "{result}");
    assert_eq!(result["url"], "https://platform.test/p/post-1", "{result}");
    let attempts = h
        .store
        .tenant("acme")
        .attempts(job["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "published");

    let deleted = api
        .send(api.request(Method::DELETE, &format!("/v1/posts/{post}"), Some(&key)))
        .await;
    assert_eq!(
        deleted.json["deleted"].as_array().map(Vec::len),
        Some(1),
        "{deleted:?}"
    );
    assert_eq!(platform.requests("DELETE", "/posts/post-1").len(), 1);

    let challenge = api
        .send(api.request(
            Method::GET,
            &format!("/webhooks/{}?challenge=c123", connector.plugin),
            None,
        ))
        .await;
    assert_eq!(
        (challenge.status, challenge.json.as_str()),
        (reqwest::StatusCode::OK, Some("c123"))
    );
}

async fn a_platform_500_is_retried_with_backoff_then_published(connector: Connector) {
    let (h, platform, api, key, connection) = connected(&connector).await;
    platform.with(|s| s.post_failures.push_back(500));
    let post = publish(&api, &key, "k1", &post_body(&connection, "hello")).await;
    let before = h.pipeline.now();
    assert_eq!(h.pipeline.run_due().await, 1);
    let failed = job(&api, &key, &post).await;
    assert_eq!(failed["state"], "queued", "{failed}");
    assert_eq!(failed["attempts"], 1, "{failed}");
    assert_eq!(failed["last_error"], "transient: HTTP 500", "{failed}");
    let delay = failed["next_run_at"].as_i64().unwrap() - before;
    assert!(
        (1_000..2_000).contains(&delay),
        "the first backoff is 1 s plus jitter, got {delay} ms"
    );

    h.clock.set(failed["next_run_at"].as_i64().unwrap());
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = job(&api, &key, &post).await;
    assert_eq!(job["state"], "published", "{job}");
    let result: Value = serde_json::from_str(job["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["post_id"], "post-1", "{result}");
    assert_eq!(platform.requests("POST", "/posts").len(), 2);
    let outcomes: Vec<String> = h
        .store
        .tenant("acme")
        .attempts(job["id"].as_str().unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, ["retry", "published"]);
}

async fn a_platform_401_asks_for_a_refresh_the_api_key_cannot_give(connector: Connector) {
    let (h, platform, api, key, connection) = connected(&connector).await;
    platform.with(|s| s.post_failures.push_back(401));
    let post = publish(&api, &key, "k1", &post_body(&connection, "hello")).await;
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = job(&api, &key, &post).await;
    // auth-expired: the host asks the connector to refresh; an API key connection cannot
    // (refresh is not supported), so the connection is flagged and the job backs off.
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(
        job["last_error"], "auth-expired: HTTP 401 Unauthorized",
        "{job}"
    );
    let attempts = h
        .store
        .tenant("acme")
        .attempts(job["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "retry", "{attempts:?}");
    let status = h
        .store
        .tenant("acme")
        .connection(&connection)
        .await
        .unwrap()
        .status;
    assert_eq!(status, ConnectionStatus::ExpiringSoon);
    assert_eq!(
        h.store
            .tenant("acme")
            .job(job["id"].as_str().unwrap())
            .await
            .unwrap()
            .state,
        JobState::Queued
    );
}

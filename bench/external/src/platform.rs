//! The platform, run as its own process (`postd-loadbench platform --port P`): a minimal HTTP
//! server on one thread answering `POST /posts` with `{"id": "post-<n>"}` at once. It records,
//! per job id of the body (`{"text", "job"}`), how many posts it received and when the first
//! arrived, so the harness can check that every job was posted exactly once.
//!
//! `GET /stats` answers `{"posts", "jobs"}` (requests received, distinct jobs); `GET /jobs`
//! answers `{"<job>": [posts, first arrival in epoch ms], …}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Default)]
struct Seen {
    posts: u64,
    /// job id -> (posts received, first arrival epoch ms)
    jobs: HashMap<String, (u32, i64)>,
}

type Shared = State<Arc<Mutex<Seen>>>;

/// Serves on 127.0.0.1:`port` until killed.
pub fn serve(port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new()
            .route("/posts", post(create))
            .route("/stats", get(stats))
            .route("/jobs", get(jobs))
            .with_state(seen);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

async fn create(State(seen): Shared, headers: HeaderMap, body: Bytes) -> Response {
    if !headers.contains_key(header::AUTHORIZATION) {
        return (StatusCode::UNAUTHORIZED, "no token").into_response();
    }
    let job = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("job").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let now = crate::now_ms();
    let id = {
        let mut s = seen.lock().unwrap();
        s.posts += 1;
        let entry = s.jobs.entry(job).or_insert((0, now));
        entry.0 += 1;
        s.posts
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"id\":\"post-{id}\"}}"),
    )
        .into_response()
}

async fn stats(State(seen): Shared) -> Json<Value> {
    let s = seen.lock().unwrap();
    Json(json!({ "posts": s.posts, "jobs": s.jobs.len() }))
}

async fn jobs(State(seen): Shared) -> Json<Value> {
    let s = seen.lock().unwrap();
    let map: serde_json::Map<String, Value> = s
        .jobs
        .iter()
        .map(|(k, (n, at))| (k.clone(), json!([n, at])))
        .collect();
    Json(Value::Object(map))
}

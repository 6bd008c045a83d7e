//! The example API under `/example`: the small JSON API that `connectors/example` and the
//! connector `postd-host new` makes talk to, so a new connector publishes against the sandbox
//! before it is pointed at a real platform. Not an imitation of a real platform (no faults, no
//! rate limits, no OAuth).
//!
//! - Every request needs `Authorization: Bearer <key>`: any key works except `revoked` (401).
//! - `GET /me` answers `{"id", "name"}`; `GET /accounts` answers `[{"id", "name"}]`.
//! - `POST /posts {"account", "text", "link"}` answers 201 `{"id", "url"}`; a text that is empty
//!   or over 500 characters answers 422.
//! - `GET /posts` lists what was posted (newest last); `DELETE /posts/{id}` answers 204, or 404.

use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{self, Req};
use crate::state::SandboxState;

/// The one user every key belongs to, and its one feed.
pub const USER_ID: &str = "ex-user-1";
/// Its feed, the only account posts go to.
pub const FEED_ID: &str = "ex-feed-1";
/// The key the API refuses.
pub const REVOKED_KEY: &str = "revoked";

/// Posts made so far.
#[derive(Debug, Default)]
pub(crate) struct ExampleState {
    posts: Vec<Value>,
}

/// Answers one request under `/example`.
pub(crate) fn handle(state: &SandboxState, store: &Mutex<ExampleState>, req: Req) -> Response {
    match req.bearer() {
        Some(key) if key != REVOKED_KEY && !key.is_empty() => {}
        _ => return error(StatusCode::UNAUTHORIZED, "a valid bearer key is required"),
    }
    let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
    match (&req.method, req.segs().as_slice()) {
        (&Method::GET, ["me"]) => http::json(
            StatusCode::OK,
            &json!({"id": USER_ID, "name": "Example User"}),
        ),
        (&Method::GET, ["accounts"]) => http::json(
            StatusCode::OK,
            &json!([{"id": FEED_ID, "name": "Example feed"}]),
        ),
        (&Method::GET, ["posts"]) => http::json(StatusCode::OK, &Value::from(store.posts.clone())),
        (&Method::POST, ["posts"]) => {
            let Ok(body) = req.json() else {
                return error(StatusCode::BAD_REQUEST, "the body must be JSON");
            };
            let text = body["text"].as_str().unwrap_or_default();
            if text.is_empty() || text.chars().count() > 500 {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "text must be 1-500 characters",
                );
            }
            if body["account"] != FEED_ID {
                return error(StatusCode::NOT_FOUND, "no such account");
            }
            let id = format!("ex-post-{}", state.next_id());
            let url = format!("{}/example/posts/{id}", state.base_url());
            store
                .posts
                .push(json!({"id": id, "url": url, "text": text, "link": body["link"]}));
            http::json(StatusCode::CREATED, &json!({"id": id, "url": url}))
        }
        (&Method::DELETE, ["posts", id]) => {
            let before = store.posts.len();
            store.posts.retain(|p| p["id"] != *id);
            if store.posts.len() < before {
                http::with_body(StatusCode::NO_CONTENT, "text/plain", "")
            } else {
                error(StatusCode::NOT_FOUND, "no such post")
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "the example API has /me, /accounts and /posts",
        ),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    http::json(status, &json!({"error": message}))
}

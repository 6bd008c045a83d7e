//! The small platform the pipeline fixture talks to, over real HTTP on loopback: drafts that
//! publish idempotently, an OAuth token endpoint with rotating refresh tokens, and `/me`.
//! It counts what happened so tests can assert that nothing was posted twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// What the platform saw.
#[derive(Debug, Default)]
pub struct Seen {
    next_id: u64,
    /// draft id -> the job it was created for
    pub drafts: HashMap<String, String>,
    /// draft id -> post id, for published drafts
    pub published: HashMap<String, String>,
    /// post ids deleted.
    pub deleted: Vec<String>,
    /// Token exchanges (code and refresh).
    pub token_exchanges: u64,
    /// Refresh tokens that work now.
    valid_refresh: HashSet<String>,
    /// Refresh tokens that were rotated away (reuse is refused).
    pub reused_refresh: u64,
    /// Refuse every refresh with invalid_grant.
    pub refuse_refresh: bool,
    /// `/me` answers 401.
    pub revoked: bool,
    /// Access tokens issued up to this number (`access-N`) were invalidated early: `/me`
    /// answers 401 `token expired` for them, as platforms do before the announced expiry.
    pub expired_access_upto: u64,
    /// Statuses the next draft creations answer with, in order (each carries `Retry-After`).
    pub draft_failures: std::collections::VecDeque<u16>,
    /// The `Retry-After` of those failures; `5` when unset.
    pub retry_after: Option<String>,
    /// Delay before answering a publish.
    pub publish_delay: Duration,
    /// Publishes wait (after the delay) while this holds, so a test can hold every worker
    /// inside a job.
    pub hold_publishes: bool,
    /// Publishes waiting for `hold_publishes` to clear, now.
    pub publishes_held: usize,
    /// Delay before answering a token exchange.
    pub token_delay: Duration,
    /// Publishes being answered now, and the most there were at once.
    pub publishing: usize,
    pub most_publishing: usize,
}

/// A running platform.
#[derive(Clone)]
pub struct Platform {
    pub url: String,
    pub seen: Arc<Mutex<Seen>>,
}

impl Platform {
    pub async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new()
            .route("/drafts", post(create_draft))
            .route("/drafts/{id}/publish", post(publish_draft))
            .route("/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/me", get(me))
            .route("/posts/{id}", axum::routing::delete(delete_post))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Platform { url, seen }
    }

    /// Invalidates every access token issued so far (their refresh tokens still work).
    pub fn expire_access_tokens(&self) {
        self.with(|s| s.expired_access_upto = s.next_id);
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.seen.lock().unwrap())
    }

    /// How many distinct posts went live for `job`.
    pub fn posts_for(&self, job: &str) -> usize {
        self.with(|s| {
            s.published
                .keys()
                .filter(|draft| s.drafts.get(*draft).map(String::as_str) == Some(job))
                .count()
        })
    }

    /// How many drafts were created for `job`.
    pub fn drafts_for(&self, job: &str) -> usize {
        self.with(|s| s.drafts.values().filter(|j| *j == job).count())
    }
}

type Shared = State<Arc<Mutex<Seen>>>;

/// The consent page: the user allows at once, as the sandbox's dialogs do, and goes back to
/// `redirect_uri` with a code and the `state` it was given.
async fn authorize(
    axum::extract::Query(query): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> axum::response::Redirect {
    let mut back = url::Url::parse(&query["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", "consented-code")
        .append_pair("state", &query["state"]);
    axum::response::Redirect::to(back.as_str())
}

async fn create_draft(
    State(seen): Shared,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, [(&'static str, String); 1], Json<Value>) {
    let mut s = seen.lock().unwrap();
    if s.revoked || headers.get("authorization").is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            [("retry-after", "0".into())],
            Json(json!({ "error": "token invalid" })),
        );
    }
    if let Some(status) = s.draft_failures.pop_front() {
        let status = StatusCode::from_u16(status).unwrap();
        let retry_after = s.retry_after.clone().unwrap_or_else(|| "5".into());
        return (
            status,
            [("retry-after", retry_after)],
            Json(json!({ "error": "scripted platform failure" })),
        );
    }
    s.next_id += 1;
    let id = format!("draft-{}", s.next_id);
    let job = body["job"].as_str().unwrap_or("").to_string();
    s.drafts.insert(id.clone(), job);
    (
        StatusCode::OK,
        [("x-platform", "test".into())],
        Json(json!({ "id": id })),
    )
}

async fn publish_draft(State(seen): Shared, Path(id): Path<String>) -> (StatusCode, Json<Value>) {
    let delay = {
        let mut s = seen.lock().unwrap();
        s.publishing += 1;
        s.most_publishing = s.most_publishing.max(s.publishing);
        s.publish_delay
    };
    tokio::time::sleep(delay).await;
    seen.lock().unwrap().publishing -= 1;
    let held = {
        let mut s = seen.lock().unwrap();
        s.publishes_held += usize::from(s.hold_publishes);
        s.hold_publishes
    };
    if held {
        let holding = || seen.lock().unwrap().hold_publishes;
        while holding() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        seen.lock().unwrap().publishes_held -= 1;
    }
    let mut s = seen.lock().unwrap();
    if !s.drafts.contains_key(&id) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such draft" })),
        );
    }
    s.next_id += 1;
    let fresh = format!("post-{}", s.next_id);
    let post = s.published.entry(id).or_insert(fresh).clone();
    (StatusCode::OK, Json(json!({ "id": post })))
}

async fn delete_post(State(seen): Shared, Path(id): Path<String>) -> StatusCode {
    let mut s = seen.lock().unwrap();
    if !s.published.values().any(|post| *post == id) || s.deleted.contains(&id) {
        return StatusCode::NOT_FOUND;
    }
    s.deleted.push(id);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    refresh_token: Option<String>,
}

async fn token(State(seen): Shared, Form(form): Form<TokenForm>) -> (StatusCode, Json<Value>) {
    let delay = seen.lock().unwrap().token_delay;
    tokio::time::sleep(delay).await;
    let mut s = seen.lock().unwrap();
    let invalid = (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_grant", "error_description": "refresh token invalid" })),
    );
    match form.grant_type.as_str() {
        "authorization_code" if form.code.is_some() => {}
        "refresh_token" => {
            let Some(old) = form.refresh_token else {
                return invalid;
            };
            if s.refuse_refresh {
                return invalid;
            }
            if !s.valid_refresh.remove(&old) {
                s.reused_refresh += 1;
                return invalid;
            }
        }
        _ => return invalid,
    }
    s.token_exchanges += 1;
    s.next_id += 1;
    let refresh = format!("refresh-{}", s.next_id);
    s.valid_refresh.insert(refresh.clone());
    (
        StatusCode::OK,
        Json(json!({
            "access_token": format!("access-{}", s.next_id),
            "refresh_token": refresh,
            "expires_in": 7200,
            "token_type": "Bearer",
        })),
    )
}

async fn me(State(seen): Shared, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let s = seen.lock().unwrap();
    if s.revoked {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "revoked" })),
        );
    }
    let issued: Option<u64> = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer access-"))
        .and_then(|n| n.parse().ok());
    if issued.is_some_and(|n| n <= s.expired_access_upto) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "token expired" })),
        );
    }
    (
        StatusCode::OK,
        Json(json!({ "id": "user-1", "name": "Test User" })),
    )
}

//! The platform the pipeline fixture publishes to, on loopback over real HTTP: `POST /drafts`
//! then `POST /drafts/{id}/publish` (idempotent per draft). It records, per job, how many drafts
//! and posts it made and the time its own handlers took, so the harness can subtract the
//! platform's time from the end-to-end latency and prove nothing was posted twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

/// What the platform saw for one job.
#[derive(Debug, Default, Clone)]
pub struct JobSeen {
    /// Drafts created for the job.
    pub drafts: u32,
    /// Distinct posts that went live for the job.
    pub posts: u32,
    /// Time spent in this platform's handlers for the job, in microseconds.
    pub handler_us: f64,
}

#[derive(Default)]
struct Seen {
    /// Posts made (first publish of a draft), all jobs together.
    posts: u64,
    next_id: u64,
    /// draft id -> (job id, published post id)
    drafts: HashMap<String, (String, Option<String>)>,
    jobs: HashMap<String, JobSeen>,
    /// Added to every answer (a slow platform), outside the recorded handler time.
    delay: Duration,
}

/// A running platform.
#[derive(Clone)]
pub struct Platform {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Platform {
    /// Serves on a free loopback port.
    pub async fn start() -> Platform {
        Self::start_with_delay(Duration::ZERO).await
    }

    /// Serves on a free loopback port, answering every request `delay` late.
    pub async fn start_with_delay(delay: Duration) -> Platform {
        let seen = Arc::new(Mutex::new(Seen {
            delay,
            ..Seen::default()
        }));
        let app = Router::new()
            .route("/drafts", post(create_draft))
            .route("/drafts/{id}/publish", post(publish_draft))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Platform { url, seen }
    }

    /// What the platform saw, per job id.
    pub fn jobs(&self) -> HashMap<String, JobSeen> {
        self.seen.lock().unwrap().jobs.clone()
    }

    /// Posts made so far, all jobs together (cheap: for pacing a load generator).
    pub fn posts(&self) -> usize {
        self.seen.lock().unwrap().posts as usize
    }

    /// Forgets everything (between runs).
    pub fn reset(&self) {
        let mut seen = self.seen.lock().unwrap();
        seen.drafts.clear();
        seen.jobs.clear();
    }
}

type Shared = State<Arc<Mutex<Seen>>>;

/// Waits the platform's delay, if it has one.
async fn slow_down(seen: &Mutex<Seen>) {
    let delay = seen.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

async fn create_draft(State(seen): Shared, Json(body): Json<Value>) -> Json<Value> {
    slow_down(&seen).await;
    let started = Instant::now();
    let job = body["job"].as_str().unwrap_or("").to_string();
    let mut s = seen.lock().unwrap();
    s.next_id += 1;
    let id = format!("draft-{}", s.next_id);
    s.drafts.insert(id.clone(), (job.clone(), None));
    let entry = s.jobs.entry(job).or_default();
    entry.drafts += 1;
    entry.handler_us += started.elapsed().as_secs_f64() * 1e6;
    Json(json!({ "id": id }))
}

async fn publish_draft(
    State(seen): Shared,
    Path(id): Path<String>,
) -> (axum::http::StatusCode, Json<Value>) {
    slow_down(&seen).await;
    let started = Instant::now();
    let mut s = seen.lock().unwrap();
    s.next_id += 1;
    let fresh = format!("post-{}", s.next_id);
    let Some((job, post)) = s.drafts.get_mut(&id) else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such draft" })),
        );
    };
    let first = post.is_none();
    let post = post.get_or_insert(fresh).clone();
    let job = job.clone();
    if first {
        s.posts += 1;
    }
    let entry = s.jobs.entry(job).or_default();
    if first {
        entry.posts += 1;
    }
    entry.handler_us += started.elapsed().as_secs_f64() * 1e6;
    (axum::http::StatusCode::OK, Json(json!({ "id": post })))
}

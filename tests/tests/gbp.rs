//! The Google Business Profile connector, built as a component, in the real host against the
//! sandbox.

mod support;

#[path = "gbp/connection.rs"]
mod connection;
#[path = "gbp/pipeline.rs"]
mod pipeline;
#[path = "gbp/posts.rs"]
mod posts;
#[path = "gbp/retries.rs"]
mod retries;

use std::time::Duration;

use postd_host::runtime::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities, ConnectionInfo,
    DeleteRequest, JobContext, Media, MediaKind, Post, PublishOutcome, Published, TaskContext,
    WebhookRequest,
};
use postd_host::runtime::wit::queue::Task;
use postd_host::runtime::wit::types::ConnectorError;
use postd_host::runtime::{Answer, Invocation, Served};
use postd_sandbox::{FaultRule, Platform, SandboxConfig, seed};
use serde_json::Value;
use support::{Env, expect_err, job, lines, post};

const CONNECTION: &str = "conn-gbp";
const PREFIX: &str = "/gbp";

/// The first location of the first business account.
fn location() -> String {
    format!(
        "accounts/{}/locations/{}",
        seed::GBP_ACCOUNT_ID,
        seed::GBP_FIRST_LOCATION_ID
    )
}

/// The one location of the second business account.
fn studio() -> String {
    format!(
        "accounts/{}/locations/4000000000000000001",
        seed::GBP_ACCOUNT2_ID
    )
}

async fn env() -> Env {
    env_with(SandboxConfig::default()).await
}

async fn env_with(config: SandboxConfig) -> Env {
    Env::start("gbp", postd_test_artifacts::GBP, config, settings).await
}

/// The plugin's settings and secrets for the sandbox at `base` (ten locations a page, so the
/// seeded 25 take three).
fn settings(base: &str) -> support::Settings {
    let gbp = format!("{base}/gbp");
    (
        vec![
            ("auth-url", format!("{gbp}/o/oauth2/v2/auth")),
            ("token-base-url", gbp.clone()),
            ("accounts-base-url", gbp.clone()),
            ("information-base-url", gbp.clone()),
            ("posts-base-url", gbp.clone()),
            ("performance-base-url", gbp),
            ("locations-page-size", "10".into()),
            ("client-id", seed::GBP_CLIENT_ID.to_string()),
        ],
        vec![("client-secret", seed::GBP_CLIENT_SECRET.to_string())],
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn connect(env: &Env) -> Result<ConnectionInfo, ConnectorError> {
    let callback = consent(env).await;
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    reply!(served, CompleteAuth)
}

/// The callback Google's consent screen sends the user back with.
async fn consent(env: &Env) -> AuthCallback {
    let redirect = "http://127.0.0.1:9/gbp/callback";
    let served = env
        .call(
            None,
            None,
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: "st-gbp".into(),
                redirect_uri: redirect.into(),
                scopes: vec![],
            }),
        )
        .await;
    let url = reply!(served, AuthorizeUrl).unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = client.get(&url).send().await.unwrap();
    assert_eq!(consent.status().as_u16(), 302, "{url}");
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    // Google's codes hold a `/`, sent encoded.
    let code = reqwest::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("a code in {location}"));
    AuthCallback {
        params: vec![("code".into(), code), ("state".into(), "st-gbp".into())],
        redirect_uri: redirect.into(),
    }
}

async fn publish(env: &Env, post: Post, job_ctx: JobContext) -> Served<Answer> {
    let id = job_ctx.job_id.clone();
    env.call(
        Some(CONNECTION),
        Some(&id),
        Invocation::Publish(post, job_ctx),
    )
    .await
}

async fn handle(
    env: &Env,
    task: &postd_host::capability::queue::Continuation,
    job_ctx: JobContext,
) -> Served<Answer> {
    let id = job_ctx.job_id.clone();
    env.call(
        Some(CONNECTION),
        Some(&id),
        Invocation::HandleTask(TaskContext {
            task: Task {
                kind: task.kind.clone(),
                payload: task.payload.clone(),
            },
            job: job_ctx,
        }),
    )
    .await
}

fn published(outcome: PublishOutcome) -> Published {
    match outcome {
        PublishOutcome::Published(p) => p,
        other => panic!("expected published, got {other:?}"),
    }
}

fn in_progress(outcome: PublishOutcome) -> String {
    match outcome {
        PublishOutcome::InProgress(progress) => progress.waiting_for,
        other => panic!("expected in-progress, got {other:?}"),
    }
}

fn body(request: &postd_sandbox::RecordedRequest) -> Value {
    serde_json::from_str(request.body_text.as_deref().unwrap_or("{}")).unwrap()
}

fn rule(error: &str, path: &str) -> FaultRule {
    FaultRule {
        error: error.into(),
        count: 1,
        path_contains: Some(path.into()),
    }
}

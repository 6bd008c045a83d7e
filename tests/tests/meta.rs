//! The Meta connector, built as a component, in the real host against the sandbox.

mod support;

#[path = "meta/auth.rs"]
mod auth;
#[path = "meta/insights.rs"]
mod insights;
#[path = "meta/instagram.rs"]
mod instagram;
#[path = "meta/lost_answers.rs"]
mod lost_answers;
#[path = "meta/pages.rs"]
mod pages;
#[path = "meta/pipeline.rs"]
mod pipeline;
#[path = "meta/versions.rs"]
mod versions;
#[path = "meta/webhooks.rs"]
mod webhooks;

use std::time::Duration;

use postd_host::runtime::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities, DeleteRequest,
    JobContext, Media, MediaKind, Post, PublishOutcome, Published, TaskContext, WebhookRequest,
};
use postd_host::runtime::wit::queue::Task;
use postd_host::runtime::wit::types::ConnectorError;
use postd_host::runtime::{Invocation, Served};
use postd_sandbox::webhooks::{DeliveryOptions, build_delivery};
use postd_sandbox::{FaultRule, Platform, SandboxConfig, seed};
use serde_json::{Value, json};
use support::{Env, expect_err, job, lines, post};

const CONNECTION: &str = "conn-meta";
const PAGE: &str = seed::META_PAGE_ID;
const PAGE2: &str = seed::META_PAGE2_ID;
const IG: &str = seed::META_IG_USER_ID;
/// The Graph API version the connector uses by default, and the request paths' prefix with it.
const VERSION: &str = postd_connector_meta::versions::DEFAULT_GRAPH_VERSION;
const PREFIX: &str = "/meta/v27.0";
const VERIFY_TOKEN: &str = "verify-me-please";

async fn env() -> Env {
    env_with(SandboxConfig::default()).await
}

async fn env_with(config: SandboxConfig) -> Env {
    Env::start("meta", postd_test_artifacts::META, config, settings).await
}

/// The plugin's settings and secrets for the sandbox at `base`, on the default Graph version.
fn settings(base: &str) -> support::Settings {
    let mut s = settings_without_version(base);
    s.0.push(("graph-version", VERSION.to_string()));
    s
}

/// [`settings`] on Graph API `version`.
fn settings_on(base: &str, version: &str) -> support::Settings {
    let mut s = settings_without_version(base);
    s.0.push(("graph-version", version.to_string()));
    s
}

/// [`settings`] without `graph-version`: the connector's default applies.
fn settings_without_version(base: &str) -> support::Settings {
    (
        vec![
            ("api-base-url", format!("{base}/meta")),
            ("auth-url", format!("{base}/meta/{{version}}/dialog/oauth")),
            ("client-id", seed::META_APP_ID.to_string()),
        ],
        vec![
            ("client-secret", seed::META_APP_SECRET.to_string()),
            ("webhook-verify-token", VERIFY_TOKEN.to_string()),
        ],
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs the login dialog (the sandbox consents at once) with `scopes` (empty: the manifest's)
/// and completes the connection.
async fn connect(
    env: &Env,
    scopes: &[&str],
) -> Result<postd_host::runtime::wit::connector::ConnectionInfo, ConnectorError> {
    let callback = consent(env, scopes).await;
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    reply!(served, CompleteAuth)
}

/// The callback the login dialog sends the user back with.
async fn consent(env: &Env, scopes: &[&str]) -> AuthCallback {
    let redirect = "http://127.0.0.1:9/meta/callback";
    let served = env
        .call(
            None,
            None,
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: "st-meta".into(),
                redirect_uri: redirect.into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
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
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_string();
    AuthCallback {
        params: vec![("code".into(), code), ("state".into(), "st-meta".into())],
        redirect_uri: redirect.into(),
    }
}

async fn publish(
    env: &Env,
    post: Post,
    job_ctx: JobContext,
) -> Served<postd_host::runtime::Answer> {
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
) -> Served<postd_host::runtime::Answer> {
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

fn media(kind: MediaKind, url: &str) -> Media {
    Media {
        kind,
        url: url.into(),
        mime_type: None,
        size_bytes: None,
        alt_text: None,
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

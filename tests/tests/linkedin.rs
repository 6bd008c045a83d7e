//! The LinkedIn connector, built as a component, in the real host against the sandbox.

mod support;

#[path = "linkedin/connection.rs"]
mod connection;
#[path = "linkedin/lost_answers.rs"]
mod lost_answers;
#[path = "linkedin/pipeline.rs"]
mod pipeline;
#[path = "linkedin/posts.rs"]
mod posts;
#[path = "linkedin/webhooks.rs"]
mod webhooks;

use std::time::Duration;

use postd_host::runtime::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities, ConnectionInfo,
    DeleteRequest, JobContext, Media, MediaKind, Post, PublishOutcome, Published, TaskContext,
    WebhookRequest,
};
use postd_host::runtime::wit::queue::Task;
use postd_host::runtime::wit::types::ConnectorError;
use postd_host::runtime::{Answer, Invocation, Served};
use postd_sandbox::webhooks::{DeliveryOptions, build_delivery};
use postd_sandbox::{FaultRule, LinkedInConfig, Platform, SandboxConfig, seed};
use serde_json::{Value, json};
use support::{Env, expect_err, job, lines, post};

const CONNECTION: &str = "conn-li";
const PREFIX: &str = "/linkedin";

fn member() -> String {
    format!("urn:li:person:{}", seed::LINKEDIN_MEMBER_ID)
}

fn org() -> String {
    format!("urn:li:organization:{}", seed::LINKEDIN_ORG_ID)
}

/// A video part's size in the sandbox: LinkedIn's instructions cut the upload into 4 MiB parts.
const PART: usize = 4 * 1024 * 1024;

/// Serves media for posts to fetch: `/image.jpg`, `/video.mp4` (two parts), `/fail.mp4`
/// (bytes the sandbox fails in processing), `/big-<bytes>.mp4`; anything else is 404.
async fn media_server() -> String {
    use axum::routing::get;
    async fn serve(
        axum::extract::Path(name): axum::extract::Path<String>,
    ) -> (axum::http::StatusCode, Vec<u8>) {
        match name.as_str() {
            "image.jpg" => (
                axum::http::StatusCode::OK,
                vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
            ),
            "video.mp4" => (axum::http::StatusCode::OK, vec![7u8; PART + 512 * 1024]),
            "fail.mp4" => {
                let mut bytes = b"sandbox-fail".to_vec();
                bytes.resize(1024 * 1024, 0);
                (axum::http::StatusCode::OK, bytes)
            }
            // `big-<bytes>.mp4`: a video of that many bytes.
            big if big.starts_with("big-") => match big
                .strip_prefix("big-")
                .and_then(|n| n.strip_suffix(".mp4"))
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(size) => (axum::http::StatusCode::OK, vec![9u8; size]),
                None => (axum::http::StatusCode::NOT_FOUND, vec![]),
            },
            _ => (axum::http::StatusCode::NOT_FOUND, vec![]),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/{name}", get(serve));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A sandbox, the connector, and a media server the connector may reach.
struct Li {
    env: Env,
    media: String,
}

async fn env() -> Li {
    env_with(SandboxConfig::default(), None).await
}

/// [`env`] with the plugin's memory limited to `memory_bytes`.
async fn env_with_memory(memory_bytes: usize) -> Li {
    let media = media_server().await;
    let allowed = media.clone();
    let env = Env::start_with(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        SandboxConfig::default(),
        settings,
        move |entry| {
            entry.allowed_hosts.push(allowed);
            entry.limits.memory_bytes = memory_bytes;
        },
    )
    .await;
    Li { env, media }
}

/// `version` pins the `linkedin-version` setting.
async fn env_with(config: SandboxConfig, version: Option<&str>) -> Li {
    let media = media_server().await;
    let allowed = media.clone();
    let version = version.map(str::to_string);
    let env = Env::start_with(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        config,
        |base| {
            let (mut settings, secrets) = settings(base);
            if let Some(v) = version {
                settings.push(("linkedin-version", v));
            }
            (settings, secrets)
        },
        |entry| entry.allowed_hosts.push(allowed),
    )
    .await;
    Li { env, media }
}

/// The plugin's settings and secrets for the sandbox at `base`.
fn settings(base: &str) -> support::Settings {
    (
        vec![
            ("api-base-url", format!("{base}/linkedin")),
            ("auth-base-url", format!("{base}/linkedin/oauth/v2")),
            ("client-id", seed::LINKEDIN_CLIENT_ID.to_string()),
        ],
        vec![("client-secret", seed::LINKEDIN_CLIENT_SECRET.to_string())],
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs the consent (the sandbox consents at once) with `scopes` (empty: the manifest's) and
/// completes the connection.
async fn connect(env: &Env, scopes: &[&str]) -> Result<ConnectionInfo, ConnectorError> {
    let callback = consent(env, scopes).await;
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    reply!(served, CompleteAuth)
}

/// The callback LinkedIn sends the user back with.
async fn consent(env: &Env, scopes: &[&str]) -> AuthCallback {
    let redirect = "http://127.0.0.1:9/linkedin/callback";
    let served = env
        .call(
            None,
            None,
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: "st-li".into(),
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
        .unwrap_or_else(|| panic!("a code in {location}"))
        .to_string();
    AuthCallback {
        params: vec![("code".into(), code), ("state".into(), "st-li".into())],
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

fn media(kind: MediaKind, url: String) -> Media {
    Media {
        kind,
        url,
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

/// Every API call (not OAuth, not uploads) carried both version headers.
fn assert_versioned(log: &[postd_sandbox::RecordedRequest]) {
    for request in log
        .iter()
        .filter(|r| r.path.starts_with("/v2/") || r.path.starts_with("/rest/"))
    {
        let version = request
            .header("linkedin-version")
            .unwrap_or_else(|| panic!("no LinkedIn-Version on {}", request.path));
        assert!(
            version.len() == 6 && version.bytes().all(|b| b.is_ascii_digit()),
            "{version}"
        );
        assert_eq!(
            request.header("x-restli-protocol-version"),
            Some("2.0.0"),
            "{}",
            request.path
        );
    }
}

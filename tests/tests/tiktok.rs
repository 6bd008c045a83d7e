//! The TikTok connector, built as a component, in the real host and job pipeline against the
//! sandbox: OAuth with rotating refresh tokens, chunked uploads that resume, status polling,
//! webhooks and the error envelope.

mod support;

#[path = "tiktok/connection.rs"]
mod connection;
#[path = "tiktok/errors.rs"]
mod errors;
#[path = "tiktok/uploads.rs"]
mod uploads;
#[path = "tiktok/webhooks.rs"]
mod webhooks;

use std::time::Duration;

use postd_host::runtime::Invocation;
use postd_host::runtime::wit::connector::{AuthCallback, AuthorizeRequest};
use postd_host::store::{Job, JobState, MediaItem, NewPost, PostContent, Target};
use postd_sandbox::{FaultRule, Platform, SandboxConfig, TikTokConfig, seed};
use serde_json::Value;
use support::pipeline::Piped;

const CONNECTION: &str = "conn-tt";
const MIB: u64 = 1024 * 1024;

/// Serves `/v/{size}.mp4` (`size` bytes of a fixed pattern) with `Range` support, and
/// `/photo-{n}.jpg`; counts nothing, answers 404 to anything else.
async fn media_server() -> String {
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
        if name.starts_with("photo-") {
            return (StatusCode::OK, vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2]).into_response();
        }
        let Some(size) = name
            .strip_suffix(".mp4")
            .and_then(|s| s.rsplit('-').next())
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let byte = |i: u64| (i % 251) as u8;
        let range = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes="))
            .and_then(|v| v.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
        match range {
            Some((first, last)) if first <= last && first < size => {
                let last = last.min(size - 1);
                let body: Vec<u8> = (first..=last).map(byte).collect();
                (
                    StatusCode::PARTIAL_CONTENT,
                    [(
                        header::CONTENT_RANGE,
                        format!("bytes {first}-{last}/{size}"),
                    )],
                    body,
                )
                    .into_response()
            }
            Some(_) => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
            None => (StatusCode::OK, (0..size).map(byte).collect::<Vec<u8>>()).into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/{*name}", get(serve));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The sandbox's TikTok with processing and moderation a little slower than the clock steps.
fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        tiktok: TikTokConfig {
            processing_secs: 20,
            moderation_secs: 60,
            ..TikTokConfig::default()
        },
        ..SandboxConfig::default()
    }
}

/// The plugin's settings and secrets for the sandbox at `base`, plus `extra` settings.
fn settings(base: &str, extra: &[(&'static str, &str)]) -> support::Settings {
    let mut settings = vec![
        ("api-base-url", format!("{base}/tiktok")),
        ("auth-base-url", format!("{base}/tiktok")),
        ("client-key", seed::TIKTOK_CLIENT_KEY.to_string()),
        ("chunk-size-mb", "5".to_string()),
    ];
    settings.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    (
        settings,
        vec![("client-secret", seed::TIKTOK_CLIENT_SECRET.to_string())],
    )
}

/// A pipeline, the connector connected as [`CONNECTION`], and a media server it may read.
struct Tt {
    piped: Piped,
    media: String,
}

async fn start(config: SandboxConfig, extra: &[(&'static str, &str)]) -> Tt {
    let media = media_server().await;
    let extra: Vec<(&'static str, String)> =
        extra.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let piped = Piped::start_with(
        "tiktok",
        postd_test_artifacts::TIKTOK,
        config,
        move |base, _| {
            let extra: Vec<(&'static str, &str)> =
                extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            settings(base, &extra)
        },
        {
            let media = media.clone();
            move |entry| entry.allowed_hosts.push(media)
        },
    )
    .await;
    let callback = consent(&piped).await;
    piped.connect(CONNECTION, callback).await;
    Tt { piped, media }
}

/// Runs the consent (the sandbox consents at once) and returns the callback.
async fn consent(piped: &Piped) -> AuthCallback {
    let redirect = "http://127.0.0.1:9/tiktok/callback";
    let served = piped
        .env
        .call(
            None,
            None,
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: "st-tt".into(),
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
    let answer = client.get(&url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302, "{url}");
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or_else(|| panic!("a code in {location}"))
        .to_string();
    AuthCallback {
        params: vec![("code".into(), code), ("state".into(), "st-tt".into())],
        redirect_uri: redirect.into(),
    }
}

fn video(url: String, size: Option<u64>) -> MediaItem {
    MediaItem {
        kind: "video".into(),
        url,
        mime_type: Some("video/mp4".into()),
        size_bytes: size,
        alt_text: None,
    }
}

fn photo(url: String) -> MediaItem {
    MediaItem {
        kind: "image".into(),
        url,
        mime_type: None,
        size_bytes: None,
        alt_text: None,
    }
}

/// A post of `media` with `text` and `options` to the creator, under idempotency key `key`.
fn new_post(key: &str, text: &str, media: Vec<MediaItem>, options: &[(&str, &str)]) -> NewPost {
    NewPost {
        idempotency_key: key.into(),
        content: PostContent {
            text: text.into(),
            media,
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: seed::TIKTOK_OPEN_ID.into(),
        }],
        scheduled_for: None,
    }
}

impl Tt {
    /// Accepts `post` and returns its job id.
    async fn accept(&self, post: NewPost) -> String {
        let accepted = self
            .piped
            .pipeline
            .accept(support::TENANT, &post)
            .await
            .unwrap();
        accepted.post().jobs[0].id.clone()
    }

    async fn job(&self, id: &str) -> Job {
        self.piped
            .store
            .tenant(support::TENANT)
            .job(id)
            .await
            .unwrap()
    }

    /// Moves the pipeline's and the sandbox's clocks by `secs`.
    fn advance(&self, secs: u64) {
        self.piped.clock.advance(secs as i64 * 1000);
        self.piped
            .env
            .sandbox
            .advance_clock(Duration::from_secs(secs));
    }

    /// Runs what is due, then advances both clocks by a minute, until job `id` is published or
    /// dead (at most `rounds` times).
    async fn drive(&self, id: &str, rounds: usize) -> Job {
        for _ in 0..rounds {
            self.piped.pipeline.run_due().await;
            let job = self.job(id).await;
            if matches!(job.state, JobState::Published | JobState::Dead) {
                return job;
            }
            self.advance(60);
        }
        panic!("job {id} did not finish: {:?}", self.job(id).await);
    }

    /// The sandbox's TikTok requests, paths without the `/tiktok` prefix.
    fn requests(&self) -> Vec<postd_sandbox::RecordedRequest> {
        self.piped.env.requests_since(0, "/tiktok")
    }

    /// `Content-Range` of every chunk PUT, in order.
    fn chunk_ranges(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.starts_with("/upload/video"))
            .map(|r| r.header("content-range").unwrap_or("").to_string())
            .collect()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }
}

fn result(job: &Job) -> Value {
    serde_json::from_str(job.result.as_deref().expect("a published job's result")).unwrap()
}

fn rule(error: &str, path: &str, count: u32) -> FaultRule {
    FaultRule {
        error: error.into(),
        count,
        path_contains: Some(path.into()),
    }
}

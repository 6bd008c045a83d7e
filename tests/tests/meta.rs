//! The Meta connector, built as a component, in the real host against the sandbox.

mod support;

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
const PREFIX: &str = "/meta/v20.0";
const VERIFY_TOKEN: &str = "verify-me-please";

async fn env() -> Env {
    env_with(SandboxConfig::default()).await
}

async fn env_with(config: SandboxConfig) -> Env {
    Env::start("meta", postd_test_artifacts::META, config, settings).await
}

/// The plugin's settings and secrets for the sandbox at `base`.
fn settings(base: &str) -> support::Settings {
    (
        vec![
            ("graph-base-url", format!("{base}/meta/v20.0")),
            ("dialog-url", format!("{base}/meta/v20.0/dialog/oauth")),
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
        PublishOutcome::InProgress(why) => why,
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

#[tokio::test]
async fn manifest_declares_the_capability_matrix() {
    let env = env().await;
    let served = env.call(None, None, Invocation::Manifest).await;
    let postd_host::runtime::Answer::Manifest(manifest) = served.answer else {
        panic!("manifest answered {:?}", served.answer)
    };
    assert_eq!(manifest.id, "meta");
    assert_eq!(manifest.auth, AuthKind::Oauth2);
    assert_eq!(
        manifest.capabilities,
        Capabilities::TEXT
            | Capabilities::LINK
            | Capabilities::IMAGE
            | Capabilities::VIDEO
            | Capabilities::CAROUSEL
            | Capabilities::NATIVE_SCHEDULING
            | Capabilities::DELETE
            | Capabilities::ANALYTICS
            | Capabilities::WEBHOOKS
    );
    let window = manifest.schedule_window.expect("a schedule window");
    assert_eq!(
        (window.min_lead_secs, window.max_lead_secs),
        (600, 75 * 86_400)
    );
    assert_eq!(manifest.limits.max_media_count, Some(10));
    assert_eq!(manifest.limits.max_image_bytes, Some(4 * 1024 * 1024));
    assert!(manifest.refresh_before_expiry_secs.is_some());
    assert!(
        manifest
            .scopes
            .iter()
            .any(|s| s == "instagram_content_publish")
    );
    let budget = manifest.rate_budget.unwrap();
    assert_eq!((budget.requests, budget.per_seconds), (3_500, 3_600));
}

#[tokio::test]
async fn oauth_exchanges_for_a_long_lived_token_and_stores_page_tokens() {
    let env = env().await;
    let info = connect(&env, &[]).await.unwrap();
    assert_eq!(info.external_id, seed::META_USER_ID);
    let expires_in = info.expires_at.unwrap() - now();
    assert!(
        (5_183_000..=5_184_000).contains(&expires_in),
        "long-lived: {expires_in}"
    );
    assert!(info.scopes.iter().any(|s| s == "pages_manage_posts"));
    assert!(
        env.secret(CONNECTION, &format!("page-token:{PAGE}"))
            .await
            .is_some()
    );
    assert!(
        env.secret(CONNECTION, &format!("page-token:{PAGE2}"))
            .await
            .is_some()
    );
    assert_eq!(
        env.secret(CONNECTION, &format!("ig-page:{IG}"))
            .await
            .as_deref(),
        Some(PAGE)
    );

    // The documented sequence, in the sandbox's request log.
    let log = env.requests_since(0, PREFIX);
    assert_eq!(
        lines(&log),
        [
            "GET /dialog/oauth".to_string(),
            "GET /oauth/access_token".into(),
            "GET /oauth/access_token".into(),
            "GET /me".into(),
            "GET /me/permissions".into(),
            "GET /me/accounts".into(),
            format!("GET /{IG}"),
        ]
    );
    let dialog = log[0].query.as_deref().unwrap();
    assert!(
        dialog.contains("scope=pages_show_list%2C"),
        "comma-separated scopes: {dialog}"
    );
    let code_exchange = log[1].query.as_deref().unwrap();
    assert!(code_exchange.contains("code=") && code_exchange.contains("redirect_uri="));
    let long_exchange = log[2].query.as_deref().unwrap();
    assert!(long_exchange.contains("grant_type=fb_exchange_token"));
    assert!(
        log[5].query.as_deref().unwrap().contains("access_token"),
        "Page tokens asked for"
    );

    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts = reply!(served, ListAccounts).unwrap();
    let summary: Vec<_> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.kind.as_str(), a.parent_id.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (PAGE, "page", None),
            (IG, "instagram", Some(PAGE)),
            (PAGE2, "page", None)
        ]
    );

    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    assert_eq!(health.external_id, seed::META_USER_ID);
}

#[tokio::test]
async fn refresh_re_exchanges_before_expiry_and_reports_auth_expired_after() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let before = env.secret(CONNECTION, "access-token").await.unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    let expiry = reply!(served, Refresh).unwrap();
    assert!(expiry.expires_at.unwrap() > now() + 5_000_000);
    let after = env.secret(CONNECTION, "access-token").await.unwrap();
    assert_ne!(before, after, "a new long-lived token is stored");

    // Past the token's 60 days the exchange is refused (190/463): only a reconnect helps.
    env.sandbox.advance_clock(Duration::from_secs(61 * 86_400));
    let served = env.call(Some(CONNECTION), None, Invocation::Refresh).await;
    let error = expect_err(reply!(served, Refresh), "refresh after expiry");
    assert!(matches!(error, ConnectorError::AuthExpired(_)), "{error:?}");
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health after expiry"),
        ConnectorError::AuthExpired(_)
    ));
}

#[tokio::test]
async fn a_revoked_grant_is_auth_revoked() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let token = env.secret(CONNECTION, "access-token").await.unwrap();
    assert!(env.sandbox.revoke_token(Platform::Meta, &token));
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    assert!(matches!(
        expect_err(reply!(served, Health), "health"),
        ConnectorError::AuthRevoked(_)
    ));
    let served = publish(
        &env,
        post(PAGE, "After revocation", &[]),
        job("job-rev", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "publish with a revoked Page token"),
        ConnectorError::AuthRevoked(_)
    ));
}

#[tokio::test]
async fn missing_permissions_are_reported_by_health_and_publish() {
    let env = env().await;
    connect(
        &env,
        &[
            "pages_show_list",
            "pages_read_engagement",
            "instagram_basic",
        ],
    )
    .await
    .unwrap();
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    match expect_err(reply!(served, Health), "health") {
        ConnectorError::PermissionMissing(scopes) => {
            assert_eq!(scopes, ["pages_manage_posts", "instagram_content_publish"])
        }
        other => panic!("expected permission-missing, got {other:?}"),
    }
    let served = publish(
        &env,
        post(PAGE, "No right to post", &[]),
        job("job-perm", 1, None),
    )
    .await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "publish"),
        ConnectorError::PermissionMissing(_)
    ));
}

#[tokio::test]
async fn page_text_link_and_image_posts_then_delete() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut text = post(PAGE, "Fresh bread today", &[]);
    text.link = Some("https://bakery.example/menu".into());
    let served = publish(&env, text, job("job-text", 1, None)).await;
    let first = published(reply!(served, Publish).unwrap());
    assert!(first.post_id.starts_with(&format!("{PAGE}_")));
    assert!(first.url.as_deref().unwrap().contains("/posts/"));

    let mut images = post(PAGE, "Our loaves", &[]);
    images.media = vec![
        media(MediaKind::Image, "https://cdn.example/a.jpg"),
        media(MediaKind::Image, "https://cdn.example/b.jpg"),
    ];
    let served = publish(&env, images, job("job-img", 1, None)).await;
    let second = published(reply!(served, Publish).unwrap());

    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        [
            format!("POST /{PAGE}/feed"),
            format!("POST /{PAGE}/photos"),
            format!("POST /{PAGE}/photos"),
            format!("POST /{PAGE}/feed"),
        ]
    );
    assert_eq!(body(&log[0])["message"], "Fresh bread today");
    assert_eq!(body(&log[0])["link"], "https://bakery.example/menu");
    assert_eq!(body(&log[1])["published"], false);
    assert_eq!(body(&log[3])["attached_media"].as_array().unwrap().len(), 2);
    assert!(
        log[0]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );

    let since = env.last_request_id();
    for id in [&first.post_id, &second.post_id] {
        let served = env
            .call(
                Some(CONNECTION),
                None,
                Invocation::DeletePost(DeleteRequest {
                    account_id: PAGE.into(),
                    post_id: id.clone(),
                }),
            )
            .await;
        reply!(served, DeletePost).unwrap();
    }
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        [
            format!("DELETE /{}", first.post_id),
            format!("DELETE /{}", second.post_id)
        ]
    );
}

#[tokio::test]
async fn native_scheduling_inside_ten_minutes_to_75_days_and_invalid_input_outside() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let at = now() + 3_600;
    let mut scheduled = post(PAGE, "Tomorrow's special", &[]);
    scheduled.scheduled_for = Some(at);
    let since = env.last_request_id();
    let served = publish(&env, scheduled, job("job-sched", 1, None)).await;
    assert_eq!(
        published(reply!(served, Publish).unwrap()).scheduled_for,
        Some(at)
    );
    let log = env.requests_since(since, PREFIX);
    assert_eq!(body(&log[0])["published"], false);
    assert_eq!(body(&log[0])["scheduled_publish_time"], at);

    for (lead, reason) in [(300, "10 minutes"), (80 * 86_400, "75 days")] {
        let mut outside = post(PAGE, "Too soon or too late", &[]);
        outside.scheduled_for = Some(now() + lead);
        let since = env.last_request_id();
        let served = publish(&env, outside, job("job-out", 1, None)).await;
        match expect_err(reply!(served, Publish), "outside the window") {
            ConnectorError::InvalidInput(why) => assert!(why.contains(reason), "{why}"),
            other => panic!("expected invalid-input, got {other:?}"),
        }
        assert!(env.requests_since(since, PREFIX).is_empty(), "nothing sent");
    }
}

#[tokio::test]
async fn the_506_duplicate_is_this_jobs_post_on_a_retry_and_refused_otherwise() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let served = publish(&env, post(PAGE, "Same words", &[]), job("job-a", 1, None)).await;
    let point = served.recovery_point.clone();
    let original = published(reply!(served, Publish).unwrap());
    assert_eq!(point.as_deref(), Some(format!("fb-feed:{PAGE}").as_str()));

    // Another job with the same text: Meta's 506, and no second post.
    let served = publish(&env, post(PAGE, "Same words", &[]), job("job-b", 1, None)).await;
    match expect_err(reply!(served, Publish), "a second job") {
        ConnectorError::Platform(p) => assert_eq!(p.code, "506"),
        other => panic!("expected platform 506, got {other:?}"),
    }

    // A retry of the first job (its answer lost): the 506 is its own post, reported as published.
    let served = publish(
        &env,
        post(PAGE, "Same words", &[]),
        job("job-a", 2, point.as_deref()),
    )
    .await;
    assert_eq!(
        published(reply!(served, Publish).unwrap()).post_id,
        original.post_id
    );

    let created = env
        .sandbox
        .requests(Some(Platform::Meta))
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/feed") && r.status == Some(200))
        .count();
    assert_eq!(created, 1, "one post on the Page");
}

#[tokio::test]
async fn a_page_video_is_followed_through_continuations() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let mut video = post(PAGE, "Behind the scenes", &[]);
    video.media = vec![media(MediaKind::Video, "https://cdn.example/bts.mp4")];
    let served = publish(&env, video, job("job-video", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    assert!(point.starts_with("fb-video:"));
    let task = served.continuations[0].clone();
    assert_eq!(task.kind, "fb-video-status");
    in_progress(reply!(served, Publish).unwrap());

    let served = handle(&env, &task, job("job-video", 1, Some(&point))).await;
    let task = served.continuations[0].clone();
    assert!(in_progress(reply!(served, HandleTask).unwrap()).contains("in_progress"));
    env.sandbox.advance_clock(Duration::from_secs(61));
    let served = handle(&env, &task, job("job-video", 1, Some(&point))).await;
    assert!(served.continuations.is_empty());
    let done = published(reply!(served, HandleTask).unwrap());
    assert_eq!(format!("fb-video:{}", done.post_id), point);
}

#[tokio::test]
async fn an_instagram_image_is_polled_across_continuations_and_published_once() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut image = post(IG, "Sourdough #bread", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/loaf.jpg")];
    let served = publish(&env, image.clone(), job("job-ig", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let container = point
        .strip_prefix("ig-container:")
        .expect("the container is the recovery point")
        .to_string();
    let first = served.continuations[0].clone();
    assert_eq!(first.kind, "ig-poll");
    assert!(
        first.delay > Duration::ZERO,
        "a continuation, never a blocking poll"
    );
    in_progress(reply!(served, Publish).unwrap());

    // Still processing: another continuation.
    let served = handle(&env, &first, job("job-ig", 1, Some(&point))).await;
    let second = served.continuations[0].clone();
    assert!(in_progress(reply!(served, HandleTask).unwrap()).contains("in progress"));

    // A retry of the job meanwhile resumes the container instead of creating another.
    let served = publish(&env, image.clone(), job("job-ig", 2, Some(&point))).await;
    assert_eq!(served.continuations.len(), 1);
    in_progress(reply!(served, Publish).unwrap());

    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(&env, &second, job("job-ig", 1, Some(&point))).await;
    let media_point = served.recovery_point.clone().unwrap();
    let done = published(reply!(served, HandleTask).unwrap());
    assert_eq!(media_point, format!("ig-media:{}", done.post_id));
    assert!(
        done.url
            .as_deref()
            .unwrap()
            .starts_with("https://www.instagram.com/p/")
    );

    // The duplicate continuation from the retry finds the container PUBLISHED: no second publish.
    let served = handle(&env, &second, job("job-ig", 2, Some(&point))).await;
    assert_eq!(
        published(reply!(served, HandleTask).unwrap()).post_id,
        done.post_id
    );

    let log = lines(&env.requests_since(since, PREFIX));
    let count = |l: &str| log.iter().filter(|x| *x == l).count();
    assert_eq!(
        count(&format!("GET /{IG}/content_publishing_limit")),
        1,
        "{log:?}"
    );
    assert_eq!(
        count(&format!("POST /{IG}/media")),
        1,
        "one container: {log:?}"
    );
    assert_eq!(
        count(&format!("POST /{IG}/media_publish")),
        1,
        "one publish: {log:?}"
    );
    assert!(count(&format!("GET /{container}")) >= 3);
}

#[tokio::test]
async fn instagram_carousels_and_reels_build_their_containers() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let since = env.last_request_id();
    let mut carousel = post(IG, "Three loaves", &[]);
    carousel.media = vec![
        media(MediaKind::Image, "https://cdn.example/1.jpg"),
        media(MediaKind::Video, "https://cdn.example/2.mp4"),
    ];
    let served = publish(&env, carousel, job("job-car", 1, None)).await;
    in_progress(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let creates: Vec<_> = log
        .iter()
        .filter(|r| r.path == format!("/{IG}/media"))
        .collect();
    assert_eq!(creates.len(), 3, "two items and the carousel");
    assert_eq!(body(creates[0])["is_carousel_item"], true);
    assert_eq!(body(creates[1])["media_type"], "VIDEO");
    assert_eq!(body(creates[2])["media_type"], "CAROUSEL");
    assert_eq!(body(creates[2])["children"].as_array().unwrap().len(), 2);

    let since = env.last_request_id();
    let mut reel = post(IG, "A reel", &[]);
    reel.media = vec![media(MediaKind::Video, "https://cdn.example/reel.mp4")];
    let served = publish(&env, reel, job("job-reel", 1, None)).await;
    in_progress(reply!(served, Publish).unwrap());
    let log = env.requests_since(since, PREFIX);
    let create = log
        .iter()
        .find(|r| r.path == format!("/{IG}/media"))
        .unwrap();
    assert_eq!(body(create)["media_type"], "REELS");

    let served = publish(&env, post(IG, "Text only", &[]), job("job-txt", 1, None)).await;
    assert!(matches!(
        expect_err(reply!(served, Publish), "text-only Instagram"),
        ConnectorError::InvalidInput(_)
    ));
}

#[tokio::test]
async fn a_spent_instagram_quota_is_rate_limited_before_any_container() {
    let mut config = SandboxConfig::default();
    config.meta.ig_publishes_per_day = 1;
    let env = env_with(config).await;
    connect(&env, &[]).await.unwrap();
    let mut image = post(IG, "First", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/1.jpg")];
    let served = publish(&env, image.clone(), job("job-q1", 1, None)).await;
    let task = served.continuations[0].clone();
    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(&env, &task, job("job-q1", 1, None)).await;
    published(reply!(served, HandleTask).unwrap());

    let since = env.last_request_id();
    image.text = "Second".into();
    let served = publish(&env, image, job("job-q2", 1, None)).await;
    match expect_err(reply!(served, Publish), "over quota") {
        ConnectorError::RateLimited(info) => assert_eq!(info.retry_after_ms, 3_600_000),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        [format!("GET /{IG}/content_publishing_limit")]
    );
}

#[tokio::test]
async fn graph_errors_map_to_the_taxonomy_with_throttle_waits() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    type Check = fn(&ConnectorError) -> bool;
    let cases: &[(&str, Check)] = &[
        (
            "32",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 300_000),
        ),
        (
            "80001",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 300_000),
        ),
        (
            "4",
            |e| matches!(e, ConnectorError::RateLimited(i) if i.retry_after_ms == 60_000),
        ),
        ("17", |e| matches!(e, ConnectorError::RateLimited(_))),
        ("613", |e| matches!(e, ConnectorError::RateLimited(_))),
        ("368/1390008", |e| {
            matches!(e, ConnectorError::RateLimited(_))
        }),
        ("1", |e| matches!(e, ConnectorError::Transient(_))),
        ("2", |e| matches!(e, ConnectorError::Transient(_))),
        ("190/463", |e| matches!(e, ConnectorError::AuthExpired(_))),
        ("190/460", |e| matches!(e, ConnectorError::AuthRevoked(_))),
        ("10", |e| matches!(e, ConnectorError::PermissionMissing(_))),
        ("200", |e| matches!(e, ConnectorError::PermissionMissing(_))),
    ];
    for (n, (code, expected)) in cases.iter().enumerate() {
        env.sandbox
            .inject(Platform::Meta, rule(code, "/feed"))
            .unwrap();
        let served = publish(
            &env,
            post(PAGE, &format!("Fault {n}"), &[]),
            job(&format!("job-f{n}"), 1, None),
        )
        .await;
        let error = expect_err(reply!(served, Publish), code);
        assert!(expected(&error), "{code} gave {error:?}");
    }
}

#[tokio::test]
async fn page_post_and_instagram_media_insights() {
    let env = env().await;
    connect(&env, &[]).await.unwrap();
    let until = now();
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: PAGE.into(),
                post_id: None,
                since: until - 3 * 86_400,
                until,
                metrics: vec![],
            }),
        )
        .await;
    let page = reply!(served, Analytics).unwrap();
    assert!(
        page.iter()
            .any(|m| m.name == "page_impressions" && m.period_end.is_some())
    );

    let served = publish(&env, post(PAGE, "Measure me", &[]), job("job-ins", 1, None)).await;
    let fb = published(reply!(served, Publish).unwrap());
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: PAGE.into(),
                post_id: Some(fb.post_id.clone()),
                since: 0,
                until,
                metrics: vec!["post_impressions".into()],
            }),
        )
        .await;
    let post_metrics = reply!(served, Analytics).unwrap();
    assert_eq!(post_metrics.len(), 1);
    assert_eq!(post_metrics[0].name, "post_impressions");

    let mut image = post(IG, "Insightful", &[]);
    image.media = vec![media(MediaKind::Image, "https://cdn.example/i.jpg")];
    let served = publish(&env, image, job("job-igi", 1, None)).await;
    let task = served.continuations[0].clone();
    env.sandbox.advance_clock(Duration::from_secs(31));
    let served = handle(&env, &task, job("job-igi", 1, None)).await;
    let ig = published(reply!(served, HandleTask).unwrap());
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: IG.into(),
                post_id: Some(ig.post_id.clone()),
                since: 0,
                until,
                metrics: vec![],
            }),
        )
        .await;
    let names: Vec<_> = reply!(served, Analytics)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        names,
        ["views", "reach", "saved", "likes", "comments", "shares"]
    );

    let log = env.requests_since(0, PREFIX);
    let page_call = log
        .iter()
        .find(|r| r.path == format!("/{PAGE}/insights"))
        .unwrap();
    let query = page_call.query.as_deref().unwrap();
    assert!(query.contains("period=day") && query.contains("since=") && query.contains("until="));

    // What the Graph API does not offer: Instagram deletes and account-level Instagram insights.
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::DeletePost(DeleteRequest {
                account_id: IG.into(),
                post_id: ig.post_id.clone(),
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, DeletePost), "ig delete"),
        ConnectorError::NotSupported(_)
    ));
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(AnalyticsRequest {
                account_id: IG.into(),
                post_id: None,
                since: 0,
                until,
                metrics: vec![],
            }),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, Analytics), "ig account insights"),
        ConnectorError::NotSupported(_)
    ));
}

fn webhook(
    method: &str,
    query: &[(&str, &str)],
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path: String::new(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body,
    }
}

#[tokio::test]
async fn webhook_challenge_answers_the_subscription_check_only_with_the_verify_token() {
    let env = env().await;
    let check = |token: &'static str| {
        webhook(
            "GET",
            &[
                ("hub.mode", "subscribe"),
                ("hub.challenge", "1158201444"),
                ("hub.verify_token", token),
            ],
            vec![],
            vec![],
        )
    };
    let served = env
        .call(
            None,
            None,
            Invocation::WebhookChallenge(check(VERIFY_TOKEN)),
        )
        .await;
    let answer = reply!(served, WebhookChallenge).unwrap().unwrap();
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    let served = env
        .call(None, None, Invocation::WebhookChallenge(check("guess")))
        .await;
    assert_eq!(
        reply!(served, WebhookChallenge).unwrap().unwrap().status,
        403
    );
    let served = env
        .call(
            None,
            None,
            Invocation::WebhookChallenge(webhook("GET", &[], vec![], vec![])),
        )
        .await;
    assert!(reply!(served, WebhookChallenge).unwrap().is_none());
}

#[tokio::test]
async fn webhook_signatures_are_verified_and_a_mismatch_is_refused() {
    let env = env().await;
    let event = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_000,
        "changes": [{"field": "feed", "value": {"item": "status", "post_id": format!("{PAGE}_1"), "verb": "add"}}]}]});
    let signed = build_delivery(
        Platform::Meta,
        &event,
        &DeliveryOptions::default(),
        env.sandbox.now_unix(),
    )
    .unwrap();
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook(
                "POST",
                &[],
                signed.headers.clone(),
                signed.body.clone(),
            )),
        )
        .await;
    let events = reply!(served, VerifyWebhook).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "page.feed");
    assert_eq!(events[0].external_account_id.as_deref(), Some(PAGE));

    // Signed with another secret, a tampered body, no signature: refused.
    let forged = build_delivery(
        Platform::Meta,
        &event,
        &DeliveryOptions {
            secret: Some("not-the-app-secret".into()),
            ..DeliveryOptions::default()
        },
        env.sandbox.now_unix(),
    )
    .unwrap();
    let mut tampered = signed.body.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    for (headers, body) in [
        (forged.headers.clone(), forged.body.clone()),
        (signed.headers.clone(), tampered),
        (vec![], signed.body.clone()),
    ] {
        let served = env
            .call(
                None,
                None,
                Invocation::VerifyWebhook(webhook("POST", &[], headers, body)),
            )
            .await;
        let error = expect_err(reply!(served, VerifyWebhook), "bad signature");
        assert!(
            matches!(&error, ConnectorError::InvalidInput(why) if why.contains("refused")),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn deauthorization_signed_requests_are_verified() {
    let env = env().await;
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": 1_700_000_000, "user_id": seed::META_USER_ID});
    let options = DeliveryOptions {
        meta_signed_request: true,
        ..DeliveryOptions::default()
    };
    let signed =
        build_delivery(Platform::Meta, &payload, &options, env.sandbox.now_unix()).unwrap();
    let form = vec![("content-type".to_string(), signed.content_type.clone())];
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook("POST", &[], form.clone(), signed.body.clone())),
        )
        .await;
    let events = reply!(served, VerifyWebhook).unwrap();
    assert_eq!(events[0].kind, "deauthorize");
    assert_eq!(
        events[0].external_account_id.as_deref(),
        Some(seed::META_USER_ID)
    );
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook(
                "POST",
                &[("callback", "data-deletion")],
                form.clone(),
                signed.body.clone(),
            )),
        )
        .await;
    assert_eq!(
        reply!(served, VerifyWebhook).unwrap()[0].kind,
        "data_deletion"
    );

    let forged = build_delivery(
        Platform::Meta,
        &payload,
        &DeliveryOptions {
            secret: Some("wrong".into()),
            ..options
        },
        env.sandbox.now_unix(),
    )
    .unwrap();
    let served = env
        .call(
            None,
            None,
            Invocation::VerifyWebhook(webhook("POST", &[], form, forged.body)),
        )
        .await;
    assert!(matches!(
        expect_err(reply!(served, VerifyWebhook), "forged signed_request"),
        ConnectorError::InvalidInput(_)
    ));
}

#[test]
fn the_repository_plugins_file_configures_meta_for_the_sandbox() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
    let file = postd_host::config::PluginsFile::load(&path);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let entry = file.plugin("meta").expect("a meta entry");
    assert!(entry.settings["graph-base-url"].ends_with("/meta/v20.0"));
    assert!(entry.secrets.contains_key("client-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_publishes_an_instagram_image_through_its_continuations() {
    use postd_host::store::{JobState, MediaItem, NewPost, PostContent, Target};
    let piped = support::pipeline::Piped::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    let post = NewPost {
        idempotency_key: "ig-pipeline-1".into(),
        content: PostContent {
            text: "From the pipeline".into(),
            media: vec![MediaItem {
                kind: "image".into(),
                url: "https://cdn.example/pipeline.jpg".into(),
                mime_type: None,
                size_bytes: None,
                alt_text: None,
            }],
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: IG.into(),
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let job_id = accepted.post().jobs[0].id.clone();
    let tenant = piped.store.tenant(support::TENANT);

    // First run: quota, container, checkpoint, first poll enqueued.
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Queued, "{:?}", job.last_error);
    let container = job.recovery_point.clone().unwrap();
    assert!(container.starts_with("ig-container:"), "{container}");
    assert_eq!(
        piped.pipeline.run_due().await,
        0,
        "the poll waits its delay"
    );

    // The poll comes back while Instagram still processes: another continuation.
    piped.clock.advance(15_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(
        (job.state, job.recovery_point.as_deref()),
        (JobState::Queued, Some(container.as_str()))
    );

    // Processing done on the platform's clock; the next poll publishes.
    piped.env.sandbox.advance_clock(Duration::from_secs(31));
    piped.clock.advance(15_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert!(
        job.recovery_point
            .as_deref()
            .unwrap()
            .starts_with("ig-media:")
    );
    let result: Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    assert_eq!(
        job.recovery_point.as_deref(),
        Some(format!("ig-media:{}", result["post_id"].as_str().unwrap()).as_str())
    );

    let log = lines(&piped.env.requests_since(0, PREFIX));
    assert_eq!(
        log.iter()
            .filter(|l| **l == format!("POST /{IG}/media"))
            .count(),
        1
    );
    assert_eq!(
        log.iter()
            .filter(|l| **l == format!("POST /{IG}/media_publish"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_waits_out_a_page_throttle_for_metas_estimate_then_publishes() {
    use postd_host::store::{JobState, NewPost, PostContent, Target};
    let piped = support::pipeline::Piped::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    piped
        .env
        .sandbox
        .inject(Platform::Meta, rule("32", "/feed"))
        .unwrap();
    let post = NewPost {
        idempotency_key: "fb-throttled".into(),
        content: PostContent {
            text: "Throttled, then posted".into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: PAGE.into(),
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let job_id = accepted.post().jobs[0].id.clone();
    let tenant = piped.store.tenant(support::TENANT);
    let started = piped.pipeline.now();
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert!(
        job.next_run_at - started >= 300_000,
        "waits estimated_time_to_regain_access (5 min): {}",
        job.next_run_at - started
    );
    piped.clock.advance(299_000);
    assert_eq!(
        piped.pipeline.run_due().await,
        0,
        "not before the wait is over"
    );
    piped.clock.advance(2_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    let result: Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    assert!(
        result["post_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{PAGE}_"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_through_the_host_api_are_verified_and_deauthorization_revokes_the_connection() {
    use postd_host::store::ConnectionStatus;
    let mut piped = support::pipeline::Piped::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    piped.serve_api();
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    let url = format!("{}/webhooks/meta", piped.api_url);
    let sandbox = &piped.env.sandbox;

    let check = sandbox
        .verify_subscription(Platform::Meta, &url, VERIFY_TOKEN)
        .await
        .unwrap();
    assert!(check.passed, "{check:?}");
    let guess = sandbox
        .verify_subscription(Platform::Meta, &url, "a guess")
        .await
        .unwrap();
    assert!(!guess.passed && guess.status == 403, "{guess:?}");

    let event = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_100,
        "changes": [{"field": "feed", "value": {"item": "status", "post_id": format!("{PAGE}_7"), "verb": "add"}}]}]});
    let options = DeliveryOptions::default();
    let delivered = sandbox
        .deliver_webhook(Platform::Meta, &url, &event, &options)
        .await
        .unwrap();
    assert_eq!(delivered.status, 200, "{}", delivered.response_body);
    let received: Value = serde_json::from_str(&delivered.response_body).unwrap();
    assert_eq!(received["stored"], 1);
    let again = sandbox
        .deliver_webhook(Platform::Meta, &url, &event, &options)
        .await
        .unwrap();
    let received: Value = serde_json::from_str(&again.response_body).unwrap();
    assert_eq!(received["duplicates"], 1, "a redelivery is recognised");

    let forged = DeliveryOptions {
        secret: Some("not-the-app-secret".into()),
        ..DeliveryOptions::default()
    };
    let refused = sandbox
        .deliver_webhook(Platform::Meta, &url, &event, &forged)
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "a signature mismatch is refused");

    let deauthorize = json!({"algorithm": "HMAC-SHA256", "issued_at": 1_700_000_200, "user_id": seed::META_USER_ID});
    let signed = DeliveryOptions {
        meta_signed_request: true,
        ..DeliveryOptions::default()
    };
    let delivered = sandbox
        .deliver_webhook(Platform::Meta, &url, &deauthorize, &signed)
        .await
        .unwrap();
    assert_eq!(delivered.status, 200, "{}", delivered.response_body);
    let received: Value = serde_json::from_str(&delivered.response_body).unwrap();
    assert_eq!(received["revoked"], 1);
    let connection = piped
        .store
        .tenant(support::TENANT)
        .connection(CONNECTION)
        .await
        .unwrap();
    assert_eq!(connection.status, ConnectionStatus::Revoked);
}

//! The connector driven by the host job pipeline (token refresh and its warnings, a video
//! published across continuations), and the repository plugins file.

use super::*;
use postd_host::store::ConnectionStatus;

const DAY_MS: i64 = 86_400_000;

#[test]
fn the_repository_plugins_file_configures_linkedin_for_the_sandbox() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
    let file = postd_host::config::PluginsFile::load(&path);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let entry = file.plugin("linkedin").expect("a linkedin entry");
    assert!(entry.settings["api-base-url"].ends_with("/linkedin"));
    assert!(entry.settings["auth-base-url"].ends_with("/linkedin/oauth/v2"));
    assert!(entry.secrets.contains_key("client-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_refreshes_a_week_before_expiry_with_the_refresh_token() {
    let piped = support::pipeline::Piped::start(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    let tenant = piped.store.tenant(support::TENANT);
    let before = tenant.connection(CONNECTION).await.unwrap();
    let token = piped.env.secret(CONNECTION, "access-token").await.unwrap();

    piped.clock.advance(52 * DAY_MS);
    assert_eq!(piped.pipeline.refresh_due_connections().await, 0, "not yet");
    piped.clock.advance(2 * DAY_MS);
    piped
        .env
        .sandbox
        .advance_clock(Duration::from_secs(54 * 86_400));
    assert_eq!(piped.pipeline.refresh_due_connections().await, 1);
    let after = tenant.connection(CONNECTION).await.unwrap();
    assert_eq!(after.status, ConnectionStatus::Healthy);
    // The connector dates tokens by the host's clock (its WASI wall clock is the pipeline's
    // clock, moved 54 days like the platform's): a new 60-day token from the moved now, and
    // the refresh token's remaining lifetime as LinkedIn reports it, 54 days shorter, so it
    // ends when it ended before: it was not extended.
    let later = after.expires_at.unwrap() - before.expires_at.unwrap();
    assert!(
        (54 * DAY_MS - 5_000..=54 * DAY_MS + 5_000).contains(&later),
        "a fresh 60 days from the moved clock: {later} ms later"
    );
    let moved = after.refresh_expires_at.unwrap() - before.refresh_expires_at.unwrap();
    assert!(
        (-5_000..=5_000).contains(&moved),
        "the refresh token's end moved by {moved} ms"
    );
    assert_ne!(
        piped.env.secret(CONNECTION, "access-token").await.unwrap(),
        token
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_refresh_token_the_connection_is_expiring_soon_then_needs_attention() {
    let config = SandboxConfig {
        linkedin: LinkedInConfig {
            issue_refresh_tokens: false,
            ..LinkedInConfig::default()
        },
        ..SandboxConfig::default()
    };
    let piped = support::pipeline::Piped::start(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        config,
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    let tenant = piped.store.tenant(support::TENANT);

    piped.clock.advance(54 * DAY_MS);
    assert_eq!(piped.pipeline.refresh_due_connections().await, 0);
    let warned = tenant.connection(CONNECTION).await.unwrap();
    assert_eq!(warned.status, ConnectionStatus::ExpiringSoon);
    assert!(
        warned
            .status_reason
            .as_deref()
            .unwrap_or("")
            .contains("reconnect"),
        "{:?}",
        warned.status_reason
    );

    piped.clock.advance(7 * DAY_MS);
    piped.pipeline.refresh_due_connections().await;
    let expired = tenant.connection(CONNECTION).await.unwrap();
    assert_eq!(expired.status, ConnectionStatus::Attention);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_publishes_to_an_organization_after_a_passing_failure() {
    use postd_host::store::{JobState, NewPost, PostContent, Target};
    let piped = support::pipeline::Piped::start(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    piped
        .env
        .sandbox
        .inject(Platform::Linkedin, rule("503", "/rest/posts"))
        .unwrap();
    let post = NewPost {
        idempotency_key: "li-pipeline-1".into(),
        content: PostContent {
            text: "From the pipeline".into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: org(),
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let job_id = accepted.post().jobs[0].id.clone();
    let tenant = piped.store.tenant(support::TENANT);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Queued, "a 503 is retried");
    piped.clock.advance(3_600_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    let result: Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    let urn = result["post_id"].as_str().unwrap();
    assert!(urn.starts_with("urn:li:share:"), "{urn}");
    assert_eq!(
        job.recovery_point.as_deref(),
        Some(format!("li-post:{urn}").as_str())
    );
    let created = piped
        .env
        .sandbox
        .requests(Some(Platform::Linkedin))
        .into_iter()
        .filter(|r| r.path.ends_with("/rest/posts") && r.status == Some(201))
        .count();
    assert_eq!(created, 1);
}

//! The connector driven by the host job pipeline, and the repository plugins file.

use super::*;

#[test]
fn the_repository_plugins_file_configures_meta_for_the_sandbox() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
    let file = postd_host::config::PluginsFile::load(&path);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let entry = file.plugin("meta").expect("a meta entry");
    assert!(entry.settings["api-base-url"].ends_with("/meta"));
    assert_eq!(entry.settings["graph-version"], VERSION);
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

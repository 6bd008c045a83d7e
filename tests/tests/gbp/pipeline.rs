//! The connector driven by the host job pipeline: hourly refreshes that never lose the refresh
//! token, and one post to locations of two business accounts; the repository plugins file.

use super::*;
use postd_host::store::ConnectionStatus;

#[test]
fn the_repository_plugins_file_configures_gbp_for_the_sandbox() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
    let file = postd_host::config::PluginsFile::load(&path);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let entry = file.plugin("gbp").expect("a gbp entry");
    assert!(entry.settings["posts-base-url"].ends_with("/gbp"));
    assert!(entry.secrets.contains_key("client-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_refreshes_every_hour_and_the_refresh_token_survives() {
    let piped = support::pipeline::Piped::start(
        "gbp",
        postd_test_artifacts::GBP,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env).await;
    piped.connect(CONNECTION, callback).await;
    let tenant = piped.store.tenant(support::TENANT);
    let refresh = piped.env.secret(CONNECTION, "refresh-token").await.unwrap();
    assert_eq!(
        piped.pipeline.refresh_due_connections().await,
        0,
        "fresh token"
    );
    for hour in 0..3 {
        piped.clock.advance(56 * 60_000);
        piped
            .env
            .sandbox
            .advance_clock(Duration::from_secs(56 * 60));
        assert_eq!(
            piped.pipeline.refresh_due_connections().await,
            1,
            "hour {hour}"
        );
        let connection = tenant.connection(CONNECTION).await.unwrap();
        assert_eq!(connection.status, ConnectionStatus::Healthy, "hour {hour}");
        assert_eq!(
            piped.env.secret(CONNECTION, "refresh-token").await.unwrap(),
            refresh,
            "hour {hour}: no refresh-token loss"
        );
        assert!(connection.expires_at.is_some());
    }
    let refreshes = piped
        .env
        .sandbox
        .requests(Some(Platform::Gbp))
        .into_iter()
        .filter(|r| {
            r.path.ends_with("/token")
                && r.body_text
                    .as_deref()
                    .unwrap_or("")
                    .contains("refresh_token")
        })
        .count();
    assert_eq!(refreshes, 3, "one refresh an hour, never one per call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_post_reaches_locations_of_two_accounts_through_continuations() {
    use postd_host::store::{JobState, NewPost, PostContent, Target};
    let piped = support::pipeline::Piped::start(
        "gbp",
        postd_test_artifacts::GBP,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env).await;
    piped.connect(CONNECTION, callback).await;
    let post = NewPost {
        idempotency_key: "gbp-multi-1".into(),
        content: PostContent {
            text: "Now open on Sundays".into(),
            ..PostContent::default()
        },
        targets: vec![
            Target {
                connection_id: CONNECTION.into(),
                account_id: location(),
            },
            Target {
                connection_id: CONNECTION.into(),
                account_id: studio(),
            },
        ],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let jobs: Vec<String> = accepted.post().jobs.iter().map(|j| j.id.clone()).collect();
    assert_eq!(jobs.len(), 2);
    let tenant = piped.store.tenant(support::TENANT);
    assert_eq!(piped.pipeline.run_due().await, 2);
    for id in &jobs {
        let job = tenant.job(id).await.unwrap();
        assert_eq!(job.state, JobState::Queued, "{:?}", job.last_error);
        assert!(
            job.recovery_point
                .as_deref()
                .unwrap()
                .starts_with("gbp-post:")
        );
    }
    piped.env.sandbox.advance_clock(Duration::from_secs(61));
    piped.clock.advance(15_000);
    assert_eq!(piped.pipeline.run_due().await, 2);
    let mut names = Vec::new();
    for id in &jobs {
        let job = tenant.job(id).await.unwrap();
        assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
        let result: Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
        names.push(result["post_id"].as_str().unwrap().to_string());
    }
    names.sort();
    assert!(names[0].starts_with(&location()), "{names:?}");
    assert!(names[1].starts_with(&studio()), "{names:?}");
}

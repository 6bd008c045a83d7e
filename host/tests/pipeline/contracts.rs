//! Components of both contract versions side by side through the pipeline: the pipeline
//! fixture as it is now (`postd:connector@0.2.0`, postd-sdk 0.2) and the same fixture built from
//! the commit pinned to postd-sdk 0.1 (`@0.1.0`, whose multi-step posts use 0.1's
//! `queue.enqueue`). One post targets a connection of each; both targets must go live the same
//! way, attempt for attempt.

use postd_host::config::PluginEntry;
use postd_host::runtime::wit::ContractVersion;
use postd_host::store::{Job, JobState, Target};

use crate::on_both_backends;
use crate::support::{Harness, Kind, new_post, plugin_entry};

on_both_backends!(
    a_0_1_and_a_0_2_component_publish_one_post_side_by_side,
    a_0_1_component_s_errors_mean_what_they_mean_in_0_2,
);

/// The 0.1 build of the pipeline fixture, as plugin `pipeline-v01` (its manifest id stays
/// `pipeline`), with the same platform and settings as the 0.2 one.
fn v0_1_entry(h: &Harness) -> PluginEntry {
    let mut entry = plugin_entry(&h.platform);
    entry.id = "pipeline-v01".into();
    entry.component = "pipeline".into();
    entry.path = postd_test_artifacts::PIPELINE_V0_1.into();
    entry
}

/// A harness serving both versions, with tenant `acme` connected to each: `conn-new` (0.2) and
/// `conn-old` (0.1).
async fn both_versions(kind: Kind) -> Harness {
    let h = Harness::new(kind).await;
    let status = h
        .runtime
        .configure_plugin(v0_1_entry(&h))
        .await
        .expect("the 0.1 component loads");
    assert_eq!(status.contract, Some(ContractVersion::V0_1));
    assert_eq!(
        h.runtime.status("pipeline").unwrap().contract,
        Some(ContractVersion::V0_2)
    );
    assert!(
        h.runtime
            .manifest("pipeline-v01")
            .unwrap()
            .sdk_version
            .starts_with("0.1."),
        "built with postd-sdk 0.1"
    );
    assert!(
        h.runtime
            .manifest("pipeline")
            .unwrap()
            .sdk_version
            .starts_with("0.2.")
    );
    h.connect("acme", "conn-new").await;
    h.connect_to("acme", "conn-old", "pipeline-v01").await;
    h
}

/// Accepts one post (idempotency key `key`) targeting both connections; its two jobs.
async fn post_to_both(h: &Harness, key: &str, options: &[(&str, &str)]) -> Vec<Job> {
    let mut post = new_post("conn-new", key, "hello from both", options);
    post.targets.push(Target {
        connection_id: "conn-old".into(),
        account_id: "acct-1".into(),
    });
    let accepted = h.pipeline.accept("acme", &post).await.unwrap();
    accepted.post().jobs.clone()
}

/// What each attempt of `job` was: (export, outcome).
async fn attempts(h: &Harness, job: &str) -> Vec<(String, String)> {
    h.store
        .tenant("acme")
        .attempts(job)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.export, a.outcome))
        .collect()
}

async fn a_0_1_and_a_0_2_component_publish_one_post_side_by_side(kind: Kind) {
    let h = both_versions(kind).await;
    let tenant = h.store.tenant("acme");

    // A one-step post to each: a draft, its id recorded as the recovery point, then published.
    let jobs = post_to_both(&h, "plain", &[]).await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(h.pipeline.run_due().await, 2);
    for job in &jobs {
        let job = tenant.job(&job.id).await.unwrap();
        assert_eq!(job.state, JobState::Published, "{}", job.plugin);
        assert!(job.recovery_point.is_some(), "{}", job.plugin);
        assert_eq!(h.platform.posts_for(&job.id), 1, "{}", job.plugin);
    }

    // A three-step post: 0.2 carries each continuation in its answer, 0.1 enqueues it; the
    // pipeline runs both the same way.
    let jobs = post_to_both(&h, "stepped", &[("steps", "3"), ("delay-ms", "2000")]).await;
    for _ in 0..3 {
        assert_eq!(h.pipeline.run_due().await, 2);
        for job in &jobs {
            let job = tenant.job(&job.id).await.unwrap();
            assert_eq!(job.state, JobState::Queued, "{}", job.plugin);
            assert_eq!(job.next_run_at - h.pipeline.now(), 2_000, "{}", job.plugin);
        }
        h.clock.advance(2_000);
    }
    assert_eq!(h.pipeline.run_due().await, 2);
    let expected: Vec<(String, String)> = [
        ("publish", "in-progress"),
        ("handle-task", "in-progress"),
        ("handle-task", "in-progress"),
        ("handle-task", "published"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    for job in &jobs {
        let done = tenant.job(&job.id).await.unwrap();
        assert_eq!(done.state, JobState::Published, "{}", done.plugin);
        assert!(
            done.result
                .unwrap()
                .contains(&format!("stepped-{}", job.id))
        );
        assert_eq!(attempts(&h, &job.id).await, expected, "{}", done.plugin);
    }
}

async fn a_0_1_component_s_errors_mean_what_they_mean_in_0_2(kind: Kind) {
    let h = both_versions(kind).await;
    let tenant = h.store.tenant("acme");
    for (connection, plugin) in [("conn-new", "pipeline"), ("conn-old", "pipeline-v01")] {
        let accept = |key: &str, options: &[(&str, &str)]| {
            let post = new_post(connection, &format!("{key}-{plugin}"), "hello", options);
            let pipeline = h.pipeline.clone();
            async move {
                pipeline.accept("acme", &post).await.unwrap().post().jobs[0]
                    .id
                    .clone()
            }
        };

        // Transient once: retried after the first backoff step, then published.
        let job = accept(
            "transient",
            &[("fail", "transient"), ("fail-attempts", "1")],
        )
        .await;
        let before = h.pipeline.now();
        assert_eq!(h.pipeline.run_due().await, 1);
        let retried = tenant.job(&job).await.unwrap();
        assert_eq!(
            (retried.state, retried.attempts),
            (JobState::Queued, 1),
            "{plugin}"
        );
        let delay = retried.next_run_at - before;
        assert!((1_000..2_000).contains(&delay), "{plugin}: {delay} ms");
        h.clock.set(retried.next_run_at);
        assert_eq!(h.pipeline.run_due().await, 1);
        assert_eq!(
            tenant.job(&job).await.unwrap().state,
            JobState::Published,
            "{plugin}"
        );

        // Rate-limited: the connector's retry-after is waited exactly, no attempt spent.
        let job = accept("limited", &[("fail", "rate-limited:5000")]).await;
        let before = h.pipeline.now();
        assert_eq!(h.pipeline.run_due().await, 1);
        let waiting = tenant.job(&job).await.unwrap();
        assert_eq!(
            (waiting.state, waiting.attempts),
            (JobState::Queued, 0),
            "{plugin}"
        );
        assert_eq!(waiting.next_run_at - before, 5_000, "{plugin}");
        assert_eq!(
            attempts(&h, &job).await,
            vec![("publish".to_string(), "rate-limited".to_string())],
            "{plugin}"
        );

        // Invalid input: dead at once, with the connector's case as the reason.
        let job = accept("invalid", &[("fail", "invalid")]).await;
        assert_eq!(h.pipeline.run_due().await, 1);
        assert_eq!(
            tenant.job(&job).await.unwrap().state,
            JobState::Dead,
            "{plugin}"
        );
        let letters = tenant.dead_letters(50).await.unwrap();
        let letter = letters
            .iter()
            .find(|l| l.job_id == job)
            .expect("a dead letter");
        assert_eq!(letter.reason_code, "invalid-input", "{plugin}");
    }
}

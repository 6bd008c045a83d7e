//! Running jobs: backoff on transient failures (with the manual clock, never sleeps), waiting
//! out rate limits without spending attempts, dead letters and replay, continuations.

use postd_host::store::{ConnectionStatus, JobState};

use crate::on_both_backends;
use crate::support::{Harness, Kind};

on_both_backends!(
    a_post_is_published_once_with_its_recovery_point,
    transient_failures_back_off_1_3_9_seconds_then_dead_letter,
    a_rate_limited_answer_waits_its_retry_after_without_spending_an_attempt,
    a_permanent_error_dead_letters_at_once_and_replay_keeps_the_key,
    continuations_run_in_order_until_published,
    waking_a_job_by_its_recovery_point_runs_its_continuation_now,
    a_revoked_token_pauses_the_job_and_a_reconnect_resumes_it,
);

async fn a_post_is_published_once_with_its_recovery_point(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let job = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = h.store.tenant("acme").job(&job).await.unwrap();
    assert_eq!(job.state, JobState::Published);
    let draft = job
        .recovery_point
        .clone()
        .expect("the draft id was checkpointed");
    assert!(draft.starts_with("draft-"));
    let result: serde_json::Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    assert!(result["post_id"].as_str().unwrap().starts_with("post-"));
    assert_eq!(h.platform.posts_for(&job.id), 1);
    let attempts = h.store.tenant("acme").attempts(&job.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (attempts[0].attempt, attempts[0].outcome.as_str()),
        (1, "published")
    );
    assert!(attempts[0].fuel > 0, "fuel is recorded");
}

async fn transient_failures_back_off_1_3_9_seconds_then_dead_letter(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.platform
        .with(|s| s.draft_failures.extend([500, 500, 500, 500]));
    let job_id = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let tenant = h.store.tenant("acme");
    for expected_ms in [1_000, 3_000, 9_000] {
        let before = h.pipeline.now();
        assert_eq!(h.pipeline.run_due().await, 1);
        let job = tenant.job(&job_id).await.unwrap();
        assert_eq!(job.state, JobState::Queued);
        let delay = job.next_run_at - before;
        assert!(
            (expected_ms..expected_ms + 1_000).contains(&delay),
            "delay {delay} ms, expected {expected_ms} + jitter"
        );
        // Not a moment early.
        h.clock.set(job.next_run_at - 1);
        assert_eq!(h.pipeline.run_due().await, 0);
        h.clock.set(job.next_run_at);
    }
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Dead);
    let letters = tenant.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason_code, "attempts-exhausted");
    assert_eq!(letters[0].attempts, 4);
    assert!(
        letters[0].last_error.contains("HTTP 500"),
        "{}",
        letters[0].last_error
    );
    let outcomes: Vec<String> = tenant
        .attempts(&job_id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "retry", "dead"]);
}

async fn a_rate_limited_answer_waits_its_retry_after_without_spending_an_attempt(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    // Six 429s: more than the four attempts a job has, yet the job never dies of them.
    h.platform.with(|s| s.draft_failures.extend([429; 6]));
    let job_id = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let tenant = h.store.tenant("acme");
    for _ in 0..6 {
        let before = h.pipeline.now();
        assert_eq!(h.pipeline.run_due().await, 1);
        let job = tenant.job(&job_id).await.unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
        assert_eq!(
            job.next_run_at - before,
            5_000,
            "Retry-After: 5 is waited exactly, no backoff"
        );
        h.clock.set(job.next_run_at);
    }
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published);
    let attempts = tenant.attempts(&job_id).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .filter(|a| a.outcome == "rate-limited")
            .count(),
        6
    );
    assert!(
        attempts.iter().all(|a| a.attempt == 1),
        "every run was attempt 1"
    );
}

async fn a_permanent_error_dead_letters_at_once_and_replay_keeps_the_key(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.platform.with(|s| s.draft_failures.push_back(400));
    let post = h.post("acme", "conn-1", "key-1", "hello", &[]).await;
    let job_id = post.post().jobs[0].id.clone();
    assert_eq!(h.pipeline.run_due().await, 1);
    let tenant = h.store.tenant("acme");
    assert_eq!(tenant.job(&job_id).await.unwrap().state, JobState::Dead);
    let letters = tenant.dead_letters(10).await.unwrap();
    assert_eq!(
        (
            letters.len(),
            letters[0].reason_code.as_str(),
            letters[0].attempts
        ),
        (1, "invalid-input", 1)
    );

    let replayed = tenant
        .replay(
            &letters[0].id,
            "operator",
            &Default::default(),
            h.pipeline.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (replayed.id.as_str(), replayed.state, replayed.attempts),
        (job_id.as_str(), JobState::Queued, 0)
    );
    assert!(
        tenant.dead_letters(10).await.unwrap().is_empty(),
        "a replayed letter leaves the list"
    );
    assert!(
        tenant
            .replay(
                &letters[0].id,
                "operator",
                &Default::default(),
                h.pipeline.now()
            )
            .await
            .is_err(),
        "replayed once"
    );
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(
        tenant.job(&job_id).await.unwrap().state,
        JobState::Published
    );
    // The idempotency key still names the same post.
    let again = h.post("acme", "conn-1", "key-1", "hello", &[]).await;
    assert_eq!(again.post().id, post.post().id);
    assert_eq!(again.post().jobs[0].state, JobState::Published);
    let actions: Vec<String> = tenant
        .audit_log(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"job.replayed".to_string()), "{actions:?}");
}

async fn continuations_run_in_order_until_published(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let job_id = h
        .post(
            "acme",
            "conn-1",
            "key-1",
            "hello",
            &[("steps", "3"), ("delay-ms", "2000")],
        )
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let tenant = h.store.tenant("acme");
    for _ in 0..3 {
        assert_eq!(h.pipeline.run_due().await, 1);
        let job = tenant.job(&job_id).await.unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(
            job.next_run_at - h.pipeline.now(),
            2_000,
            "the continuation's delay"
        );
        assert_eq!(h.pipeline.run_due().await, 0, "not before its time");
        h.clock.advance(2_000);
    }
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published);
    assert!(job.result.unwrap().contains(&format!("stepped-{job_id}")));
    let runs: Vec<(String, String)> = tenant
        .attempts(&job_id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.export, a.outcome))
        .collect();
    let expected: Vec<(String, String)> = [
        ("publish", "in-progress"),
        ("handle-task", "in-progress"),
        ("handle-task", "in-progress"),
        ("handle-task", "published"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(runs, expected);
}

async fn waking_a_job_by_its_recovery_point_runs_its_continuation_now(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let job_id = h
        .post(
            "acme",
            "conn-1",
            "key-1",
            "hello",
            &[("steps", "1"), ("delay-ms", "600000")],
        )
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let tenant = h.store.tenant("acme");
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    let point = job.recovery_point.clone().expect("a recovery point");
    assert_eq!(
        h.pipeline.run_due().await,
        0,
        "the continuation waits ten minutes"
    );
    // Another publish's point, or another connection, wakes nothing.
    let woken = h
        .pipeline
        .wake("acme", "conn-1", &job.plugin, "draft-other")
        .await;
    assert_eq!(woken.unwrap(), 0);
    let woken = h.pipeline.wake("acme", "conn-2", &job.plugin, &point).await;
    assert_eq!(woken.unwrap(), 0);
    let woken = h.pipeline.wake("acme", "conn-1", &job.plugin, &point).await;
    assert_eq!(woken.unwrap(), 1);
    assert_eq!(h.pipeline.run_due().await, 1, "due now, the clock unmoved");
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published);
    let woken = h.pipeline.wake("acme", "conn-1", &job.plugin, &point).await;
    assert_eq!(woken.unwrap(), 0, "a finished job is not woken");
}

async fn a_revoked_token_pauses_the_job_and_a_reconnect_resumes_it(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.platform.with(|s| {
        s.revoked = true;
        s.refuse_refresh = true;
    });
    let job_id = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let other = h
        .post("acme", "conn-1", "key-2", "second", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    // The first run meets a 401 (auth-expired), refreshes, is refused (invalid_grant): the
    // connection needs attention and both jobs wait.
    assert!(h.pipeline.run_due().await >= 1);
    let tenant = h.store.tenant("acme");
    let connection = tenant.connection("conn-1").await.unwrap();
    assert!(
        matches!(
            connection.status,
            ConnectionStatus::Revoked | ConnectionStatus::Attention
        ),
        "{connection:?}"
    );
    for id in [&job_id, &other] {
        let job = tenant.job(id).await.unwrap();
        assert_eq!(job.state, JobState::Paused, "{job:?}");
        assert_eq!(job.attempts, 0, "pausing gives the attempt back");
    }
    assert_eq!(h.pipeline.run_due().await, 0);
    let actions: Vec<String> = tenant
        .audit_log(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"connection.status".to_string()),
        "{actions:?}"
    );

    h.platform.with(|s| {
        s.revoked = false;
        s.refuse_refresh = false;
    });
    h.connect("acme", "conn-1").await;
    assert_eq!(h.pipeline.run_due().await, 2);
    for id in [&job_id, &other] {
        assert_eq!(tenant.job(id).await.unwrap().state, JobState::Published);
        assert_eq!(h.platform.posts_for(id), 1);
    }
}

on_both_backends!(
    a_scheduled_post_waits_for_its_time_when_the_platform_cannot_schedule,
    a_plugin_disabled_for_the_tenant_holds_its_jobs_until_enabled,
    a_connector_trap_is_retried_then_dead_lettered,
);

async fn a_scheduled_post_waits_for_its_time_when_the_platform_cannot_schedule(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let at = h.pipeline.now() + 3_600_000;
    let mut post = crate::support::new_post("conn-1", "key-1", "later", &[]);
    post.scheduled_for = Some(at);
    let accepted = h.pipeline.accept("acme", &post).await.unwrap();
    let job = &accepted.post().jobs[0];
    assert_eq!(
        (job.next_run_at, job.scheduled_for),
        (at, Some(at)),
        "the host holds it"
    );
    h.clock.set(at - 1);
    assert_eq!(h.pipeline.run_due().await, 0);
    h.clock.set(at);
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(
        h.store.tenant("acme").job(&job.id).await.unwrap().state,
        JobState::Published
    );
}

async fn a_plugin_disabled_for_the_tenant_holds_its_jobs_until_enabled(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let tenant = h.store.tenant("acme");
    tenant
        .set_plugin_enabled("pipeline", false, "admin", h.pipeline.now())
        .await
        .unwrap();
    let job = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    assert_eq!(h.pipeline.run_due().await, 1);
    let held = tenant.job(&job).await.unwrap();
    assert_eq!(
        (held.state, held.state_reason.as_deref(), held.attempts),
        (JobState::Paused, Some("plugin-disabled"), 0)
    );
    assert_eq!(h.platform.posts_for(&job), 0);
    tenant
        .set_plugin_enabled("pipeline", true, "admin", h.pipeline.now())
        .await
        .unwrap();
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(tenant.job(&job).await.unwrap().state, JobState::Published);
    let actions: Vec<String> = tenant
        .audit_log(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"plugin.disabled".into()) && actions.contains(&"plugin.enabled".into())
    );
}

async fn a_connector_trap_is_retried_then_dead_lettered(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let job = h
        .post("acme", "conn-1", "key-1", "hello", &[("fail", "panic")])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let tenant = h.store.tenant("acme");
    for _ in 0..4 {
        assert_eq!(h.pipeline.run_due().await, 1);
        h.clock.advance(61_000);
    }
    let letters = tenant.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason_code, "attempts-exhausted");
    assert!(
        letters[0].last_error.contains("trapped"),
        "{}",
        letters[0].last_error
    );
    assert_eq!(tenant.job(&job).await.unwrap().state, JobState::Dead);
}

on_both_backends!(a_worker_that_lost_its_lease_records_nothing);

/// A worker that overran its lease (another took the job over) cannot record an outcome: the
/// new holder decides, and nothing of the stale run is written.
async fn a_worker_that_lost_its_lease_records_nothing(kind: Kind) {
    use postd_host::store::{Finish, FinishOutcome};
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let job = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    let now = h.pipeline.now();
    let stale = h
        .store
        .claim_due("slow-worker", now, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(stale.len(), 1);
    // The lease runs out; another worker takes the job over.
    let fresh = h
        .store
        .claim_due("other-worker", now + 1_001, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        (fresh.len(), fresh[0].job.attempts),
        (1, 2),
        "the lost run counted as an attempt"
    );
    let finish = Finish {
        export: "publish",
        worker: "slow-worker".into(),
        started_at: now,
        latency_ms: 5,
        fuel: 1,
        error_code: None,
        error: None,
        outcome: FinishOutcome::Published {
            result: "{}".into(),
        },
        trace_id: None,
    };
    assert!(
        !h.store
            .finish(&stale[0], &finish, now + 2_000)
            .await
            .unwrap(),
        "the stale lease is refused"
    );
    let tenant = h.store.tenant("acme");
    assert_eq!(
        tenant.job(&job).await.unwrap().state,
        JobState::Running,
        "still the new holder's"
    );
    assert!(
        tenant.attempts(&job).await.unwrap().is_empty(),
        "no attempt recorded for the stale run"
    );
    assert!(
        h.store
            .finish(&fresh[0], &finish, now + 2_000)
            .await
            .unwrap()
    );
    assert_eq!(tenant.job(&job).await.unwrap().state, JobState::Published);
}

//! Rate-limit waits at the edges: a wait up to the ceiling (24 h by default) is queued for
//! exactly that long; a longer one — `Retry-After: 99999999999999999` from a platform, or
//! `rate-limited(u64::MAX)` from a connector — dead-letters the job as `rate-limit-too-long`
//! instead of overflowing the deadline arithmetic (which used to panic the worker on every
//! reclaim of the job). Replaying the dead letter runs the job again.

use std::time::Duration;

use postd_host::config::PluginEntry;
use postd_host::jobs::RATE_LIMIT_TOO_LONG;
use postd_host::store::{JobState, NewConnection};
use postd_test_artifacts::HOSTILE;

use crate::on_both_backends;
use crate::support::{Harness, Kind, Setup, eventually};

on_both_backends!(
    a_platform_asking_to_wait_for_ages_dead_letters_the_job_and_replay_publishes_it,
    a_connector_asking_to_wait_forever_is_dead_lettered_while_the_workers_serve_on,
);

/// What `u64::MAX` ms reads as in a dead letter.
const FOREVER: &str = "(18446744073709551615 ms)";

async fn a_platform_asking_to_wait_for_ages_dead_letters_the_job_and_replay_publishes_it(
    kind: Kind,
) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.platform.with(|s| {
        s.draft_failures.extend([429, 429]);
        s.retry_after = Some("86400".into());
    });
    let job_id = h.post_job("acme", "conn-1", "key-1", "hello").await;
    let tenant = h.store.tenant("acme");

    // A day is the ceiling itself: waited exactly, the attempt given back.
    let before = h.pipeline.now();
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    assert_eq!(job.next_run_at - before, 86_400_000);
    h.clock.set(job.next_run_at);

    // Then the platform asks for some three billion years (u64::MAX ms once in milliseconds).
    h.platform
        .with(|s| s.retry_after = Some("99999999999999999".into()));
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(
        (job.state, job.state_reason.as_deref()),
        (JobState::Dead, Some(RATE_LIMIT_TOO_LONG))
    );
    let letters = tenant.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason_code, RATE_LIMIT_TOO_LONG);
    let error = &letters[0].last_error;
    for part in [
        "HTTP 429",
        FOREVER,
        "ceiling of 1 d",
        "max_rate_limit_wait_secs",
    ] {
        assert!(error.contains(part), "`{part}` in: {error}");
    }
    // Nothing is left behind to run (or to panic on) again.
    h.clock.advance(7 * 86_400_000);
    assert_eq!(h.pipeline.run_due().await, 0);

    // Once the platform accepts requests again, a replay publishes the post once.
    h.pipeline
        .replay("acme", &letters[0].id, "operator", &Default::default())
        .await
        .unwrap();
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(
        tenant.job(&job_id).await.unwrap().state,
        JobState::Published
    );
    assert_eq!(h.platform.posts_for(&job_id), 1);
    let attempts = tenant.attempts(&job_id).await.unwrap();
    let outcomes: Vec<(&str, Option<&str>)> = attempts
        .iter()
        .map(|a| (a.outcome.as_str(), a.error_code.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("rate-limited", Some("rate-limited")),
            ("dead", Some(RATE_LIMIT_TOO_LONG)),
            ("published", None)
        ]
    );
}

async fn a_connector_asking_to_wait_forever_is_dead_lettered_while_the_workers_serve_on(
    kind: Kind,
) {
    let mut setup = Setup::new(kind);
    setup.system_clock = true;
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    h.runtime
        .configure_plugin(PluginEntry::new("hostile", HOSTILE))
        .await
        .expect("loading the hostile fixture");
    let hostile = NewConnection {
        id: "conn-hostile".into(),
        plugin: "hostile".into(),
        external_id: "hostile-1".into(),
        display_name: "Hostile".into(),
        scopes: Vec::new(),
        expires_at: None,
        refresh_expires_at: None,
    };
    let tenant = h.store.tenant("acme");
    tenant
        .upsert_connection(&hostile, "test", h.pipeline.now())
        .await
        .unwrap();

    let workers = h.pipeline.start();
    let forever = h
        .post_job(
            "acme",
            "conn-hostile",
            "key-forever",
            "rate-limited-forever",
        )
        .await;
    let beside = h.post_job("acme", "conn-1", "key-beside", "hello").await;
    eventually(
        Duration::from_secs(60),
        "the hostile job dead-lettered and the other published",
        || async {
            let forever = tenant.job(&forever).await.unwrap().state;
            let beside = tenant.job(&beside).await.unwrap().state;
            (forever, beside) == (JobState::Dead, JobState::Published)
        },
    )
    .await;
    // The same workers keep serving: a job accepted afterwards runs too.
    let after = h
        .post_job("acme", "conn-1", "key-after", "hello again")
        .await;
    eventually(
        Duration::from_secs(60),
        "the next job published",
        || async { tenant.job(&after).await.unwrap().state == JobState::Published },
    )
    .await;
    workers.stop().await;

    let job = tenant.job(&forever).await.unwrap();
    assert_eq!(job.state_reason.as_deref(), Some(RATE_LIMIT_TOO_LONG));
    let letters = tenant.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].job_id.as_str(), letters[0].reason_code.as_str()),
        (forever.as_str(), RATE_LIMIT_TOO_LONG)
    );
    let error = &letters[0].last_error;
    for part in [
        "hostile fixture: wait until the end of time",
        FOREVER,
        "ceiling of 1 d",
    ] {
        assert!(error.contains(part), "`{part}` in: {error}");
    }
    // One run, recorded as such: no panic left the job running under a lease to be retried.
    let attempts = tenant.attempts(&forever).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(
        (
            attempts[0].outcome.as_str(),
            attempts[0].error_code.as_deref()
        ),
        ("dead", Some(RATE_LIMIT_TOO_LONG))
    );
}

//! The host's clock jumping an hour forward and back, with the pipeline's hand-moved clock (the
//! OS clock of a shared machine cannot move): the pipeline runs on SQLite in process, the real
//! runtime runs the pipeline fixture against the test platform.
//!
//! What the host documents and these cases hold it to: a lease is taken until claim time plus
//! its length by the claiming clock, and a run's outcome is written only while its lease holds,
//! so a job whose lease looks ended is run again from its recovery point (never posted twice); a
//! scheduled post runs once the clock reaches its time, and once only; rate budgets run on the
//! monotonic clock (GCRA over `Instant`, or Redis `TIME`), so a jump of the wall clock neither
//! refills nor drains them, while the due time of a job held for room is wall-clock time.

use std::time::Duration;

use postd_host::jobs::Clock;
use postd_host::store::{JobState, NewPost};

use crate::support::eventually;
use crate::support::pipeline::{Harness, Kind, new_post, plugin_entry};

const HOUR: i64 = 3_600_000;

/// A fresh SQLite harness with connection `conn-1` of tenant `acme`.
async fn harness() -> Harness {
    let h = Harness::new(Kind::Sqlite).await;
    h.connect("acme", "conn-1").await;
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jumping_ahead_mid_job_reruns_it_from_its_recovery_point_and_posts_once() {
    let h = harness().await;
    h.platform.with(|s| s.hold_publishes = true);
    let job = h.post_job("acme", "conn-1", "k1", "hello").await;
    let held = |n: usize| {
        let platform = h.platform.clone();
        move || {
            let platform = platform.clone();
            async move { platform.with(|s| s.publishes_held) == n }
        }
    };
    let first = tokio::spawn({
        let pipeline = h.pipeline.clone();
        async move { pipeline.run_due().await }
    });
    eventually(Duration::from_secs(60), "the first run to publish", held(1)).await;
    // An hour later by the clock, the first run's lease looks long over: the job is claimed
    // again and resumes from the draft it checkpointed.
    h.clock.advance(HOUR);
    let second = tokio::spawn({
        let pipeline = h.pipeline.clone();
        async move { pipeline.run_due().await }
    });
    eventually(
        Duration::from_secs(60),
        "the second run to publish",
        held(2),
    )
    .await;
    h.platform.with(|s| s.hold_publishes = false);
    first.await.unwrap();
    second.await.unwrap();

    let job = h.store.tenant("acme").job(&job).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Published, 2));
    assert_eq!(
        h.platform.drafts_for(&job.id),
        1,
        "the rerun reused the draft"
    );
    assert_eq!(h.platform.posts_for(&job.id), 1, "posted exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jumping_back_holds_an_abandoned_lease_until_its_end_comes_round_again() {
    let h = harness().await;
    let job = h.post_job("acme", "conn-1", "k1", "hello").await;
    // A worker claims the job for 2 s and dies.
    let start = h.clock.now();
    let claimed = h
        .store
        .claim_due("dead-worker", start, 2_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    h.clock.set(start - HOUR);
    assert_eq!(
        h.pipeline.run_due().await,
        0,
        "by a clock an hour back the lease has an hour and 2 s to run"
    );
    h.clock.set(start + 1_999);
    assert_eq!(h.pipeline.run_due().await, 0, "the lease still holds");
    h.clock.set(start + 2_001);
    assert_eq!(
        h.pipeline.run_due().await,
        1,
        "the lease ended: claimed again"
    );

    let job = h.store.tenant("acme").job(&job).await.unwrap();
    assert_eq!(job.state, JobState::Published);
    assert_eq!(h.platform.posts_for(&job.id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_post_runs_when_the_clock_reaches_it_and_once_whatever_the_jumps() {
    let h = harness().await;
    let start = h.clock.now();
    let post = NewPost {
        scheduled_for: Some(start + HOUR / 2),
        ..new_post("conn-1", "k1", "in half an hour", &[])
    };
    let accepted = h.pipeline.accept("acme", &post).await.unwrap();
    let job = accepted.post().jobs[0].id.clone();

    h.clock.set(start - HOUR);
    assert_eq!(h.pipeline.run_due().await, 0, "an hour back: not due");
    h.clock.set(start);
    assert_eq!(h.pipeline.run_due().await, 0, "half an hour early: not due");
    h.clock.set(start + HOUR);
    assert_eq!(h.pipeline.run_due().await, 1, "an hour ahead: overdue, run");
    h.clock.set(start - HOUR);
    assert_eq!(
        h.pipeline.run_due().await,
        0,
        "back again: nothing runs twice"
    );
    h.clock.set(start + 2 * HOUR);
    assert_eq!(h.pipeline.run_due().await, 0);

    let job = h.store.tenant("acme").job(&job).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Published, 1));
    assert_eq!(h.platform.posts_for(&job.id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jump_neither_refills_nor_drains_a_rate_budget() {
    let h = harness().await;
    // Two requests per 10 s: one post (a draft and its publish) empties the bucket, the next
    // post has room 5 s later (GCRA: one request per 5 s, a burst of two).
    let mut entry = plugin_entry(&h.platform);
    entry.rate_limit = Some(postd_host::capability::http::Budget::per_seconds(2, 10));
    h.runtime.configure_plugin(entry).await.unwrap();
    let jobs = [
        h.post_job("acme", "conn-1", "k1", "first").await,
        h.post_job("acme", "conn-1", "k2", "second").await,
    ];
    let tenant = h.store.tenant("acme");
    let state = |id: &str| {
        let tenant = tenant.clone();
        let id = id.to_string();
        async move { tenant.job(&id).await.unwrap() }
    };
    // Runs until one job went out; the other waits for room, no attempt spent.
    eventually(Duration::from_secs(30), "one post published", || async {
        h.pipeline.run_due().await;
        let mut published = 0;
        for job in &jobs {
            published += usize::from(state(job).await.state == JobState::Published);
        }
        published == 1
    })
    .await;
    let mut waiting = None;
    for job in &jobs {
        if state(job).await.state != JobState::Published {
            waiting = Some(job.clone());
        }
    }
    let waiting = waiting.unwrap();
    let held = state(&waiting).await;
    assert_eq!((held.state, held.attempts), (JobState::Queued, 0));
    assert!(h.pipeline.jobs_held() > 0, "the budget bound");

    // An hour ahead: due by the clock, but the bucket (monotonic time) has no more room than a
    // moment ago, so the run is held again without an attempt or a request.
    h.clock.advance(HOUR);
    let held_before = h.pipeline.jobs_held();
    h.pipeline.run_due().await;
    let after = state(&waiting).await;
    assert_eq!((after.state, after.attempts), (JobState::Queued, 0));
    assert!(h.pipeline.jobs_held() > held_before, "held again");
    assert_eq!(
        h.platform.drafts_for(&waiting),
        0,
        "nothing was sent for it"
    );

    // Back an hour: the job's due time is the clock's, now an hour away, so it waits even once
    // the bucket has room again.
    h.clock.advance(-HOUR);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(h.pipeline.run_due().await, 0, "not due by the clock");
    // Once the clock reaches it, it is published, once.
    eventually(
        Duration::from_secs(30),
        "the held post published",
        || async {
            h.clock
                .set(h.clock.now().max(state(&waiting).await.next_run_at));
            h.pipeline.run_due().await;
            state(&waiting).await.state == JobState::Published
        },
    )
    .await;
    for job in &jobs {
        assert_eq!(h.platform.posts_for(job), 1, "job {job} posted once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jumping_past_every_token_expiry_refreshes_each_connection_once() {
    let h = Harness::new(Kind::Sqlite).await;
    let connections: Vec<(String, String)> = (1..=5)
        .map(|n| (format!("tenant-{n}"), format!("conn-{n}")))
        .collect();
    for (tenant, id) in &connections {
        h.connect(tenant, id).await;
    }
    let exchanges = || h.platform.with(|s| s.token_exchanges);
    let codes = exchanges();
    assert_eq!(
        h.pipeline.refresh_due_connections().await,
        0,
        "tokens are fresh (2 h)"
    );

    // Three hours ahead every token (2 h, refreshed 1 h before) looks expired at once. Two
    // scheduler passes at the same time (two replicas' ticks) refresh each connection once.
    h.clock.advance(3 * HOUR);
    let jumped = h.clock.now();
    let (a, b) = tokio::join!(
        h.pipeline.refresh_due_connections(),
        h.pipeline.refresh_due_connections()
    );
    assert_eq!(a + b, 5, "one refresh per connection between both passes");
    assert_eq!(exchanges() - codes, 5, "one token exchange per connection");
    assert_eq!(
        h.platform.with(|s| s.reused_refresh),
        0,
        "no refresh token sent twice"
    );
    // The connector stamped the new tokens with the host's clock: they expire two hours after
    // the jump, so the next pass finds nothing due (with the OS clock in the guest they looked
    // expired still, and were refreshed again).
    for (tenant, id) in &connections {
        let c = h.store.tenant(tenant).connection(id).await.unwrap();
        let expires_at = c.expires_at.expect("an expiry");
        assert!(
            (jumped + 2 * HOUR - 5_000..=jumped + 2 * HOUR + 60_000).contains(&expires_at),
            "{id} expires {} s after the jump",
            (expires_at - jumped) / 1000
        );
    }
    assert_eq!(h.pipeline.refresh_due_connections().await, 0);

    // Back three hours: the tokens are five hours from expiry; nothing to do.
    h.clock.advance(-3 * HOUR);
    assert_eq!(h.pipeline.refresh_due_connections().await, 0);
    assert_eq!(exchanges() - codes, 5);

    // When the moved clock reaches the refresh window again, the schedule runs once more.
    h.clock.set(jumped + HOUR + 1_000);
    assert_eq!(h.pipeline.refresh_due_connections().await, 5);
    assert_eq!(exchanges() - codes, 10);
    assert_eq!(h.platform.with(|s| s.reused_refresh), 0);
}

//! A tenant at its egress ceiling: jobs wait for room in their rate buckets without running
//! (nothing instantiated, no attempt recorded), instead of running only to be refused. Every
//! attempt recorded sent something to the platform, and every post is published exactly once.

use std::time::Duration;

use postd_host::store::JobState;

use crate::on_both_backends;
use crate::support::{Harness, Setup, eventually};

on_both_backends!(
    a_tenant_at_its_ceiling_waits_its_turn_without_futile_attempts,
    a_claim_leaves_held_tenants_and_connections_queued_but_takes_abandoned_leases,
    a_claim_takes_no_more_jobs_of_a_plugin_short_of_room_than_its_room,
    jobs_of_a_plugin_running_all_its_calls_wait_in_the_queue_without_an_attempt,
    a_claim_takes_no_more_jobs_of_a_scope_whose_hold_just_ended_than_its_bucket_admitted,
);

/// Posts sent at once: many more than the ceiling admits in a burst.
const POSTS: usize = 40;
/// The tenant's own ceiling, requests a second (the pipeline fixture sends two per post).
const CEILING: u32 = 20;

async fn a_tenant_at_its_ceiling_waits_its_turn_without_futile_attempts(
    kind: crate::support::Kind,
) {
    let mut setup = Setup::new(kind);
    setup.system_clock = true;
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    h.runtime.tenant_ceilings().set("acme", Some(CEILING));
    // The connection's OAuth exchange above spent part of the burst; the rest of the run has
    // 80 requests to send at 20 a second.
    let jobs = publish_all(&h, POSTS).await;
    let tenant = h.store.tenant("acme");

    for job in &jobs {
        let sent = h.platform.drafts_for(job) + h.platform.posts_for(job);
        assert_eq!(h.platform.posts_for(job), 1, "job {job} published once");
        let attempts = tenant.attempts(job).await.unwrap();
        assert!(
            attempts.len() <= sent,
            "job {job}: {} attempts for {sent} requests sent — a run refused before it sent anything was recorded: {attempts:?}",
            attempts.len()
        );
        assert_eq!(
            attempts.iter().filter(|a| a.outcome == "published").count(),
            1
        );
    }
    // The ceiling did bind: runs were put back to wait for room.
    assert!(
        h.pipeline.jobs_held() > 0,
        "no run was held: the test no longer exercises the ceiling"
    );
}

/// The claim's exclusions as SQL on each database: queued jobs of a held tenant, and of a held
/// (tenant, connection) pair, stay queued; another connection of the same tenant is claimed; a
/// job whose lease ran out (its worker died) is taken back whatever holds its scope.
async fn a_claim_leaves_held_tenants_and_connections_queued_but_takes_abandoned_leases(
    kind: crate::support::Kind,
) {
    use postd_host::store::HeldScopes;
    let h = Harness::new(kind).await;
    for (tenant, connection) in [("acme", "c1"), ("acme", "c2"), ("globex", "g1")] {
        h.connect(tenant, connection).await;
    }
    let abandoned = h.post_job("acme", "c1", "abandoned", "abandoned").await;
    let now = h.pipeline.now();
    let first = h
        .store
        .claim_due("dead-worker", now, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    let held_connection = h.post_job("acme", "c1", "held-c1", "one").await;
    let free = h.post_job("acme", "c2", "free-c2", "two").await;
    let held_tenant = h.post_job("globex", "g1", "held-g1", "three").await;
    let held = HeldScopes {
        tenants: vec!["globex".into()],
        connections: vec![("acme".into(), "c1".into())],
        ..HeldScopes::default()
    };
    let got = claimed_ids(&h, now + 5_000, &held).await;
    let mut expected = vec![abandoned.clone(), free.clone()];
    expected.sort();
    assert_eq!(
        got, expected,
        "the free connection's job and the abandoned lease"
    );
    for (tenant, job) in [("acme", &held_connection), ("globex", &held_tenant)] {
        let job = h.store.tenant(tenant).job(job).await.unwrap();
        assert_eq!(job.state, JobState::Queued, "{job:?}");
    }
}

/// A plugin that can start only so many calls: a claim takes at most that many of its queued
/// jobs, oldest first, and none when it can start none; the held tenants' exclusions still apply
/// to what it takes.
async fn a_claim_takes_no_more_jobs_of_a_plugin_short_of_room_than_its_room(
    kind: crate::support::Kind,
) {
    use postd_host::store::HeldScopes;
    let h = Harness::new(kind).await;
    h.connect("acme", "c1").await;
    h.connect("globex", "g1").await;
    let held_tenant = h.post_job("globex", "g1", "g-0", "held").await;
    let mut jobs = Vec::new();
    for n in 0..4 {
        jobs.push(h.post_job("acme", "c1", &format!("a-{n}"), "post").await);
    }
    let later = h.pipeline.now() + 5_000;
    let claim = |room: u32| {
        let h = &h;
        async move {
            let held = HeldScopes {
                tenants: vec!["globex".into()],
                plugins: vec![("pipeline".into(), room)],
                ..HeldScopes::default()
            };
            h.store
                .claim_due_except("worker", later, 60_000, 10, &held)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.job.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(claim(0).await, Vec::<String>::new(), "no room, no claim");
    let one = claim(1).await;
    let two = claim(2).await;
    assert_eq!((one.len(), two.len()), (1, 2), "{one:?} {two:?}");
    let mut claimed: Vec<String> = one.into_iter().chain(two).collect();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 3, "three different jobs");
    assert!(claimed.iter().all(|j| jobs.contains(j)), "{claimed:?}");
    let job = h.store.tenant("globex").job(&held_tenant).await.unwrap();
    assert_eq!(job.state, JobState::Queued, "the held tenant's job stays");
}

/// A plugin already running every call it may (`max_concurrency`): its other jobs wait in the
/// queue — claims take no more of them than it can start, and one claimed in a race goes back
/// without an attempt — rather than hold job slots waiting for a permit (where they would keep
/// other plugins' jobs from running), and each still publishes exactly once.
async fn jobs_of_a_plugin_running_all_its_calls_wait_in_the_queue_without_an_attempt(
    kind: crate::support::Kind,
) {
    const POSTS: usize = 12;
    let mut setup = Setup::new(kind);
    setup.system_clock = true;
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    let mut entry = crate::support::plugin_entry(&h.platform);
    entry.limits.max_concurrency = 2;
    h.runtime.reconfigure(entry).await.unwrap();
    h.platform.seen.lock().unwrap().publish_delay = Duration::from_millis(150);
    let jobs = publish_all(&h, POSTS).await;
    let tenant = h.store.tenant("acme");

    for job in &jobs {
        assert_eq!(h.platform.posts_for(job), 1, "job {job} published once");
        let attempts = tenant.attempts(job).await.unwrap();
        assert_eq!(
            attempts.len(),
            1,
            "job {job}: a run handed back for a busy plugin was recorded: {attempts:?}"
        );
    }
    assert_eq!(
        h.platform.with(|s| s.most_publishing),
        2,
        "the plugin ran its two calls at once (saturated), never more"
    );
}

/// Posts `posts` posts to connection `conn-1` of tenant `acme`, runs the workers until every
/// one is published, and returns their job ids.
async fn publish_all(h: &Harness, posts: usize) -> Vec<String> {
    let mut jobs = Vec::with_capacity(posts);
    for n in 0..posts {
        jobs.push(
            h.post_job("acme", "conn-1", &format!("key-{n}"), &format!("post {n}"))
                .await,
        );
    }
    let workers = h.pipeline.start();
    let tenant = h.store.tenant("acme");
    eventually(Duration::from_secs(60), "every post published", || async {
        tenant
            .jobs(Some(JobState::Published), 1000)
            .await
            .unwrap()
            .len()
            == posts
    })
    .await;
    workers.stop().await;
    jobs
}

/// A tenant or connection whose hold just ended: a claim takes only its room of their queued
/// jobs (oldest first), the rest of the queue as usual, and held scopes stay excluded.
async fn a_claim_takes_no_more_jobs_of_a_scope_whose_hold_just_ended_than_its_bucket_admitted(
    kind: crate::support::Kind,
) {
    use postd_host::store::HeldScopes;
    let h = Harness::new(kind).await;
    for (tenant, connection) in [
        ("acme", "a1"),
        ("globex", "g1"),
        ("globex", "g2"),
        ("initech", "i1"),
    ] {
        h.connect(tenant, connection).await;
    }
    let mut acme = Vec::new();
    for n in 0..4 {
        acme.push(h.post_job("acme", "a1", &format!("a-{n}"), "post").await);
    }
    let mut g1 = Vec::new();
    for n in 0..3 {
        g1.push(h.post_job("globex", "g1", &format!("g1-{n}"), "post").await);
    }
    let g2 = h.post_job("globex", "g2", "g2-0", "post").await;
    h.post_job("initech", "i1", "i-0", "held").await;
    let held = HeldScopes {
        tenants: vec!["initech".into()],
        limited: vec![
            ("acme".into(), None, 2),
            ("globex".into(), Some("g1".into()), 1),
        ],
        ..HeldScopes::default()
    };
    let claimed = claimed_ids(&h, h.pipeline.now() + 5_000, &held).await;
    let mut expected = vec![acme[0].clone(), acme[1].clone(), g1[0].clone(), g2];
    expected.sort();
    assert_eq!(
        claimed, expected,
        "two of acme's, the oldest of g1's, g2's, none of initech's"
    );
}

/// The ids of the jobs a claim at `at` leaving `held` alone takes, sorted.
async fn claimed_ids(
    h: &Harness,
    at: postd_host::store::Millis,
    held: &postd_host::store::HeldScopes,
) -> Vec<String> {
    let mut ids: Vec<String> = h
        .store
        .claim_due_except("worker", at, 60_000, 10, held)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.job.id)
        .collect();
    ids.sort();
    ids
}

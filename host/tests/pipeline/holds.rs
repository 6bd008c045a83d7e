//! A tenant at its egress ceiling: jobs wait for room in their rate buckets without running
//! (nothing instantiated, no attempt recorded), instead of running only to be refused. Every
//! attempt recorded sent something to the platform, and every post is published exactly once.

use std::time::Duration;

use postd_host::store::JobState;

use crate::on_both_backends;
use crate::support::{Harness, Setup, eventually};

on_both_backends!(a_tenant_at_its_ceiling_waits_its_turn_without_futile_attempts);

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
    let mut jobs = Vec::with_capacity(POSTS);
    for n in 0..POSTS {
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
            == POSTS
    })
    .await;
    workers.stop().await;

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

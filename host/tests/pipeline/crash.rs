//! `kill -9` of real worker processes mid-job: nothing lost, nothing posted twice.

use std::time::Duration;

use postd_host::store::JobState;

use crate::on_both_backends;
use crate::support::{Harness, Kind, eventually};

on_both_backends!(killing_workers_mid_job_loses_nothing_and_posts_nothing_twice);

const JOBS: usize = 40;
const KILLS: usize = 6;

async fn killing_workers_mid_job_loses_nothing_and_posts_nothing_twice(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    // Every publish takes a while, so kills land between the draft (checkpointed) and the
    // publish, and during the publish itself.
    h.platform
        .with(|s| s.publish_delay = Duration::from_millis(150));
    let mut jobs = Vec::new();
    for n in 0..JOBS {
        let accepted = h
            .post(
                "acme",
                "conn-1",
                &format!("key-{n}"),
                &format!("post {n}"),
                &[],
            )
            .await;
        jobs.push(accepted.post().jobs[0].id.clone());
    }
    let drafts = || h.platform.with(|s| s.drafts.len());
    for round in 0..KILLS {
        let before = drafts();
        let worker = h.spawn_worker(&format!("doomed-{round}"), 4);
        // Wait until this worker is inside a job (it created a draft), then kill it.
        eventually(
            Duration::from_secs(90),
            "the worker to start a job",
            || async { drafts() > before },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..200))).await;
        worker.kill_9();
    }
    let survivor = h.spawn_worker("survivor", 8);
    let tenant = h.store.tenant("acme");
    eventually(
        Duration::from_secs(120),
        "every job to be published",
        || async {
            tenant
                .jobs(Some(JobState::Published), 1000)
                .await
                .unwrap()
                .len()
                == JOBS
        },
    )
    .await;
    survivor.kill_9();

    let mut rerun = 0;
    for job in &jobs {
        assert_eq!(
            h.platform.posts_for(job),
            1,
            "job {job} went live exactly once"
        );
        let attempts = tenant.job(job).await.unwrap().attempts;
        if attempts > 1 || h.platform.drafts_for(job) > 1 {
            rerun += 1;
        }
    }
    assert!(rerun > 0, "the kills interrupted jobs that then ran again");
    assert!(tenant.dead_letters(100).await.unwrap().is_empty());
}

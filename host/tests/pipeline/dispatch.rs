//! Redis dispatch across processes: shared work, exactly once, lost messages recovered.

use std::collections::HashSet;
use std::time::Duration;

use postd_host::jobs::DispatchSettings;
use postd_host::store::JobState;

use crate::support::{Harness, Kind, Setup, eventually, new_post};

const JOBS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_postgres_and_redis_run_1000_jobs_exactly_once() {
    let h = Harness::new(Kind::PostgresRedis).await;
    h.connect("acme", "conn-1").await;
    let workers = [h.spawn_worker("host-a", 16), h.spawn_worker("host-b", 16)];
    let mut jobs = Vec::with_capacity(JOBS);
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
    let tenant = h.store.tenant("acme");
    eventually(
        Duration::from_secs(240),
        "every job to be published",
        || async {
            tenant
                .jobs(Some(JobState::Published), 5000)
                .await
                .unwrap()
                .len()
                == JOBS
        },
    )
    .await;
    drop(workers);
    let mut hosts = HashSet::new();
    for job in &jobs {
        assert_eq!(
            (h.platform.drafts_for(job), h.platform.posts_for(job)),
            (1, 1),
            "job {job} ran once"
        );
        // Runs that waited out the host's own egress budget (the tenant ceiling, shared by both
        // hosts through Redis) did nothing on the platform; exactly one run published.
        let attempts = tenant.attempts(job).await.unwrap();
        let published: Vec<_> = attempts
            .iter()
            .filter(|a| a.outcome == "published")
            .collect();
        assert_eq!(published.len(), 1, "job {job}: {attempts:?}");
        assert!(
            attempts
                .iter()
                .all(|a| a.outcome == "published" || a.outcome == "rate-limited"),
            "{attempts:?}"
        );
        hosts.insert(published[0].worker.clone());
    }
    assert_eq!(
        hosts,
        HashSet::from(["host-a".to_string(), "host-b".to_string()]),
        "both hosts took work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_stream_message_was_lost_is_recovered_from_the_database() {
    let mut setup = Setup::new(Kind::PostgresRedis);
    setup.system_clock = true;
    setup.dispatch = DispatchSettings {
        lost_after: Duration::from_millis(300),
        sweep_every: Duration::from_millis(200),
        ..DispatchSettings::default()
    };
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    let workers = h.pipeline.start();
    // Stored, never announced: as if the process died between the commit and XADD, or Redis
    // lost the message.
    let tenant = h.store.tenant("acme");
    let accepted = tenant
        .accept(
            &new_post("conn-1", "key-1", "hello", &[]),
            &|_| false,
            h.pipeline.now(),
        )
        .await
        .unwrap();
    let job = accepted.post().jobs[0].id.clone();
    eventually(
        Duration::from_secs(30),
        "the job to be published",
        || async { tenant.job(&job).await.unwrap().state == JobState::Published },
    )
    .await;
    workers.stop().await;
    assert_eq!(h.platform.posts_for(&job), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_workers_on_sqlite_publish_as_jobs_arrive() {
    let mut setup = Setup::new(Kind::Sqlite);
    setup.system_clock = true;
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    let workers = h.pipeline.start();
    let tenant = h.store.tenant("acme");
    let mut jobs = Vec::new();
    for n in 0..20 {
        jobs.push(
            h.post("acme", "conn-1", &format!("key-{n}"), "hello", &[])
                .await
                .post()
                .jobs[0]
                .id
                .clone(),
        );
    }
    eventually(
        Duration::from_secs(30),
        "every job to be published",
        || async {
            tenant
                .jobs(Some(JobState::Published), 100)
                .await
                .unwrap()
                .len()
                == jobs.len()
        },
    )
    .await;
    workers.stop().await;
    for job in &jobs {
        assert_eq!(h.platform.posts_for(job), 1);
    }
}

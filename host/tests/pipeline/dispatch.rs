//! Dispatch through the database across processes: shared work, exactly once; replicas woken
//! by each other's notifications; work nobody announced found by the poll.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use postd_host::jobs::{DispatchSettings, Dispatcher, Pipeline, PipelineSettings, SystemClock};
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
        // The tenant ceiling (shared by both hosts through Redis) binds: jobs wait for room
        // without running, so every attempt recorded sent something; exactly one published.
        let attempts = tenant.attempts(job).await.unwrap();
        assert!(
            attempts.len() <= 2,
            "job {job}: an attempt that sent nothing was recorded: {attempts:?}"
        );
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
async fn a_job_stored_but_never_announced_is_found_by_the_poll() {
    let mut setup = Setup::new(Kind::PostgresRedis);
    setup.system_clock = true;
    setup.dispatch = DispatchSettings {
        poll: Duration::from_millis(200),
        ..DispatchSettings::default()
    };
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    let workers = h.pipeline.start();
    // Stored, never announced: as if the process died between the commit and its wake-up.
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

/// Two replicas on one PostgreSQL database: the harness's pipeline accepts (and runs no
/// workers); another, polling only once a minute, runs them. It can only learn of the work in
/// time through the accepting replica's notifications: a post due now, and one scheduled a
/// few seconds ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_accepted_on_one_replica_wakes_another_at_once_and_when_due() {
    let mut setup = Setup::new(Kind::Postgres);
    setup.system_clock = true;
    let h = Harness::start(setup).await;
    h.connect("acme", "conn-1").await;
    let settings = PipelineSettings {
        worker_id: "replica-b".into(),
        dispatch: DispatchSettings {
            poll: Duration::from_secs(60),
            ..DispatchSettings::default()
        },
        ..PipelineSettings::default()
    };
    let replica_b = Pipeline::new(
        h.store.clone(),
        h.runtime.clone(),
        Arc::new(SystemClock),
        Dispatcher::postgres(&h.store, &h.db.url),
        settings,
    );
    let workers = replica_b.start();
    // Let replica B's first (empty) claim happen and its listener start.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let tenant = h.store.tenant("acme");
    let now_job = h.post_job("acme", "conn-1", "key-now", "now").await;
    let mut later = new_post("conn-1", "key-later", "later", &[]);
    later.scheduled_for = Some(h.pipeline.now() + 3_000);
    let later_job = h.pipeline.accept("acme", &later).await.unwrap().post().jobs[0]
        .id
        .clone();
    assert_eq!(
        tenant.job(&later_job).await.unwrap().state,
        JobState::Queued
    );
    for (job, what) in [
        (&now_job, "the post due now"),
        (&later_job, "the scheduled post"),
    ] {
        eventually(Duration::from_secs(20), what, || async {
            tenant.job(job).await.unwrap().state == JobState::Published
        })
        .await;
    }
    workers.stop().await;
    let attempts = tenant.attempts(&later_job).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].worker, "replica-b");
    assert!(
        attempts[0].started_at >= later.scheduled_for.unwrap(),
        "not run before its time"
    );
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

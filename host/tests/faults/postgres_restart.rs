//! PostgreSQL stopped and started again (`-m fast`, then `-m immediate`) while posts are in
//! flight across two replicas (PostgreSQL + Redis). While it is down both APIs answer 503
//! `unavailable`; once it is back the same processes accept again, the posts refused meanwhile
//! are accepted when offered again under their keys, no job stays `running` past its lease, and
//! every accepted post is published exactly once, counted on the platform.

use std::time::{Duration, Instant};

use postd_host::store::Store;

use crate::support::host::{Fleet, connect, plugins_toml};
use crate::support::load::{
    Load, all_published, assert_exactly_once, job_states, keys, reruns, stale_leases,
};
use crate::support::pipeline::REDIS_URL;
use crate::support::postgres::{Postgres, Shutdown};
use crate::support::{Platform, secs, timed};

/// Posts accepted in all, unless `POSTD_RESTART_POSTS` says otherwise (`make soak`: 1,000).
const POSTS: usize = 200;
/// Posts offered while the database is down (each refused, offered again once it is back).
const DURING: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_under_load_loses_nothing_and_posts_each_once() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start().await;
    // Publishing takes a while, so the restarts land on jobs between draft and publish.
    platform.with(|s| s.publish_delay = Duration::from_millis(100));
    let fleet = Fleet {
        database_url: postgres.url.clone(),
        // The shared Redis, under a namespace of this process (the pipeline suite's cleanup
        // removes it once the process is gone); only PostgreSQL fails here.
        redis: Some((REDIS_URL.into(), namespace())),
        data_dir: dir.path().into(),
        dir: dir.path().into(),
        lease_secs: 5,
    };
    let api_key = fleet.tenant_key("acme").await;
    let plugins = plugins_toml(&platform, "");
    let mut a = fleet.start("replica-a", 4, &plugins).await;
    let mut b = fleet.start("replica-b", 4, &plugins).await;
    let connection = connect(&a, &api_key).await;
    let store = Store::connect(&postgres.url).await.unwrap();
    let posts = std::env::var("POSTD_RESTART_POSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(POSTS);
    let all = keys("post", 0, posts);
    let batch = (posts - 2 * DURING) / 3;
    let mut load = Load::default();
    let mut offered = 0;

    for how in [Shutdown::Fast, Shutdown::Immediate] {
        // A batch in flight when the database goes.
        load.offer(
            &[&a, &b],
            &api_key,
            &connection,
            &all[offered..offered + batch],
        )
        .await;
        offered += batch;
        let down = Instant::now();
        postgres.stop(how);
        let during = &all[offered..offered + DURING];
        offered += DURING;
        let before = load.refusals.len();
        let asked = Instant::now();
        let both = [&a, &b];
        let (_, ready_a, ready_b) = tokio::join!(
            load.offer(&both, &api_key, &connection, during),
            a.ready(),
            b.ready()
        );
        let answered = asked.elapsed();
        let refused = &load.refusals[before..];
        assert_eq!(
            refused.len(),
            DURING,
            "nothing is accepted while the database is down"
        );
        for refusal in refused {
            assert_eq!(
                (refusal.0, refusal.1.as_str()),
                (503, "unavailable"),
                "a post offered while the database is down"
            );
        }
        assert_eq!(
            (ready_a, ready_b),
            (503, 503),
            "not ready while the database is down"
        );
        let outage = down.elapsed();
        postgres.start_again();
        let back = Instant::now();
        // The same processes, with pools that reconnect by themselves.
        let ready = timed(
            Duration::from_secs(60),
            "both replicas ready again",
            || async { a.ready().await == 200 && b.ready().await == 200 },
        )
        .await;
        let retries = load
            .offer_until_accepted(&[&a, &b], &api_key, &connection, &all[..offered])
            .await;
        let accepting = back.elapsed();
        // Jobs whose worker lost its lease to the outage are claimed again.
        let leases = timed(
            Duration::from_secs(60),
            "no job running past its lease",
            || async { stale_leases(&store, Duration::ZERO).await == 0 },
        )
        .await;
        eprintln!(
            "faults: postgres {how:?}: down {:.1} s ({DURING} posts refused 503 `unavailable`, \
             answered within {:.1} s), \
             both replicas ready {:.1} s after the start, refused posts accepted after {:.1} s \
             ({retries} offers), no lease overdue after {:.1} s",
            outage.as_secs_f64(),
            answered.as_secs_f64(),
            ready.as_secs_f64(),
            accepting.as_secs_f64(),
            leases.as_secs_f64(),
        );
    }
    load.offer(&[&a, &b], &api_key, &connection, &all[offered..])
        .await;
    assert_eq!(load.accepted.len(), posts, "{:?}", load.pending(&all));

    let settled = Instant::now();
    all_published(&store, &load, &[&a, &b], Duration::from_secs(120)).await;
    assert_exactly_once(&platform, &load);
    let states = job_states(&store).await;
    assert_eq!(states.len(), 1, "every job is published: {states:?}");
    let reruns = reruns(&store).await;
    assert!(a.running() && b.running(), "neither replica exited");
    eprintln!(
        "faults: postgres: {posts} posts accepted, all published {:.1} s after the last \
         batch, each exactly once on the platform, {reruns} jobs run more than once",
        secs(settled)
    );
}

/// A Redis key namespace of this process (`postd_test_<pid>_…:`, the pipeline suite's form).
fn namespace() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("postd_test_{}_{nanos:x}:", std::process::id())
}

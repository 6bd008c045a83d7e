//! Redis lost (SIGKILL) and brought back empty while two replicas on PostgreSQL publish under a
//! shared rate budget. The documented fallback: when Redis cannot be reached, rate decisions use
//! each replica's own buckets (logged) rather than stopping egress; refresh locks fall to
//! nothing to take (no refresh runs here). So dispatch carries on through the outage, the
//! buckets are back in Redis once it returns, and every accepted post is published exactly once.

use std::time::{Duration, Instant};

use postd_host::store::Store;

use crate::support::host::{Fleet, connect, plugins_toml};
use crate::support::load::{Load, all_published, assert_exactly_once, keys};
use crate::support::pipeline::{Database, Kind};
use crate::support::redis::Redis;
use crate::support::{Platform, eventually};

/// Posts per phase (before, during and after the outage).
const PHASE: usize = 60;
/// The shared budget: 40 requests a second per connection (the fixture sends two per post).
const RATE_LIMIT: &str = "rate_limit = { requests = 40, per_seconds = 1 }\n";
/// What a replica logs when it falls back to its own buckets (`rate_redis.rs`).
const FALLBACK_LOG: &str = "Redis rate limiter unavailable; using this replica's buckets";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_under_load_falls_back_to_local_budgets_and_posts_each_once() {
    let db = Database::create(Kind::Postgres).await;
    let mut redis = Redis::start().await;
    let platform = Platform::start().await;
    let namespace = db.namespace.clone();
    let fleet = Fleet::on(&db, &redis, 5);
    let api_key = fleet.tenant_key("acme").await;
    let plugins = plugins_toml(&platform, RATE_LIMIT);
    let mut a = fleet.start("replica-a", 4, &plugins).await;
    let mut b = fleet.start("replica-b", 4, &plugins).await;
    let connection = connect(&a, &api_key).await;
    let store = Store::connect(&db.url).await.unwrap();
    let buckets = format!("{namespace}rate:*");
    let mut load = Load::default();

    // Before: the budget's buckets live in Redis.
    load.offer(&[&a, &b], &api_key, &connection, &keys("before", 0, PHASE))
        .await;
    eventually(Duration::from_secs(30), "rate buckets in Redis", || async {
        redis.keys(&buckets).await.is_some_and(|k| !k.is_empty())
    })
    .await;
    all_published(&store, &load, &[&a, &b], Duration::from_secs(120)).await;

    // Redis lost: posts are accepted and published all the same, on per-replica budgets.
    redis.lose();
    let lost = Instant::now();
    let during = keys("during", 0, PHASE);
    load.offer(&[&a, &b], &api_key, &connection, &during).await;
    assert!(
        load.pending(&during).is_empty(),
        "posts are accepted without Redis: {:?}",
        load.refusals
    );
    let asked = Instant::now();
    let ready_without = (a.ready().await, b.ready().await);
    assert_eq!(
        ready_without,
        (200, 200),
        "replicas stay in service without Redis (README: HTTP API)"
    );
    eprintln!(
        "faults: redis lost: {PHASE} posts accepted by both replicas without it; /readyz \
         answered {ready_without:?} within {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    all_published(&store, &load, &[&a, &b], Duration::from_secs(60)).await;
    let published_without = lost.elapsed();
    assert!(
        a.log_text().contains(FALLBACK_LOG) || b.log_text().contains(FALLBACK_LOG),
        "the fallback to local buckets is logged"
    );
    let outage = lost.elapsed();

    // Back, empty: the buckets are re-established in Redis by the next decisions.
    redis.start_again().await;
    let back = Instant::now();
    load.offer(&[&a, &b], &api_key, &connection, &keys("after", 0, PHASE))
        .await;
    eventually(
        Duration::from_secs(30),
        "rate buckets in Redis again",
        || async { redis.keys(&buckets).await.is_some_and(|k| !k.is_empty()) },
    )
    .await;
    let reestablished = back.elapsed();
    all_published(&store, &load, &[&a, &b], Duration::from_secs(120)).await;
    let published_after = back.elapsed();

    assert_eq!(load.accepted.len(), 3 * PHASE, "{:?}", load.refusals);
    assert_exactly_once(&platform, &load);
    assert!(a.running() && b.running(), "neither replica exited");
    eprintln!(
        "faults: redis lost for {:.1} s: {PHASE} posts accepted and published {:.1} s into the \
         outage; back empty: buckets in Redis again after \
         {:.1} s, the next {PHASE} published after {:.1} s; {} posts, each exactly once",
        outage.as_secs_f64(),
        published_without.as_secs_f64(),
        reestablished.as_secs_f64(),
        published_after.as_secs_f64(),
        load.accepted.len(),
    );
}

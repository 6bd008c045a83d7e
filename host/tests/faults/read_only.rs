//! PostgreSQL refusing writes (`default_transaction_read_only` turned on for the whole cluster
//! and reloaded, as a database whose disk filled, or a replica that was demoted, would) while
//! posts are in flight on one replica: accepts answer 503 `unavailable`, the
//! process stays up, and once writes are allowed again the refused posts are accepted under
//! their keys and every accepted post is published exactly once.

use std::time::{Duration, Instant};

use postd_host::store::Store;

use crate::support::Platform;
use crate::support::host::{Fleet, connect, plugins_toml};
use crate::support::load::{Load, keys, reruns};
use crate::support::postgres::Postgres;

/// Posts offered at a time: before, during and after the refusal.
const BATCH: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_refusing_writes_refuses_posts_clearly_and_loses_none_it_accepted() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start().await;
    platform.with(|s| s.publish_delay = Duration::from_millis(100));
    let fleet = Fleet {
        database_url: postgres.url.clone(),
        redis: None,
        data_dir: dir.path().into(),
        dir: dir.path().into(),
        lease_secs: 5,
    };
    let api_key = fleet.tenant_key("acme").await;
    let mut host = fleet.start("host", 4, &plugins_toml(&platform, "")).await;
    let connection = connect(&host, &api_key).await;
    let store = Store::connect(&postgres.url).await.unwrap();
    let mut load = Load::default();
    load.offer(&[&host], &api_key, &connection, &keys("before", 0, BATCH))
        .await;
    // Those posts are in flight (publishing takes 100 ms) when the fault lands.
    postgres.read_only(true).await;
    let refusing = Instant::now();
    let during = keys("during", 0, BATCH);
    load.offer(&[&host], &api_key, &connection, &during).await;
    assert_eq!(
        load.pending(&during).len(),
        BATCH,
        "nothing is accepted while the database refuses writes"
    );
    for refusal in &load.refusals {
        assert_eq!(
            (refusal.0, refusal.1.as_str()),
            (503, "unavailable"),
            "a post refused by a read-only database"
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(host.running(), "the host outlives a read-only database");
    let outage = refusing.elapsed();

    postgres.read_only(false).await;
    let recovery = load
        .recover(
            &host,
            &api_key,
            &connection,
            &during,
            BATCH,
            (&store, &platform),
            Duration::from_secs(60),
        )
        .await;
    assert!(host.running(), "the same process recovered");
    eprintln!(
        "faults: postgres read-only for {:.1} s ({BATCH} posts refused 503 `unavailable`); \
         writable again: refused posts accepted after {:.1} s ({} offers), all {} \
         published after {:.1} s, each exactly once, {} jobs run more than once",
        outage.as_secs_f64(),
        recovery.accepted_after.as_secs_f64(),
        recovery.offers,
        load.accepted.len(),
        recovery.published_after.as_secs_f64(),
        reruns(&store).await,
    );
}

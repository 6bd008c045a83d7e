//! The disk of a SQLite host filling up (a real 16 MiB tmpfs holding the database, its WAL and
//! the vault key, and a file taking every byte left) while posts are in flight: accepts are
//! refused with 503 `unavailable` (the database refuses the write) instead of being half-stored,
//! the process stays up, and once the space is freed the refused posts are accepted under their
//! keys and every accepted post is published exactly once.

use std::time::{Duration, Instant};

use postd_host::store::Store;

use crate::support::Platform;
use crate::support::disk::SmallDisk;
use crate::support::host::{Fleet, connect, plugins_toml};
use crate::support::load::{Load, keys};

/// Posts offered at a time: before the disk fills, while it is full, after it is freed.
const BATCH: usize = 20;
/// Posts offered on the full disk, at most, waiting for the first refusal.
const MOST_WHILE_FULL: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_posts_clearly_and_loses_none_it_accepted() {
    let disk = SmallDisk::mount(16);
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", disk.path().join("postd.db").display());
    let platform = Platform::start().await;
    platform.with(|s| s.publish_delay = Duration::from_millis(100));
    let fleet = Fleet {
        database_url: database_url.clone(),
        redis: None,
        data_dir: disk.path().into(),
        dir: dir.path().into(),
        lease_secs: 5,
    };
    let api_key = fleet.tenant_key("acme").await;
    let mut host = fleet.start("host", 4, &plugins_toml(&platform, "")).await;
    let connection = connect(&host, &api_key).await;
    let store = Store::connect(&database_url).await.unwrap();
    let mut load = Load::default();
    load.offer(&[&host], &api_key, &connection, &keys("before", 0, BATCH))
        .await;
    // Those posts are in flight (publishing takes 100 ms) when the fault lands.
    // Full: posts are offered until the database cannot take one more.
    let filled = disk.fill();
    let full = Instant::now();
    let mut offered = Vec::new();
    while load.refusals.is_empty() && offered.len() < MOST_WHILE_FULL {
        let next = keys("full", offered.len(), offered.len() + BATCH);
        load.offer(&[&host], &api_key, &connection, &next).await;
        offered.extend(next);
    }
    let accepted_while_full = offered.len() - load.pending(&offered).len();
    assert!(
        !load.refusals.is_empty(),
        "{MOST_WHILE_FULL} posts accepted on a full disk ({} bytes free)",
        disk.available()
    );
    for refusal in &load.refusals {
        assert_eq!(
            (refusal.0, refusal.1.as_str()),
            (503, "unavailable"),
            "a post refused on a full disk answers 503 `unavailable` (README: HTTP API)"
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        host.running(),
        "the host outlives a full disk: {}",
        host.log_text()
    );
    let outage = full.elapsed();
    eprintln!(
        "faults: disk full ({filled} bytes of filler): {accepted_while_full} posts accepted \
         after filling, then {} refused 503 `unavailable`; the host still runs {:.1} s in",
        load.refusals.len(),
        outage.as_secs_f64(),
    );

    // Space again: the refused posts are accepted under their keys, everything is published.
    disk.free();
    let recovery = load
        .recover(
            &host,
            &api_key,
            &connection,
            &offered,
            BATCH,
            (&store, &platform),
            Duration::from_secs(120),
        )
        .await;
    assert!(host.running(), "the same process recovered");
    eprintln!(
        "faults: disk freed: refused posts accepted after {:.1} s ({} offers), all {} \
         published after {:.1} s, each exactly once",
        recovery.accepted_after.as_secs_f64(),
        recovery.offers,
        load.accepted.len(),
        recovery.published_after.as_secs_f64(),
    );
}

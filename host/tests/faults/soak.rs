//! A soak: one `postd-host` process on PostgreSQL + Redis runs all five connectors against the
//! platform sandbox at a steady rate — posts (some scheduled), token refreshes, signed webhooks,
//! health checks every minute — with retention set short, while the case samples what the
//! process and its servers hold: resident memory, open file descriptors, database connections,
//! Redis clients, and the rows of the tables retention must keep bounded (job attempts, webhook
//! events, the health log, the audit log).
//!
//! Asserted: every accepted post ends published (none queued, running, paused or dead-lettered
//! once the load stops), LinkedIn's each made exactly once (the sandbox keeps them); no table keeps a row longer than its retention plus one maintenance
//! pass; descriptors, database connections and Redis clients do not grow after warm-up; and, on
//! runs of ten minutes or more, resident memory at the end is within 10 % of its level after
//! warm-up (the first sixth of the run).
//!
//! `make test` runs it for 60 s with 20 s retention; `POSTD_SOAK_SECS=3600` (`make soak`, with
//! `POSTD_HOST_BIN` naming the release build) runs the hour with 10 minutes' retention.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use postd_host::store::Store;
use postd_sandbox::{DeliveryOptions, Platform, RunningSandbox, Sandbox, SandboxConfig, seed};
use serde_json::json;

use crate::support::host::{Fleet, Host};
use crate::support::load::job_states;
use crate::support::pipeline::{Database, Kind};
use crate::support::redis::Redis;
use crate::support::sandbox::{connect, plugin_toml};

/// How often the maintenance loop runs retention (`jobs/worker.rs`).
const MAINTENANCE: Duration = Duration::from_secs(30);
/// A small video for TikTok, served from loopback.
const VIDEO_BYTES: usize = 64 * 1024;

/// One sample of what the host holds.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    pg_connections: i64,
    redis_clients: i64,
    rows: BTreeMap<&'static str, i64>,
    oldest_secs: BTreeMap<&'static str, i64>,
}

/// What retention keeps bounded: a name, the rows (`COUNT(*)`) and the oldest time that counts
/// (`MIN(..)`). A finished job goes with its attempts once it finished longer ago than the
/// retention, so attempts are bounded through the age of the finished jobs they belong to.
const BOUNDED: [(&str, &str, &str); 5] = [
    ("job_attempts", "job_attempts", "CAST(NULL AS BIGINT)"),
    (
        "finished_jobs",
        "jobs WHERE state IN ('published', 'cancelled', 'deleted')",
        "updated_at",
    ),
    ("webhook_events", "webhook_events", "received_at"),
    ("connection_health", "connection_health", "checked_at"),
    ("audit_log", "audit_log", "at"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_mix_of_all_five_connectors_holds_memory_descriptors_and_tables_flat() {
    let length = Duration::from_secs(
        std::env::var("POSTD_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let long = length >= Duration::from_secs(600);
    let retention = if long {
        Duration::from_secs(600)
    } else {
        Duration::from_secs(20)
    };
    let sample_every = if long {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(5)
    };
    let db = Database::create(Kind::Postgres).await;
    let redis = Redis::start().await;
    let sandbox = Sandbox::start(SandboxConfig {
        // Bodies are not needed; keep the sandbox's own memory small over an hour.
        log_body_limit: 256,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let media = media_server().await;
    let fleet = Fleet::on(&db, &redis, 30);
    let every_minute = "jobs = { health_interval_secs = 60 }\n";
    let plugins: String = [
        Platform::Meta,
        Platform::Linkedin,
        Platform::Tiktok,
        Platform::Gbp,
        Platform::Mailchimp,
    ]
    .into_iter()
    .map(|p| plugin_toml(&sandbox, p, &[media.as_str()], every_minute))
    .collect::<Vec<_>>()
    .join("\n");
    let days = format!("{}", retention.as_secs_f64() / 86_400.0);
    let settings: Vec<(&str, String)> = [
        "POSTD_JOB_RETENTION_DAYS",
        "POSTD_WEBHOOK_RETENTION_DAYS",
        "POSTD_HEALTH_RETENTION_DAYS",
        "POSTD_AUDIT_RETENTION_DAYS",
    ]
    .into_iter()
    .map(|name| (name, days.clone()))
    .collect();
    let host = fleet.start_with("soak", 16, &plugins, &settings).await;
    let key = fleet.tenant_key("soak").await;
    let mut targets = Vec::new();
    for plugin in ["meta", "linkedin", "tiktok", "gbp"] {
        targets.push((plugin, connect(&host, &key, plugin).await));
    }
    let mailchimp = host
        .api
        .post(
            "/v1/connections",
            &key,
            json!({"plugin": "mailchimp", "api_key": seed::MAILCHIMP_API_KEY_US6}),
        )
        .await;
    assert!(mailchimp.status.is_success(), "{mailchimp:?}");
    targets.push(("mailchimp", mailchimp.json["id"].as_str().unwrap().into()));
    let store = Store::open(&db.url).await.unwrap();

    let started = Instant::now();
    let mut samples = vec![sample(&host, &store, &redis, started).await];
    let mut next_sample = sample_every;
    let mut accepted = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0usize;
    while started.elapsed() < length {
        tick.tick().await;
        // A post a second, round robin over LinkedIn, Meta, Google and Mailchimp; a TikTok
        // video every 15 s (its sandbox allows 6 uploads a minute per token); every fifth
        // LinkedIn or Google post scheduled 30 s ahead.
        let plugin = match n % 4 {
            _ if n % 15 == 14 => "tiktok",
            0 => "linkedin",
            1 => "meta",
            2 => "gbp",
            _ => "mailchimp",
        };
        let connection = &targets.iter().find(|(p, _)| *p == plugin).unwrap().1;
        let scheduled = (n.is_multiple_of(5) && matches!(plugin, "linkedin" | "gbp"))
            .then(|| postd_host::time::UnixMs::now().get() / 1000 + 30);
        post(&host, &key, plugin, connection, n, scheduled, &media).await;
        accepted.push((plugin, post_text(n, plugin)));
        if n.is_multiple_of(2) {
            webhook(&sandbox, &host, n).await;
        }
        if n % 30 == 29 {
            for (plugin, connection) in &targets {
                if *plugin != "mailchimp" {
                    refresh(&host, &key, connection).await;
                }
            }
        }
        if started.elapsed() >= next_sample {
            let s = sample(&host, &store, &redis, started).await;
            report(&s);
            samples.push(s);
            next_sample += sample_every;
        }
        n += 1;
    }
    let load = started.elapsed();

    // Drained: every post published (TikTok's processing and Google's review take a minute).
    let drained = Instant::now();
    loop {
        let states = job_states(&store).await;
        let open: i64 = ["queued", "running", "paused"]
            .iter()
            .filter_map(|s| states.get(*s))
            .sum();
        if open == 0 {
            assert_eq!(states.get("dead"), None, "dead letters: {states:?}");
            break;
        }
        assert!(
            drained.elapsed() < Duration::from_secs(300),
            "posts not published 5 min after the load: {states:?}; {}",
            host.log_tail()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // LinkedIn's side (the sandbox keeps its posts): each post made exactly once.
    let mut live = BTreeMap::<String, usize>::new();
    for made in postd_sandbox::platforms::linkedin::posts(sandbox.state()) {
        *live
            .entry(made["commentary"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    for (_, text) in accepted.iter().filter(|(p, _)| *p == "linkedin") {
        assert_eq!(live.get(text), Some(&1), "{text} live once on LinkedIn");
    }
    let last = sample(&host, &store, &redis, started).await;
    report(&last);
    samples.push(last.clone());

    // Retention: no row older than its retention plus one maintenance pass (and slack for a
    // pass that takes a while), once the first rows could have aged out.
    let bound = (retention + MAINTENANCE + Duration::from_secs(15)).as_secs() as i64;
    for s in samples
        .iter()
        .filter(|s| s.at > retention + MAINTENANCE * 2)
    {
        for (table, oldest) in &s.oldest_secs {
            assert!(
                *oldest <= bound,
                "{table} kept a row {oldest} s old at {:?} (retention {retention:?})",
                s.at
            );
        }
    }
    // Resources after warm-up (the first sixth of the run): what the second half of the run
    // (with the drain) peaked at against the first half's peak. A pool that grows to serve the
    // load levels off early; a leak keeps growing.
    let warm = samples
        .iter()
        .find(|s| s.at >= length / 6)
        .expect("a sample after warm-up")
        .clone();
    let mid = warm.at + (length.saturating_sub(warm.at)) / 2;
    let peak = |f: fn(&Sample) -> i64, late: bool| {
        samples
            .iter()
            .filter(|s| s.at >= warm.at && (s.at >= mid) == late)
            .map(f)
            .max()
            .unwrap_or(f(&warm))
    };
    for (what, f, slack) in [
        (
            "descriptors",
            (|s: &Sample| s.fds as i64) as fn(&Sample) -> i64,
            16,
        ),
        ("database connections", |s: &Sample| s.pg_connections, 4),
        ("Redis clients", |s: &Sample| s.redis_clients, 2),
    ] {
        let (early, late) = (peak(f, false), peak(f, true));
        assert!(
            late <= early + slack,
            "{what} grew from {early} (first half after warm-up) to {late} (second half)"
        );
    }
    let growth = last.rss_kib as f64 / warm.rss_kib as f64 - 1.0;
    if long {
        assert!(
            growth <= 0.10,
            "resident memory grew {:.1} % after warm-up ({} -> {} KiB)",
            growth * 100.0,
            warm.rss_kib,
            last.rss_kib
        );
    }
    eprintln!(
        "faults: soak: {} posts over {:.0} s (+{:.0} s to drain) across five connectors, {} \
         webhooks, {} refreshes; resident memory {} KiB after warm-up, {} KiB at the end \
         ({:+.1} %); descriptors {} -> {}; database connections {} -> {}; Redis clients {} -> \
         {}; rows at the end {:?}, the oldest {:?} s (retention {} s)",
        accepted.len(),
        load.as_secs_f64(),
        drained.elapsed().as_secs_f64(),
        n.div_ceil(2),
        n / 30 * 4,
        warm.rss_kib,
        last.rss_kib,
        growth * 100.0,
        warm.fds,
        last.fds,
        warm.pg_connections,
        last.pg_connections,
        warm.redis_clients,
        last.redis_clients,
        last.rows,
        last.oldest_secs,
        retention.as_secs()
    );
    sandbox.shutdown().await;
}

/// `POST /v1/posts` for `plugin`'s account. Accepting touches no platform, so a refused post
/// fails the case.
async fn post(
    host: &Host,
    key: &str,
    plugin: &str,
    connection: &str,
    n: usize,
    scheduled: Option<i64>,
    media: &str,
) {
    let text = post_text(n, plugin);
    let account = match plugin {
        "meta" => seed::META_PAGE_ID.to_string(),
        "linkedin" => format!("urn:li:organization:{}", seed::LINKEDIN_ORG_ID),
        "tiktok" => seed::TIKTOK_OPEN_ID.to_string(),
        "gbp" => format!(
            "accounts/{}/locations/{}",
            seed::GBP_ACCOUNT_ID,
            seed::GBP_FIRST_LOCATION_ID + (n % 5) as u64
        ),
        _ => seed::MAILCHIMP_LIST_ID.to_string(),
    };
    let mut body = json!({
        "text": text,
        "targets": [{ "connection_id": connection, "account_id": account }],
    });
    if plugin == "tiktok" {
        body["media"] = json!([{
            "kind": "video",
            "url": format!("{media}/v.mp4"),
            "mime_type": "video/mp4",
            "size_bytes": VIDEO_BYTES,
        }]);
        body["options"] = json!({ "privacy-level": "SELF_ONLY" });
    }
    if let Some(at) = scheduled {
        body["scheduled_for"] = json!(at);
    }
    let answer = host
        .api
        .send(
            host.api
                .request(reqwest::Method::POST, "/v1/posts", Some(key))
                .header("idempotency-key", format!("soak-{n}"))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await;
    assert!(
        answer.json["jobs"][0]["id"].is_string(),
        "post {n} to {plugin} refused: {answer:?}"
    );
}

/// The text of post `n`, unique per post.
fn post_text(n: usize, plugin: &str) -> String {
    format!("soak post {n} to {plugin}")
}

/// A signed webhook from TikTok, LinkedIn or Meta in turn (each with a new event id), which
/// the host must verify and store.
async fn webhook(sandbox: &RunningSandbox, host: &Host, n: usize) {
    let (platform, plugin, event) = match n / 2 % 3 {
        0 => (
            Platform::Tiktok,
            "tiktok",
            json!({
                "event": "post.publish.complete",
                "content": json!({"publish_id": format!("v_pub_soak_{n}"), "publish_type": "DIRECT_PUBLISH"}).to_string(),
            }),
        ),
        1 => (
            Platform::Linkedin,
            "linkedin",
            json!({
                "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
                "notifications": [{
                    "notificationId": n,
                    "action": "LIKE",
                    "organizationalEntity": format!("urn:li:organization:{}", seed::LINKEDIN_ORG_ID),
                }],
            }),
        ),
        _ => (
            Platform::Meta,
            "meta",
            json!({
                "object": "page",
                "entry": [{
                    "id": seed::META_PAGE_ID,
                    "time": n,
                    "changes": [{"field": "feed", "value": {
                        "item": "status",
                        "post_id": format!("{}_{n}", seed::META_PAGE_ID),
                        "verb": "add",
                    }}],
                }],
            }),
        ),
    };
    let url = format!("{}/webhooks/{plugin}", host.api.url);
    let delivery = sandbox
        .deliver_webhook(platform, &url, &event, &DeliveryOptions::default())
        .await
        .unwrap();
    assert_eq!(
        delivery.status, 200,
        "{plugin} webhook {n}: {}",
        delivery.response_body
    );
}

/// `POST /v1/connections/{id}/refresh`, which must answer 200.
async fn refresh(host: &Host, key: &str, connection: &str) {
    let api = &host.api;
    let answer = api
        .send(api.request(
            reqwest::Method::POST,
            &format!("/v1/connections/{connection}/refresh"),
            Some(key),
        ))
        .await;
    assert_eq!(answer.status, 200, "refresh of {connection}: {answer:?}");
}

/// What the host process and its servers hold now.
async fn sample(host: &Host, store: &Store, redis: &Redis, started: Instant) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{}/status", host.pid)).unwrap();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{}/fd", host.pid))
        .unwrap()
        .count();
    // The host's connections: every backend of the database but this case's own.
    let pg_connections = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
        - store_connections(store);
    let redis_clients = redis.clients().await - 1;
    let mut rows = BTreeMap::new();
    let mut oldest_secs = BTreeMap::new();
    let now = postd_host::time::UnixMs::now().get();
    for (table, rows_of, time) in BOUNDED {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), MIN({time}) FROM {rows_of}"
        )))
        .fetch_one(store.pool())
        .await
        .unwrap();
        rows.insert(table, count);
        oldest_secs.insert(table, oldest.map_or(0, |t| (now - t) / 1000));
    }
    Sample {
        at: started.elapsed(),
        rss_kib,
        fds,
        pg_connections,
        redis_clients,
        rows,
        oldest_secs,
    }
}

/// Connections this case's own store pool holds open.
fn store_connections(store: &Store) -> i64 {
    i64::from(store.pool().size())
}

fn report(s: &Sample) {
    eprintln!(
        "soak: t={:>5} s rss={} KiB fds={} pg={} redis={} rows={:?} oldest={:?}",
        s.at.as_secs(),
        s.rss_kib,
        s.fds,
        s.pg_connections,
        s.redis_clients,
        s.rows,
        s.oldest_secs
    );
}

/// Serves `/v.mp4` (a small video) for TikTok's connector to read; the server's base URL.
async fn media_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/v.mp4",
        axum::routing::get(|| async { vec![7u8; VIDEO_BYTES] }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

//! A platform brownout. LinkedIn — the real connector against the platform sandbox — answers
//! 30 % of requests with a fault while posts arrive at a steady rate through two replicas on
//! PostgreSQL + Redis: a 503; a 502 after it made the post; a gateway's 429 with `Retry-After`
//! (LinkedIn's own 429 is its daily limit, which waits until midnight); a hang
//! past the call's deadline, before or after it acted; a `200` cut off mid-body, before or after
//! it acted. When the brownout ends, at least 99.9 % of the posts must end published, each live
//! exactly once on LinkedIn's side (counted in the sandbox), the rest dead-lettered with their
//! reason; and LinkedIn must never have refused a call for being over its own limit (the
//! sandbox counts those apart from the injected 429s).
//!
//! `make test` runs 20 s of brownout at 6 posts a second; `POSTD_BROWNOUT_SECS=600` runs the
//! issue's ten minutes (`make soak`, a post every 2 s: one organization posting 3,600 times in
//! ten minutes is no account's real traffic, and the lost-create search reads it all). Figures: bench/FAULTS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use postd_host::store::Store;
use postd_sandbox::platforms::linkedin;
use postd_sandbox::{LinkedInConfig, Platform, RunningSandbox, Sandbox, SandboxConfig, seed};
use serde_json::json;

use crate::support::host::{Fleet, Host};
use crate::support::load::job_states;
use crate::support::pipeline::{Database, Kind};
use crate::support::redis::Redis;
use crate::support::sandbox::{connect, plugin_toml};
use crate::support::secs;

/// The share of LinkedIn's answers that are faults.
const FAULT_RATE: f64 = 0.3;
/// The faults, drawn with equal odds (`answer-lost:` ones act before they fail).
const MIX: &[&str] = &[
    "503",
    "answer-lost:502",
    "throttle",
    "hang",
    "answer-lost:hang",
    "reset",
    "answer-lost:reset",
];
/// Posts accepted per second, spread over the tenants, unless `POSTD_BROWNOUT_POSTS_PER_SECOND`
/// says otherwise. All go to one LinkedIn organization (the sandbox's), so a retry that looks
/// for what a lost create made reads more of its posts the faster they come.
const POSTS_PER_SECOND: f64 = 6.0;
/// Tenants, each with one LinkedIn connection (one token, one budget on LinkedIn's side).
const TENANTS: usize = 4;
/// The brownout's length unless `POSTD_BROWNOUT_SECS` says otherwise.
const SHORT_SECS: u64 = 20;
/// What the plugin runs with: a budget under LinkedIn's 300 calls a minute per token, a call
/// deadline a hang outlasts, and attempts enough to ride out a 30 % fault rate (each run fails
/// with odds of about one in two; twelve failures in a row: 1 in 4,000).
const PLUGIN: &str = "rate_limit = { requests = 4, per_seconds = 1 }\n\
     jobs = { max_attempts = 12 }\nlimits = { deadline_ms = 4000 }\n";
/// How long a hang holds its request: past the 4 s deadline.
const HANG: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linkedin_brownout_ends_with_every_post_published_once_and_no_limit_exceeded() {
    let length = Duration::from_secs(
        std::env::var("POSTD_BROWNOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(SHORT_SECS),
    );
    let db = Database::create(Kind::Postgres).await;
    let redis = Redis::start().await;
    let sandbox = Sandbox::start(SandboxConfig {
        // Ten minutes of requests, for the count of faults sent.
        log_capacity: 200_000,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let per_minute = LinkedInConfig::default().calls_per_minute;
    let fleet = Fleet::on(&db, &redis, 10);
    let plugins = plugin_toml(&sandbox, Platform::Linkedin, &[], PLUGIN);
    let a = fleet.start("replica-a", 8, &plugins).await;
    let b = fleet.start("replica-b", 8, &plugins).await;
    let mut tenants = Vec::new();
    for n in 0..TENANTS {
        let key = fleet.tenant_key(&format!("tenant-{n}")).await;
        let connection = connect(&a, &key, "linkedin").await;
        tenants.push((key, connection));
    }

    sandbox.set_hang(Platform::Linkedin, HANG);
    sandbox
        .set_error_mix(Platform::Linkedin, FAULT_RATE, MIX, 18)
        .unwrap();
    let started = Instant::now();
    let mut accepted = BTreeMap::new();
    let mut n = 0u64;
    let rate: f64 = std::env::var("POSTD_BROWNOUT_POSTS_PER_SECOND")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(POSTS_PER_SECOND);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    while started.elapsed() < length {
        tick.tick().await;
        let (key, connection) = &tenants[n as usize % TENANTS];
        let host = if n.is_multiple_of(2) { &a } else { &b };
        let text = format!("brownout post {n}");
        let job = post(host, key, connection, &format!("brownout-{n}"), &text).await;
        accepted.insert(text, job);
        n += 1;
    }
    let faults_sent = sandbox.state().faults.get(Platform::Linkedin).injected;
    let requests_during = sandbox.requests(Some(Platform::Linkedin)).len();
    sandbox.clear_faults(Platform::Linkedin);
    let brownout = secs(started);

    let store = Store::open(&db.url).await.unwrap();
    let ended = Instant::now();
    let states = settled(&store, accepted.len(), &[&a, &b]).await;
    let settled_after = secs(ended);

    // LinkedIn's side: every published post live exactly once; nothing live that was not
    // accepted; a dead-lettered post live at most once.
    let live = live_posts(&sandbox);
    let dead = dead_letters(&store).await;
    for (text, job) in &accepted {
        let copies = live.get(text).copied().unwrap_or(0);
        if dead.iter().any(|(j, _)| j == job) {
            assert!(copies <= 1, "dead-lettered {text} went live {copies} times");
        } else {
            assert_eq!(copies, 1, "{text} (job {job}) went live exactly once");
        }
    }
    assert!(
        live.keys().all(|text| accepted.contains_key(text)),
        "LinkedIn holds only accepted posts"
    );
    let published = states.get("published").copied().unwrap_or(0) as usize;
    let share = published as f64 / accepted.len() as f64;
    assert!(
        share >= 0.999,
        "{published} of {} published ({:.2} %); dead letters: {dead:?}",
        accepted.len(),
        share * 100.0
    );
    assert_eq!(
        published + dead.len(),
        accepted.len(),
        "every post published or dead-lettered: {states:?}"
    );
    assert!(
        dead.iter().all(|(_, reason)| !reason.is_empty()),
        "each dead letter has its reason: {dead:?}"
    );
    let throttled = sandbox.state().throttled(Platform::Linkedin);
    assert_eq!(
        throttled, 0,
        "LinkedIn refused {throttled} calls over its {per_minute} a minute per token"
    );
    let attempts = attempts(&store).await;
    eprintln!(
        "faults: brownout: {} posts over {brownout} s through two replicas; LinkedIn answered \
         {faults_sent} of its {requests_during} requests meanwhile with a fault ({:.0} %, drawn \
         from {MIX:?}); all settled {settled_after} s after it ended: {published} published once \
         each, {} dead-lettered {dead:?}; {attempts} runs ({:.2} a post); 0 calls over \
         LinkedIn's limit",
        accepted.len(),
        faults_sent as f64 * 100.0 / requests_during.max(1) as f64,
        dead.len(),
        attempts as f64 / accepted.len() as f64,
    );
    sandbox.shutdown().await;
}

/// `POST /v1/posts` of a text post to the seeded organization; the job id. A refused post is
/// offered again (same key) until accepted: accepting does not touch LinkedIn.
async fn post(host: &Host, api_key: &str, connection: &str, key: &str, text: &str) -> String {
    let body = json!({
        "text": text,
        "targets": [{
            "connection_id": connection,
            "account_id": format!("urn:li:organization:{}", seed::LINKEDIN_ORG_ID),
        }],
    });
    for _ in 0..20 {
        let answer = host
            .api
            .send(
                host.api
                    .request(reqwest::Method::POST, "/v1/posts", Some(api_key))
                    .header("idempotency-key", key)
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            )
            .await;
        if let Some(job) = answer.json["jobs"][0]["id"].as_str() {
            return job.to_string();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("post {key} never accepted; {}", host.log_tail());
}

/// Waits until no job is queued, running or paused (five minutes at most); the states then.
async fn settled(store: &Store, expected: usize, hosts: &[&Host]) -> BTreeMap<String, i64> {
    let start = Instant::now();
    loop {
        let states = job_states(store).await;
        let done: i64 = ["published", "dead"]
            .iter()
            .filter_map(|s| states.get(*s))
            .sum();
        if done as usize == expected {
            return states;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "jobs not settled 5 min after the brownout: {states:?}; {}",
            hosts
                .iter()
                .map(|h| h.log_tail())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Live posts on LinkedIn by their text.
fn live_posts(sandbox: &RunningSandbox) -> BTreeMap<String, usize> {
    let mut live = BTreeMap::new();
    for post in linkedin::posts(sandbox.state()) {
        let text = post["commentary"].as_str().unwrap_or_default().to_string();
        *live.entry(text).or_default() += 1;
    }
    live
}

/// Dead letters: (job, reason code).
async fn dead_letters(store: &Store) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>("SELECT job_id, reason_code FROM dead_letters")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// Runs recorded (attempts of every job, any outcome).
async fn attempts(store: &Store) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM job_attempts")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

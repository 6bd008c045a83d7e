//! Refresh-token rotation while Redis is lost and comes back empty. Two replicas on PostgreSQL
//! refresh one TikTok connection — the real connector against the platform sandbox, which
//! rotates refresh tokens and answers `invalid_grant` to a used one — from both sides at once,
//! before, during and after the outage. Refresh leases live in the database (`jobs/lock.rs`),
//! so Redis going away (or forgetting everything) cannot let two refreshes send one token: each
//! refresh token reaches TikTok once and the connection stays healthy.

use postd_sandbox::{Platform, Sandbox, SandboxConfig};
use reqwest::StatusCode;

use crate::support::host::Fleet;
use crate::support::pipeline::{Database, Kind};
use crate::support::redis::Redis;
use crate::support::sandbox::{connect, plugin_toml};

/// Refreshes asked of each replica at once, per phase.
const BURST: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_from_two_replicas_never_send_a_rotated_token_twice_while_redis_is_lost() {
    let db = Database::create(Kind::Postgres).await;
    let mut redis = Redis::start().await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    // Slow token answers, so refreshes asked together really overlap.
    sandbox.state().faults.set_latency(Platform::Tiktok, 150);
    let fleet = Fleet::on(&db, &redis, 5);
    let api_key = fleet.tenant_key("acme").await;
    let plugins = plugin_toml(&sandbox, Platform::Tiktok, &[], "");
    let a = fleet.start("replica-a", 2, &plugins).await;
    let b = fleet.start("replica-b", 2, &plugins).await;
    let connection = connect(&a, &api_key, "tiktok").await;

    for phase in ["before", "during", "after"] {
        match phase {
            "during" => redis.lose(),
            "after" => redis.start_again().await,
            _ => {}
        }
        let path = format!("/v1/connections/{connection}/refresh");
        let asks = (0..2 * BURST).map(|i| {
            let host = if i % 2 == 0 { &a } else { &b };
            let path = path.clone();
            let key = api_key.clone();
            async move {
                let api = &host.api;
                api.send(api.request(reqwest::Method::POST, &path, Some(&key)))
                    .await
            }
        });
        for answer in futures::future::join_all(asks).await {
            assert_eq!(
                (answer.status, answer.json["status"].as_str()),
                (StatusCode::OK, Some("healthy")),
                "{phase}: {answer:?}\nA: {}\nB: {}",
                a.log_tail(),
                b.log_tail()
            );
        }
    }

    // TikTok's side: every refresh grant answered 200, and no refresh token was sent twice.
    let grants: Vec<_> = sandbox
        .state()
        .log
        .list(Some(Platform::Tiktok))
        .into_iter()
        .filter_map(|r| {
            let body = String::from_utf8(r.body_bytes()).ok()?;
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "refresh_token")?
                .1
                .into_owned();
            Some((token, r.status))
        })
        .collect();
    assert!(
        grants.len() >= 3,
        "at least one exchange per phase: {grants:?}"
    );
    assert!(
        grants.iter().all(|(_, status)| *status == Some(200)),
        "every refresh grant accepted: {grants:?}"
    );
    let mut tokens: Vec<_> = grants.iter().map(|(t, _)| t.clone()).collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), grants.len(), "a refresh token sent twice");
    let status = a
        .api
        .get(&format!("/v1/connections/{connection}"), &api_key)
        .await;
    assert_eq!(status.json["status"], "healthy", "{status:?}");
    eprintln!(
        "faults: refresh rotation: {} refreshes asked of two replicas in 3 phases (Redis up, \
         lost, back empty) caused {} token exchanges, each with a refresh token never sent \
         before; the connection stayed healthy",
        6 * BURST,
        grants.len()
    );
    sandbox.shutdown().await;
}

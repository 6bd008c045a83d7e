//! Rate budgets shared between two host instances through one Redis.

use std::time::Duration;

use postd_host::capability::http::{Budget, RateLimiter, RedisRateLimiter};

/// The Redis the suite runs against; the test fails (never skips) when it does not answer.
const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn limiter(prefix: &str) -> RedisRateLimiter {
    RedisRateLimiter::connect(REDIS_URL, prefix)
        .await
        .unwrap_or_else(|e| panic!("Redis must be running at {REDIS_URL} for this suite: {e}"))
}

fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("postd-test:{}:{nanos}:", std::process::id())
}

#[tokio::test]
async fn two_hosts_sharing_redis_share_one_budget() {
    let prefix = unique_prefix();
    let (host_a, host_b) = (limiter(&prefix).await, limiter(&prefix).await);
    let budget = Budget::per_seconds(5, 60);
    let mut granted = 0;
    let mut waits = Vec::new();
    for round in 0..10 {
        let host = if round % 2 == 0 { &host_a } else { &host_b };
        match host.acquire("plugin:meta:t:c", budget).await {
            Ok(()) => granted += 1,
            Err(wait) => waits.push(wait),
        }
    }
    assert_eq!(granted, 5, "the budget is shared, not per host");
    assert!(
        waits
            .iter()
            .all(|w| *w > Duration::from_secs(10) && *w <= Duration::from_secs(12)),
        "{waits:?}"
    );
    // Another bucket is independent.
    assert!(host_b.acquire("plugin:meta:t:other", budget).await.is_ok());
}

#[tokio::test]
async fn the_redis_bucket_refills_at_the_budget_rate() {
    let prefix = unique_prefix();
    let host = limiter(&prefix).await;
    let budget = Budget {
        requests: 2,
        window: Duration::from_millis(400),
    };
    assert!(host.acquire("b", budget).await.is_ok());
    assert!(host.acquire("b", budget).await.is_ok());
    let wait = host.acquire("b", budget).await.unwrap_err();
    assert!(wait <= Duration::from_millis(200), "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    assert!(
        host.acquire("b", budget).await.is_ok(),
        "one request's worth refilled after the wait it named"
    );
}

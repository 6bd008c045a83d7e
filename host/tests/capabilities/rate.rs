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

/// One request from one bucket, taken now or refused with the wait.
async fn take(host: &RedisRateLimiter, key: &str, budget: Budget) -> Result<(), Duration> {
    host.acquire(&[(key.to_string(), budget)], Duration::ZERO)
        .await
        .map(drop)
        .map_err(|refusal| refusal.wait)
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
        match take(host, "plugin:meta:t:c", budget).await {
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
    assert!(take(&host_b, "plugin:meta:t:other", budget).await.is_ok());
}

#[tokio::test]
async fn the_redis_bucket_refills_at_the_budget_rate() {
    let prefix = unique_prefix();
    let host = limiter(&prefix).await;
    let budget = Budget {
        requests: 2,
        window: Duration::from_millis(400),
    };
    assert!(take(&host, "b", budget).await.is_ok());
    assert!(take(&host, "b", budget).await.is_ok());
    let wait = take(&host, "b", budget).await.unwrap_err();
    assert!(wait <= Duration::from_millis(200), "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    assert!(
        take(&host, "b", budget).await.is_ok(),
        "one request's worth refilled after the wait it named"
    );
}

#[tokio::test]
async fn a_request_is_taken_from_both_its_buckets_in_one_call_or_from_neither() {
    let prefix = unique_prefix();
    let host = limiter(&prefix).await;
    let roomy = Budget::per_seconds(10, 60);
    let tight = Budget::per_seconds(1, 60);
    let both = [
        ("connection".to_string(), roomy),
        ("tenant".to_string(), tight),
    ];
    assert!(host.acquire(&both, Duration::ZERO).await.is_ok());
    for _ in 0..5 {
        let refusal = host.acquire(&both, Duration::ZERO).await.unwrap_err();
        assert_eq!(refusal.bucket, 1, "the tenant's bucket refused");
        assert!(refusal.wait > Duration::from_secs(55), "{refusal:?}");
    }
    // The refusals took nothing from the connection's bucket: nine places are left.
    for _ in 0..9 {
        assert!(take(&host, "connection", roomy).await.is_ok());
    }
    assert!(take(&host, "connection", roomy).await.is_err());
}

#[tokio::test]
async fn a_request_within_the_wait_allowed_is_counted_and_told_when_to_go() {
    let prefix = unique_prefix();
    let host = limiter(&prefix).await;
    let budget = [("b".to_string(), Budget::per_seconds(2, 1))];
    let patience = Duration::from_millis(700);
    assert_eq!(host.acquire(&budget, patience).await, Ok(Duration::ZERO));
    assert_eq!(host.acquire(&budget, patience).await, Ok(Duration::ZERO));
    let wait = host.acquire(&budget, patience).await.unwrap();
    assert!(
        wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
        "{wait:?}"
    );
    // The third took the next slot: the fourth would wait a whole second, past the patience.
    let refusal = host.acquire(&budget, patience).await.unwrap_err();
    assert!(refusal.wait > Duration::from_millis(900), "{refusal:?}");
}

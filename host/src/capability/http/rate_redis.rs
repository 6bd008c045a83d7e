//! Rate buckets shared by every host replica through Redis.
//!
//! The same GCRA as [`LocalRateLimiter`](super::LocalRateLimiter), run as one Lua script per
//! decision so it is atomic across replicas, with the clock read from Redis (`TIME`) so replicas
//! with skewed clocks still agree. One key per bucket, expiring once the bucket is full again.
//! If Redis cannot be reached, decisions fall back to this replica's own buckets (logged), so a
//! Redis outage slows nothing down beyond per-replica budgets.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::rate::{Budget, LocalRateLimiter, RateLimiter};

const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local ahead = tat - now
if ahead > tolerance then
  return ahead - tolerance
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
"#;

/// Buckets in Redis, shared by every replica using the same `prefix`.
#[derive(Clone)]
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    fallback: std::sync::Arc<LocalRateLimiter>,
}

impl RedisRateLimiter {
    /// Connects to `url` (`redis://127.0.0.1:6379`); bucket keys start with `prefix`.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let connection = ConnectionManager::new(client).await?;
        Ok(RedisRateLimiter {
            connection,
            script: redis::Script::new(GCRA),
            prefix: prefix.into(),
            fallback: Default::default(),
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn acquire(&self, key: &str, budget: Budget) -> Result<(), Duration> {
        let interval = budget.window / budget.requests;
        let tolerance = budget.window.saturating_sub(interval);
        let mut connection = self.connection.clone();
        let decision: redis::RedisResult<i64> = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(interval.as_micros() as u64)
            .arg(tolerance.as_micros() as u64)
            .invoke_async(&mut connection)
            .await;
        match decision {
            Ok(0) => Ok(()),
            Ok(wait_us) => Err(Duration::from_micros(wait_us.max(1) as u64)),
            Err(error) => {
                tracing::warn!(%error, "Redis rate limiter unavailable; using this replica's buckets");
                self.fallback.acquire(key, budget).await
            }
        }
    }
}

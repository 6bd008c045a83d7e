//! Rate buckets shared by every host replica through Redis.
//!
//! The same GCRA as [`LocalRateLimiter`](super::LocalRateLimiter), run as one Lua script per
//! decision (every bucket of a request in the one call: one round trip per request) so it is
//! atomic across replicas, with the clock read from Redis (`TIME`) so replicas
//! with skewed clocks still agree. One key per bucket, expiring once the bucket is full again.
//! If Redis cannot be reached, decisions fall back to this replica's own buckets (logged), so a
//! Redis outage slows nothing down beyond per-replica budgets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::rate::{Budget, LocalRateLimiter, RateLimiter, Refusal};

/// The GCRA over every key of the request at once: `ARGV[1]` is the longest wait accepted, then
/// (interval, tolerance) per key, all in microseconds. Returns `{wait, 0}` when the request was
/// counted in every bucket (send it after `wait`), else `{wait, index}` of the first bucket
/// that cannot admit it in time (1-based), having changed none.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_wait = tonumber(ARGV[1])
local next_tats = {}
local longest = 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local wait = tat - now - tolerance
  if wait < 0 then wait = 0 end
  if wait > max_wait then
    return {wait, i}
  end
  if wait > longest then longest = wait end
  next_tats[i] = tat + interval
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.0f', next_tats[i]), 'PX', math.ceil((next_tats[i] - now) / 1000) + 1000)
end
return {longest, 0}
"#;

/// How long decisions stay with this replica's buckets after Redis failed one, before Redis
/// is asked again: during an outage only one decision a second pays a failing round trip.
const AFTER_A_FAILURE: Duration = Duration::from_secs(1);

/// Buckets in Redis, shared by every replica using the same `prefix`; while Redis cannot
/// answer ([`crate::redis_link::REDIS_TIMEOUT`]), this replica's own buckets decide.
#[derive(Clone)]
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    fallback: Arc<LocalRateLimiter>,
    /// Until when the fallback decides without asking Redis.
    failed_until: Arc<Mutex<Option<Instant>>>,
}

impl RedisRateLimiter {
    /// Connects to `url` (`redis://127.0.0.1:6379`); bucket keys start with `prefix`.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> redis::RedisResult<Self> {
        Ok(RedisRateLimiter {
            connection: crate::redis_link::connect(url).await?,
            script: redis::Script::new(GCRA),
            prefix: prefix.into(),
            fallback: Default::default(),
            failed_until: Default::default(),
        })
    }

    /// True while a recent failure sends decisions to the fallback.
    fn recently_failed(&self) -> bool {
        let failed_until = self.failed_until.lock().expect("failure time");
        failed_until.is_some_and(|until| Instant::now() < until)
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn acquire(
        &self,
        buckets: &[(String, Budget)],
        max_wait: Duration,
    ) -> Result<Duration, Refusal> {
        if buckets.is_empty() {
            return Ok(Duration::ZERO);
        }
        if self.recently_failed() {
            return self.fallback.acquire(buckets, max_wait).await;
        }
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(max_wait.as_micros() as u64);
        for (key, budget) in buckets {
            let interval = budget.interval();
            invocation
                .key(format!("{}{key}", self.prefix))
                .arg(interval.as_micros() as u64)
                .arg(budget.window.saturating_sub(interval).as_micros() as u64);
        }
        let mut connection = self.connection.clone();
        // The manager's own timeouts bound each attempt; this bounds its retry as well.
        let decision: redis::RedisResult<(i64, i64)> = tokio::time::timeout(
            2 * crate::redis_link::REDIS_TIMEOUT,
            invocation.invoke_async(&mut connection),
        )
        .await
        .unwrap_or_else(|_| Err((redis::ErrorKind::IoError, "timed out").into()));
        if decision.is_err() {
            *self.failed_until.lock().expect("failure time") =
                Some(Instant::now() + AFTER_A_FAILURE);
        }
        match decision {
            Ok((wait_us, 0)) => Ok(Duration::from_micros(wait_us.max(0) as u64)),
            Ok((wait_us, index)) => Err(Refusal {
                bucket: (index.max(1) - 1) as usize,
                wait: Duration::from_micros(wait_us.max(1) as u64),
            }),
            Err(error) => {
                tracing::warn!(%error, "Redis rate limiter unavailable; using this replica's buckets");
                self.fallback.acquire(buckets, max_wait).await
            }
        }
    }
}

//! Request budgets per (plugin, tenant, connection), enforced before a request leaves.
//!
//! GCRA (the generic cell rate algorithm): each bucket stores one instant, its "theoretical
//! arrival time". A budget of `requests` per `window` spaces requests `window / requests` apart
//! and tolerates a burst of the whole budget. Over budget, nothing is sent and the caller learns
//! how long to wait. This is the in-process limiter; a Redis one sharing buckets between
//! replicas implements the same trait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Requests allowed per window (at least 1).
    pub requests: u32,
    /// The window.
    pub window: Duration,
}

impl Budget {
    /// `requests` per `seconds`.
    pub fn per_seconds(requests: u32, seconds: u32) -> Self {
        Budget {
            requests: requests.max(1),
            window: Duration::from_secs(seconds.max(1).into()),
        }
    }

    fn interval(&self) -> Duration {
        self.window / self.requests
    }
}

/// Decides whether one more request fits a bucket's budget.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one request from bucket `key` under `budget`; `Err(wait)` when over budget.
    async fn acquire(&self, key: &str, budget: Budget) -> Result<(), Duration>;
}

/// Buckets in this process's memory.
#[derive(Debug, Default)]
pub struct LocalRateLimiter {
    buckets: Mutex<HashMap<String, Instant>>,
}

impl LocalRateLimiter {
    /// The GCRA decision at `now`, updating the bucket when the request fits.
    pub fn acquire_at(&self, key: &str, budget: Budget, now: Instant) -> Result<(), Duration> {
        let interval = budget.interval();
        let tolerance = budget.window.saturating_sub(interval);
        let mut buckets = self.buckets.lock().expect("rate buckets");
        let tat = buckets.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        buckets.insert(key.to_string(), tat + interval);
        Ok(())
    }
}

#[async_trait::async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn acquire(&self, key: &str, budget: Budget) -> Result<(), Duration> {
        self.acquire_at(key, budget, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_burst_passes_then_requests_are_spaced() {
        let limiter = LocalRateLimiter::default();
        let budget = Budget::per_seconds(3, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.acquire_at("b", budget, t0).is_ok());
        }
        let wait = limiter.acquire_at("b", budget, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(
            limiter
                .acquire_at("b", budget, t0 + Duration::from_millis(999))
                .is_err()
        );
        assert!(
            limiter
                .acquire_at("b", budget, t0 + Duration::from_secs(1))
                .is_ok()
        );
        // Other buckets are independent.
        assert!(limiter.acquire_at("other", budget, t0).is_ok());
    }

    #[test]
    fn idle_buckets_refill_to_the_whole_burst_and_no_further() {
        let limiter = LocalRateLimiter::default();
        let budget = Budget::per_seconds(2, 60);
        let t0 = Instant::now();
        limiter.acquire_at("b", budget, t0).unwrap();
        limiter.acquire_at("b", budget, t0).unwrap();
        let later = t0 + Duration::from_secs(3600);
        assert!(limiter.acquire_at("b", budget, later).is_ok());
        assert!(limiter.acquire_at("b", budget, later).is_ok());
        assert!(limiter.acquire_at("b", budget, later).is_err());
    }
}

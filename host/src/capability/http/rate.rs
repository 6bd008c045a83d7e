//! Request budgets per (plugin, tenant, connection), enforced before a request leaves.
//!
//! GCRA (the generic cell rate algorithm): each bucket stores one instant, its "theoretical
//! arrival time". A budget of `requests` per `window` spaces requests `window / requests` apart
//! and tolerates a burst of the whole budget. Over budget, nothing is sent and the caller learns
//! how long to wait. This is the in-process limiter; a Redis one sharing buckets between
//! replicas implements the same trait.
//!
//! A request is taken from all of its buckets (the connection's, the tenant's ceiling) at once
//! or from none: refused by one, it uses no place in the others, and the caller learns which
//! bucket refused and how long until it admits one more ([`Refusal`]).

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

    /// The spacing between requests at the budget's steady rate.
    pub fn interval(&self) -> Duration {
        self.window / self.requests
    }

    /// How far ahead of now a bucket may be and still admit a request: the burst.
    fn tolerance(&self) -> Duration {
        self.window.saturating_sub(self.interval())
    }
}

/// Why a request was not taken: the first bucket (by index in the list asked for) that is
/// over budget, and how long until it admits one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Index of the refusing bucket in the list given to [`RateLimiter::acquire`].
    pub bucket: usize,
    /// How long until that bucket admits a request.
    pub wait: Duration,
}

/// Decides whether one more request fits its buckets' budgets.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one request from every bucket of `buckets` (key, budget), or from none of them
    /// when one of them cannot admit it within `max_wait`. `Ok(wait)`: the request is counted
    /// and may be sent after `wait` (zero when there was room now). Implementations decide in
    /// one step (one Redis call).
    async fn acquire(
        &self,
        buckets: &[(String, Budget)],
        max_wait: Duration,
    ) -> Result<Duration, Refusal>;
}

/// Buckets in this process's memory.
#[derive(Debug, Default)]
pub struct LocalRateLimiter {
    buckets: Mutex<HashMap<String, Instant>>,
}

impl LocalRateLimiter {
    /// The GCRA decision for one bucket at `now`, updating it when the request fits;
    /// `Err(wait)` when over budget.
    pub fn acquire_at(&self, key: &str, budget: Budget, now: Instant) -> Result<(), Duration> {
        self.acquire_all_at(&[(key.to_string(), budget)], now, Duration::ZERO)
            .map(drop)
            .map_err(|refusal| refusal.wait)
    }

    /// The GCRA decision for several buckets at `now`: all of them are updated when every one
    /// admits the request within `max_wait` (the answer is how long to wait before sending),
    /// none otherwise.
    pub fn acquire_all_at(
        &self,
        asked: &[(String, Budget)],
        now: Instant,
        max_wait: Duration,
    ) -> Result<Duration, Refusal> {
        let mut buckets = self.buckets.lock().expect("rate buckets");
        let mut next = Vec::with_capacity(asked.len());
        let mut longest = Duration::ZERO;
        for (bucket, (key, budget)) in asked.iter().enumerate() {
            let tat = buckets.get(key).copied().unwrap_or(now).max(now);
            let wait = (tat - now).saturating_sub(budget.tolerance());
            if wait > max_wait {
                return Err(Refusal { bucket, wait });
            }
            longest = longest.max(wait);
            next.push(tat + budget.interval());
        }
        for ((key, _), tat) in asked.iter().zip(next) {
            buckets.insert(key.clone(), tat);
        }
        Ok(longest)
    }
}

#[async_trait::async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn acquire(
        &self,
        buckets: &[(String, Budget)],
        max_wait: Duration,
    ) -> Result<Duration, Refusal> {
        self.acquire_all_at(buckets, Instant::now(), max_wait)
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
    fn a_request_refused_by_one_bucket_uses_no_place_in_the_others() {
        let limiter = LocalRateLimiter::default();
        let roomy = Budget::per_seconds(10, 1);
        let tight = Budget::per_seconds(1, 1);
        let t0 = Instant::now();
        let both = [
            ("connection".to_string(), roomy),
            ("tenant".to_string(), tight),
        ];
        let now = Duration::ZERO;
        assert!(limiter.acquire_all_at(&both, t0, now).is_ok());
        for _ in 0..20 {
            let refusal = limiter.acquire_all_at(&both, t0, now).unwrap_err();
            assert_eq!(refusal.bucket, 1);
            assert_eq!(refusal.wait, Duration::from_secs(1));
        }
        // Twenty refusals took nothing from the roomy bucket: nine of its ten places are left.
        let connection = [("connection".to_string(), roomy)];
        for _ in 0..9 {
            assert!(limiter.acquire_all_at(&connection, t0, now).is_ok());
        }
        assert_eq!(
            limiter
                .acquire_all_at(&connection, t0, now)
                .unwrap_err()
                .bucket,
            0
        );
    }

    #[test]
    fn a_request_that_fits_within_the_wait_allowed_is_counted_and_told_when_to_go() {
        let limiter = LocalRateLimiter::default();
        let budget = [("b".to_string(), Budget::per_seconds(2, 1))];
        let t0 = Instant::now();
        let patient = Duration::from_millis(600);
        let waits: Vec<_> = (0..4)
            .map(|_| limiter.acquire_all_at(&budget, t0, patient))
            .collect();
        let ms = |ms| Ok(Duration::from_millis(ms));
        // The burst of two at once, then one every half second, up to the wait allowed.
        assert_eq!(waits[..3], [ms(0), ms(0), ms(500)]);
        assert_eq!(waits[3].unwrap_err().wait, Duration::from_secs(1));
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

//! Brute-force protection for key checks: a budget of failed attempts per source address.
//!
//! Each wrong tenant or admin key a source presents takes one unit from that source's budget, a
//! GCRA bucket like the egress limiter's (`capability::http::rate`): `limit` failures per
//! `window` (by default 20 a minute), refilled continuously at one unit per `window / limit`.
//! A source whose budget is spent is answered 429 with `Retry-After` for every request that
//! presents a key, right or wrong, until a unit is back: were a right key still served, the
//! budget would only slow the guessing down. Successful requests take nothing and never wait.
//! Guesses already in flight when the budget runs out still count when they fail, each pushing
//! the wait a unit further out, so a burst of concurrent guesses buys a longer wait and the
//! long-run rate stays at the budget.
//!
//! A source is the peer address of the TCP connection; an IPv6 address counts by its /64, the
//! block one host usually holds. Behind a reverse proxy every request comes from the proxy, so
//! one guesser would spend the budget of everybody: there, raise or turn off the budget
//! (`POSTD_AUTH_FAILURES_PER_MINUTE`, 0 for off) and limit failed logins at the proxy instead.
//! The budget lives in each replica's memory; `MAX_SOURCES` bounds it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures one source may have per minute before it must wait.
pub const DEFAULT_FAILURES_PER_MINUTE: u32 = 20;

/// Sources tracked at once. Sources whose budget is full again are forgotten first; past this,
/// new sources go untracked until some refill (and a warning is logged).
pub const MAX_SOURCES: usize = 100_000;

/// Failed key checks per source.
#[derive(Debug)]
pub struct FailureBudget {
    /// `None`: no limit.
    budget: Option<(Duration, Duration)>,
    sources: Mutex<HashMap<IpAddr, Instant>>,
}

impl Default for FailureBudget {
    fn default() -> Self {
        Self::per_minute(DEFAULT_FAILURES_PER_MINUTE)
    }
}

impl FailureBudget {
    /// `limit` failures per `window`; a zero `limit` turns the budget off.
    pub fn new(limit: u32, window: Duration) -> Self {
        let budget = (limit > 0 && !window.is_zero()).then(|| {
            let interval = window / limit;
            (interval, window.saturating_sub(interval))
        });
        FailureBudget {
            budget,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// `limit` failures per minute; 0 turns the budget off.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// Whether `source` may present a key now; `Err(wait)` while its budget is spent.
    pub fn check(&self, source: IpAddr) -> Result<(), Duration> {
        self.check_at(source, Instant::now())
    }

    /// [`check`](Self::check) at `now`.
    pub fn check_at(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some((_, tolerance)) = self.budget else {
            return Ok(());
        };
        let sources = self.sources.lock().expect("failure budget");
        let Some(tat) = sources.get(&bucket(source)) else {
            return Ok(());
        };
        let ahead = tat.saturating_duration_since(now);
        if ahead > tolerance {
            Err(ahead - tolerance)
        } else {
            Ok(())
        }
    }

    /// Takes one failure from `source`'s budget.
    pub fn record_failure(&self, source: IpAddr) {
        self.record_failure_at(source, Instant::now())
    }

    /// [`record_failure`](Self::record_failure) at `now`.
    pub fn record_failure_at(&self, source: IpAddr, now: Instant) {
        let Some((interval, _)) = self.budget else {
            return;
        };
        let key = bucket(source);
        let mut sources = self.sources.lock().expect("failure budget");
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&key) {
            sources.retain(|_, tat| *tat > now);
            if sources.len() >= MAX_SOURCES {
                tracing::warn!(
                    sources = sources.len(),
                    "too many sources with failed key checks to track another"
                );
                return;
            }
        }
        let tat = sources.get(&key).copied().unwrap_or(now).max(now);
        sources.insert(key, tat + interval);
    }
}

/// The bucket of an address: IPv4 (also when mapped into IPv6) as is, IPv6 by its /64.
fn bucket(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(_) => source,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn twenty_failures_in_a_minute_make_the_source_wait_then_it_refills() {
        let budget = FailureBudget::per_minute(20);
        let (attacker, t0) = (ip("203.0.113.7"), Instant::now());
        for n in 0..20 {
            assert!(budget.check_at(attacker, t0).is_ok(), "attempt {n}");
            budget.record_failure_at(attacker, t0);
        }
        let wait = budget.check_at(attacker, t0).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(3),
            "one unit comes back every 3 s"
        );
        assert!(
            budget
                .check_at(attacker, t0 + Duration::from_millis(2999))
                .is_err()
        );
        assert!(
            budget
                .check_at(attacker, t0 + Duration::from_secs(3))
                .is_ok()
        );
        // A whole minute later the whole budget is back.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..20 {
            assert!(budget.check_at(attacker, later).is_ok());
            budget.record_failure_at(attacker, later);
        }
        assert!(budget.check_at(attacker, later).is_err());
    }

    #[test]
    fn other_sources_and_successes_are_untouched() {
        let budget = FailureBudget::per_minute(2);
        let t0 = Instant::now();
        budget.record_failure_at(ip("203.0.113.7"), t0);
        budget.record_failure_at(ip("203.0.113.7"), t0);
        assert!(budget.check_at(ip("203.0.113.7"), t0).is_err());
        assert!(budget.check_at(ip("203.0.113.8"), t0).is_ok());
        // A source that only ever succeeds is never recorded, so never waits.
        for _ in 0..1000 {
            assert!(budget.check_at(ip("198.51.100.1"), t0).is_ok());
        }
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let budget = FailureBudget::per_minute(1);
        let t0 = Instant::now();
        budget.record_failure_at(ip("2001:db8:1:2::1"), t0);
        assert!(budget.check_at(ip("2001:db8:1:2:ffff::9"), t0).is_err());
        assert!(budget.check_at(ip("2001:db8:1:3::1"), t0).is_ok());
        budget.record_failure_at(ip("::ffff:192.0.2.1"), t0);
        assert!(budget.check_at(ip("192.0.2.1"), t0).is_err());
    }

    #[test]
    fn a_zero_budget_is_off() {
        let budget = FailureBudget::per_minute(0);
        let t0 = Instant::now();
        for _ in 0..100 {
            budget.record_failure_at(ip("203.0.113.7"), t0);
        }
        assert!(budget.check_at(ip("203.0.113.7"), t0).is_ok());
    }

    #[test]
    fn refilled_sources_are_forgotten_when_the_table_is_full() {
        let budget = FailureBudget::per_minute(20);
        let t0 = Instant::now();
        for n in 0..MAX_SOURCES as u32 {
            budget.record_failure_at(IpAddr::V4(n.into()), t0);
        }
        let later = t0 + Duration::from_secs(10);
        budget.record_failure_at(ip("203.0.113.7"), later);
        let sources = budget.sources.lock().unwrap();
        assert_eq!(sources.len(), 1, "the refilled sources were dropped");
    }
}

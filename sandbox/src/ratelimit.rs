//! Sliding-window call counters on the sandbox clock, keyed by whatever a platform budgets by.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::request_log::lock;

/// The outcome of counting one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Calls in the window, this one included.
    pub used: u64,
    /// The budget of the window.
    pub limit: u64,
    /// Whether this call is over the budget (it is not counted then).
    pub exceeded: bool,
    /// Milliseconds until the oldest counted call leaves the window.
    pub reset_in_ms: i64,
}

impl Usage {
    /// Use of the budget in percent, 0-100.
    pub fn percent(&self) -> u64 {
        (self.used * 100)
            .checked_div(self.limit)
            .map_or(100, |p| p.min(100))
    }
}

/// Sliding-window counters, and how many calls each platform refused for being over budget.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<String, VecDeque<i64>>>,
    /// Refused calls by key prefix (the platform, the part before the first `:`).
    refused: Mutex<HashMap<String, u64>>,
}

impl RateLimiter {
    /// Counts a call under `key` at `now_ms` against `limit` calls per `window_ms`.
    pub fn hit(&self, key: &str, limit: u64, window_ms: i64, now_ms: i64) -> Usage {
        let mut windows = lock(&self.windows);
        let calls = windows.entry(key.to_string()).or_default();
        while calls.front().is_some_and(|&t| t <= now_ms - window_ms) {
            calls.pop_front();
        }
        let reset_in_ms = calls.front().map_or(window_ms, |&t| t + window_ms - now_ms);
        if calls.len() as u64 >= limit {
            let used = calls.len() as u64;
            drop(windows);
            self.note_refused(key.split(':').next().unwrap_or(key));
            return Usage {
                used,
                limit,
                exceeded: true,
                reset_in_ms,
            };
        }
        calls.push_back(now_ms);
        Usage {
            used: calls.len() as u64,
            limit,
            exceeded: false,
            reset_in_ms,
        }
    }

    /// Counts a call `platform` refused for being over one of its limits.
    pub fn note_refused(&self, platform: &str) {
        *lock(&self.refused).entry(platform.to_string()).or_default() += 1;
    }

    /// Calls `platform` refused for being over one of its limits (injected faults not counted).
    pub fn refused(&self, platform: &str) -> u64 {
        lock(&self.refused).get(platform).copied().unwrap_or(0)
    }

    /// Forgets every counter whose key starts with `prefix`, and the refusals of that platform.
    pub fn clear(&self, prefix: &str) {
        lock(&self.windows).retain(|k, _| !k.starts_with(prefix));
        lock(&self.refused).remove(prefix.trim_end_matches(':'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides() {
        let rl = RateLimiter::default();
        assert!(!rl.hit("k", 2, 1000, 0).exceeded);
        assert!(!rl.hit("k", 2, 1000, 10).exceeded);
        assert!(rl.hit("k", 2, 1000, 20).exceeded);
        assert!(!rl.hit("k", 2, 1000, 1001).exceeded);
    }

    #[test]
    fn refusals_are_counted_by_platform() {
        let rl = RateLimiter::default();
        for at in 0..5 {
            rl.hit("linkedin:token:a", 2, 1000, at);
        }
        rl.hit("tiktok:video:b", 2, 1000, 0);
        assert_eq!((rl.refused("linkedin"), rl.refused("tiktok")), (3, 0));
        rl.clear("linkedin:");
        assert_eq!(rl.refused("linkedin"), 0);
    }
}

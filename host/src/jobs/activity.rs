//! What this replica's job runs did lately: attempts, publishes and errors per minute over the
//! last hour (the console's plots), and attempts by plugin and outcome, errors by plugin and
//! error code since the process started (the console's plugin table and `/metrics`).
//!
//! Kept in memory, per replica, from the runs themselves: the plots need no external metrics
//! system, and reading them costs the database nothing. A fleet's console shows the replica
//! that served the page; `/metrics` of every replica adds up to the fleet.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::store::Millis;

/// How many minutes the per-minute series keeps.
pub const MINUTES_KEPT: usize = 60;

const MINUTE_MS: Millis = 60_000;

/// One minute of job runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MinuteCounts {
    /// When the minute began (Unix ms).
    pub minute: Millis,
    /// Runs that ended in it.
    pub attempts: u64,
    /// Of those, runs that published (a post on the platform).
    pub published: u64,
    /// Of those, runs that ended with an error (to be retried, dead-lettered or paused).
    pub errors: u64,
}

/// Job runs by minute and by plugin, in this replica.
#[derive(Debug, Default)]
pub struct Activity {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    minutes: VecDeque<MinuteCounts>,
    /// By plugin, then outcome word (a fixed set).
    outcomes: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// By plugin, then error code.
    errors: BTreeMap<String, BTreeMap<String, u64>>,
}

/// One more under `key` of `map`: the key's string is allocated only the first time it is seen,
/// not on every run.
fn count<'a, V>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V
where
    V: Default,
{
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

impl Activity {
    /// Counts one run of `plugin` that ended at `now` with `outcome` (and `error_code`, when it
    /// failed).
    pub fn record(
        &self,
        plugin: &str,
        outcome: &'static str,
        error_code: Option<&str>,
        now: Millis,
    ) {
        let minute = now - now.rem_euclid(MINUTE_MS);
        let mut inner = self.inner.lock().expect("activity");
        if inner.minutes.back().is_none_or(|m| m.minute < minute) {
            inner.minutes.push_back(MinuteCounts {
                minute,
                ..MinuteCounts::default()
            });
            while inner.minutes.len() > MINUTES_KEPT {
                inner.minutes.pop_front();
            }
        }
        // A run that ended in a minute already closed (clocks differ by a few ms between the
        // workers' reads) is counted in the newest one.
        let last = inner.minutes.back_mut().expect("pushed above");
        last.attempts += 1;
        last.published += u64::from(outcome == "published");
        last.errors += u64::from(error_code.is_some());
        *count(&mut inner.outcomes, plugin)
            .entry(outcome)
            .or_default() += 1;
        if let Some(code) = error_code {
            *count(count(&mut inner.errors, plugin), code) += 1;
        }
    }

    /// The last [`MINUTES_KEPT`] minutes up to the one holding `now`, oldest first, minutes
    /// without runs included as zeros.
    pub fn last_hour(&self, now: Millis) -> Vec<MinuteCounts> {
        let current = now - now.rem_euclid(MINUTE_MS);
        let inner = self.inner.lock().expect("activity");
        (0..MINUTES_KEPT as i64)
            .rev()
            .map(|back| {
                let minute = current - back * MINUTE_MS;
                inner
                    .minutes
                    .iter()
                    .find(|m| m.minute == minute)
                    .copied()
                    .unwrap_or(MinuteCounts {
                        minute,
                        ..MinuteCounts::default()
                    })
            })
            .collect()
    }

    /// Runs by `(plugin, outcome)` since the process started.
    pub fn outcomes(&self) -> BTreeMap<(String, String), u64> {
        flatten(&self.inner.lock().expect("activity").outcomes)
    }

    /// Failed runs by `(plugin, error code)` since the process started.
    pub fn errors(&self) -> BTreeMap<(String, String), u64> {
        flatten(&self.inner.lock().expect("activity").errors)
    }
}

fn flatten<K: ToString>(
    nested: &BTreeMap<String, BTreeMap<K, u64>>,
) -> BTreeMap<(String, String), u64> {
    nested
        .iter()
        .flat_map(|(plugin, inner)| {
            inner
                .iter()
                .map(move |(key, n)| ((plugin.clone(), key.to_string()), *n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_counted_by_minute_outcome_and_error_code_and_old_minutes_fall_off() {
        let activity = Activity::default();
        let start = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS;
        activity.record("meta", "published", None, start + 5);
        activity.record(
            "meta",
            "retry",
            Some("platform-unavailable"),
            start + 59_999,
        );
        activity.record("tiktok", "published", None, start + 60_000);
        let hour = activity.last_hour(start + 60_001);
        assert_eq!(hour.len(), MINUTES_KEPT);
        assert_eq!(
            hour[MINUTES_KEPT - 2],
            MinuteCounts {
                minute: start,
                attempts: 2,
                published: 1,
                errors: 1
            }
        );
        assert_eq!(hour[MINUTES_KEPT - 1].published, 1);
        assert_eq!(hour[0].attempts, 0);
        assert_eq!(
            activity.errors()[&("meta".to_string(), "platform-unavailable".to_string())],
            1
        );
        assert_eq!(
            activity.outcomes()[&("tiktok".to_string(), "published".to_string())],
            1
        );

        // Two hours on, the first minutes are gone from the series, not from the totals.
        for m in 0..70 {
            activity.record("meta", "published", None, start + (120 + m) * MINUTE_MS);
        }
        let later = activity.last_hour(start + 189 * MINUTE_MS);
        assert!(later.iter().all(|m| m.minute > start + 60_000));
        assert_eq!(later.iter().map(|m| m.published).sum::<u64>(), 60);
        assert_eq!(
            activity.outcomes()[&("meta".to_string(), "published".to_string())],
            71
        );
    }
}

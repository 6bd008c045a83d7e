//! Per-plugin job pipeline settings: `jobs = { max_attempts = 4, refresh_before_secs = 3600,
//! health_interval_secs = 21600 }` in a plugin's `plugins.toml` entry.

use std::time::Duration;

use serde::Deserialize;

/// How the pipeline treats one plugin's jobs and connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// Attempts per step before a job is dead-lettered (rate-limited answers do not count).
    pub max_attempts: u32,
    /// Refresh tokens this long before they expire, overriding the manifest's
    /// `refresh-before-expiry-secs`.
    pub refresh_before: Option<Duration>,
    /// How often each connection's `health()` runs.
    pub health_interval: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            max_attempts: 4,
            refresh_before: None,
            health_interval: Duration::from_secs(6 * 3600),
        }
    }
}

/// The raw table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJobSettings {
    max_attempts: Option<u32>,
    refresh_before_secs: Option<u64>,
    health_interval_secs: Option<u64>,
}

impl RawJobSettings {
    pub(super) fn resolve(&self) -> Result<JobSettings, String> {
        let defaults = JobSettings::default();
        let max_attempts = self.max_attempts.unwrap_or(defaults.max_attempts);
        if !(1..=50).contains(&max_attempts) {
            return Err("jobs.max_attempts must be between 1 and 50".into());
        }
        let health_interval = self
            .health_interval_secs
            .map(Duration::from_secs)
            .unwrap_or(defaults.health_interval);
        if health_interval < Duration::from_secs(60) {
            return Err("jobs.health_interval_secs must be at least 60".into());
        }
        Ok(JobSettings {
            max_attempts,
            refresh_before: self.refresh_before_secs.map(Duration::from_secs),
            health_interval,
        })
    }
}

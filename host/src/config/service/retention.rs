//! How long the host keeps what it records: finished jobs with their attempts, verified webhook
//! events, the connections' health log and the audit log. Each is a number of days (fractions
//! allowed: `0.25` is six hours, for short-lived deployments and soak runs); `0` keeps the rows
//! forever. The maintenance loop deletes what is older, in batches (`store::retention`).

use std::time::Duration;

use serde::Deserialize;

/// The largest retention accepted, in days: a century.
pub const MAX_RETENTION_DAYS: f64 = 36_500.0;

/// Retention of each recorded table; `None` keeps its rows forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Finished jobs (published, cancelled, deleted on the platform), their attempts and posts.
    pub jobs: Option<Duration>,
    /// Verified webhook events (and so their de-duplication: a platform redelivering an event
    /// older than this stores it again).
    pub webhook_events: Option<Duration>,
    /// Health checks of connections.
    pub health: Option<Duration>,
    /// The audit log.
    pub audit: Option<Duration>,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            jobs: Some(days(30.0)),
            webhook_events: Some(days(30.0)),
            health: Some(days(30.0)),
            audit: Some(days(365.0)),
        }
    }
}

/// The settings as written in `postd.toml`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawRetention {
    #[serde(default)]
    pub(super) job_retention_days: Option<f64>,
    #[serde(default)]
    pub(super) webhook_retention_days: Option<f64>,
    #[serde(default)]
    pub(super) health_retention_days: Option<f64>,
    #[serde(default)]
    pub(super) audit_retention_days: Option<f64>,
}

impl RetentionSettings {
    /// Each setting from the environment (`POSTD_*_RETENTION_DAYS`), else the file, else its
    /// default.
    pub(super) fn resolve(
        raw: &RawRetention,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let defaults = RetentionSettings::default();
        let one = |name: &str, file: Option<f64>, default: Option<Duration>| {
            let value = match env(name) {
                Some(text) => text.trim().parse::<f64>().map_err(|_| {
                    format!("{name} must be a number of days (0 keeps everything), not `{text}`")
                })?,
                None => match file {
                    Some(value) => value,
                    None => return Ok(default),
                },
            };
            if !(0.0..=MAX_RETENTION_DAYS).contains(&value) {
                return Err(format!(
                    "{name} is between 0 (keep everything) and {MAX_RETENTION_DAYS} days, not {value}"
                ));
            }
            Ok((value > 0.0).then(|| days(value)))
        };
        Ok(RetentionSettings {
            jobs: one(
                "POSTD_JOB_RETENTION_DAYS",
                raw.job_retention_days,
                defaults.jobs,
            )?,
            webhook_events: one(
                "POSTD_WEBHOOK_RETENTION_DAYS",
                raw.webhook_retention_days,
                defaults.webhook_events,
            )?,
            health: one(
                "POSTD_HEALTH_RETENTION_DAYS",
                raw.health_retention_days,
                defaults.health,
            )?,
            audit: one(
                "POSTD_AUDIT_RETENTION_DAYS",
                raw.audit_retention_days,
                defaults.audit,
            )?,
        })
    }

    /// The settings by name, in days, as the effective configuration shows them.
    pub fn describe(&self) -> [(&'static str, String); 4] {
        let show = |d: Option<Duration>| {
            d.map_or_else(
                || "0".to_string(),
                |d| {
                    let days = d.as_secs_f64() / 86_400.0;
                    format!("{}", (days * 1e6).round() / 1e6)
                },
            )
        };
        [
            ("job_retention_days", show(self.jobs)),
            ("webhook_retention_days", show(self.webhook_events)),
            ("health_retention_days", show(self.health)),
            ("audit_retention_days", show(self.audit)),
        ]
    }
}

/// `n` days (at millisecond precision).
fn days(n: f64) -> Duration {
    Duration::from_millis((n * 86_400_000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(file: RawRetention, env: &[(&str, &str)]) -> Result<RetentionSettings, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RetentionSettings::resolve(&file, |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_fractions_zero_and_bad_values() {
        assert_eq!(
            resolve(RawRetention::default(), &[]).unwrap(),
            RetentionSettings::default()
        );
        let file = RawRetention {
            audit_retention_days: Some(0.0),
            health_retention_days: Some(7.0),
            ..RawRetention::default()
        };
        let got = resolve(file, &[("POSTD_WEBHOOK_RETENTION_DAYS", "0.25")]).unwrap();
        assert_eq!(got.audit, None, "0 keeps everything");
        assert_eq!(got.health, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(got.webhook_events, Some(Duration::from_secs(6 * 3600)));
        for bad in ["-1", "ten", "40000"] {
            let error = resolve(
                RawRetention::default(),
                &[("POSTD_AUDIT_RETENTION_DAYS", bad)],
            )
            .unwrap_err();
            assert!(error.contains("POSTD_AUDIT_RETENTION_DAYS"), "{error}");
        }
        assert_eq!(got.describe()[1], ("webhook_retention_days", "0.25".into()));
    }
}

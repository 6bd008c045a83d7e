//! What a run's result means for its job: published, continue, retry (with backoff), wait out a
//! rate limit, pause, or dead-letter. Connectors describe what happened; this decides.

use crate::runtime::CallError;
use crate::runtime::wit::types::ConnectorError;
use crate::store::{PAUSED_FOR_CONNECTION, PAUSED_FOR_PLUGIN};

/// Backoff between attempts: `base · 3^(n-1)`, capped, plus up to `jitter` — 1 s, 3 s, 9 s,
/// 27 s, then 60 s, each plus up to 1 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay, in ms.
    pub base_ms: i64,
    /// The longest delay before jitter, in ms.
    pub cap_ms: i64,
    /// The largest random addition, in ms.
    pub jitter_ms: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 1_000,
            cap_ms: 60_000,
            jitter_ms: 1_000,
        }
    }
}

impl Backoff {
    /// The delay after attempt `attempt` (1-based) failed, without jitter.
    pub fn delay_ms(&self, attempt: u32) -> i64 {
        let factor = 3_i64.saturating_pow(attempt.saturating_sub(1));
        self.base_ms.saturating_mul(factor).min(self.cap_ms)
    }

    /// The delay with jitter drawn from `random` (0.0 ≤ random < 1.0).
    pub fn delay_with_jitter_ms(&self, attempt: u32, random: f64) -> i64 {
        self.delay_ms(attempt) + (self.jitter_ms as f64 * random) as i64
    }
}

/// The shortest wait after a rate-limited answer that gave no hint.
pub const MIN_RATE_LIMIT_WAIT_MS: i64 = 1_000;

/// What to do with a job after a failed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Retry with backoff (spends an attempt).
    Retry {
        /// Stable code.
        code: String,
        /// For the operator.
        error: String,
    },
    /// Wait out the platform's limit; the attempt is given back.
    RateLimited {
        /// How long.
        wait_ms: i64,
        /// For the operator.
        error: String,
    },
    /// The token expired: refresh, then retry.
    RefreshThenRetry {
        /// For the operator.
        error: String,
    },
    /// Hold the job; `connection` says how to mark its connection, if at all.
    Pause {
        /// The job's state reason.
        reason: String,
        /// New connection status and why, when the connection is at fault.
        connection: Option<(crate::store::ConnectionStatus, String)>,
        /// For the operator.
        error: String,
    },
    /// Dead-letter.
    Dead {
        /// The reason code.
        code: String,
        /// For the operator.
        error: String,
    },
}

/// Classifies a connector's error.
pub fn classify_connector(error: &ConnectorError) -> Verdict {
    use crate::store::ConnectionStatus;
    match error {
        ConnectorError::RateLimited(info) => Verdict::RateLimited {
            wait_ms: (info.retry_after_ms.min(i64::MAX as u64) as i64).max(MIN_RATE_LIMIT_WAIT_MS),
            error: format!("rate-limited: {}", info.reason),
        },
        ConnectorError::AuthExpired(why) => Verdict::RefreshThenRetry {
            error: format!("auth-expired: {why}"),
        },
        ConnectorError::AuthRevoked(why) => Verdict::Pause {
            reason: PAUSED_FOR_CONNECTION.into(),
            connection: Some((ConnectionStatus::Revoked, format!("access revoked: {why}"))),
            error: format!("auth-revoked: {why}"),
        },
        ConnectorError::PermissionMissing(scopes) => Verdict::Dead {
            code: "permission-missing".into(),
            error: format!("permission-missing: {}", scopes.join(" ")),
        },
        ConnectorError::InvalidInput(why) => Verdict::Dead {
            code: "invalid-input".into(),
            error: format!("invalid-input: {why}"),
        },
        ConnectorError::NotSupported(why) => Verdict::Dead {
            code: "not-supported".into(),
            error: format!("not-supported: {why}"),
        },
        ConnectorError::Transient(why) => Verdict::Retry {
            code: "transient".into(),
            error: format!("transient: {why}"),
        },
        ConnectorError::Platform(e) => Verdict::Dead {
            code: "platform-error".into(),
            error: format!("platform error {}: {}", e.code, e.message),
        },
    }
}

/// Classifies a host verdict on the call. Limits, traps and a missing version are retried (a
/// hot swap or a quieter moment may fix them); a plugin not enabled for the tenant pauses.
pub fn classify_call(error: &CallError) -> Verdict {
    match error {
        CallError::NotEnabled { .. } | CallError::UnknownPlugin(_) => Verdict::Pause {
            reason: PAUSED_FOR_PLUGIN.into(),
            connection: None,
            error: error.to_string(),
        },
        // The connector answered, so the platform may have acted; the same connector would
        // answer the same again, and a retry could act twice.
        CallError::AnswerTooLarge { .. } => Verdict::Dead {
            code: error.code().into(),
            error: error.to_string(),
        },
        _ => Verdict::Retry {
            code: error.code().into(),
            error: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_powers_of_three_and_caps_at_a_minute() {
        let b = Backoff::default();
        let delays: Vec<i64> = (1..=6).map(|n| b.delay_ms(n)).collect();
        assert_eq!(delays, [1_000, 3_000, 9_000, 27_000, 60_000, 60_000]);
        assert_eq!(b.delay_with_jitter_ms(2, 0.5), 3_500);
        assert_eq!(
            b.delay_ms(200),
            60_000,
            "no overflow on absurd attempt counts"
        );
    }

    #[test]
    fn an_oversized_answer_dead_letters_instead_of_acting_again() {
        let error = CallError::AnswerTooLarge {
            plugin: "hostile".into(),
            oversized: crate::runtime::bounds::Oversized {
                field: "published.post-id".into(),
                size: 2 << 20,
                limit: 1024,
            },
        };
        assert!(matches!(
            classify_call(&error),
            Verdict::Dead { code, .. } if code == "answer-too-large"
        ));
    }

    #[test]
    fn rate_limits_wait_at_least_a_second() {
        let e = ConnectorError::RateLimited(crate::runtime::wit::types::RateLimitedInfo {
            retry_after_ms: 0,
            reason: "429".into(),
        });
        assert!(matches!(
            classify_connector(&e),
            Verdict::RateLimited { wait_ms: 1_000, .. }
        ));
    }
}

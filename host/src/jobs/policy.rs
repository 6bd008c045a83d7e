//! What a run's result means for its job: published, continue, retry (with backoff), wait out a
//! rate limit, pause, or dead-letter. Connectors describe what happened; this decides.
//!
//! A rate limit is waited out for as long as the platform (or the connector) asks, at least
//! [`MIN_RATE_LIMIT_WAIT`] and at most a ceiling ([`DEFAULT_MAX_RATE_LIMIT_WAIT`], 24 h, the
//! `max_rate_limit_wait_secs` setting). A longer wait dead-letters the job with reason
//! [`RATE_LIMIT_TOO_LONG`] instead of scheduling it days, years or (for `Retry-After:
//! 99999999999999999` or `rate-limited(u64::MAX)`) the end of time ahead: the dead letter is
//! visible to the operator at once and can be replayed when the platform accepts requests
//! again, whereas a job queued for next year looks like it is waiting normally. Pausing was set
//! aside because a paused job resumes only through its connection or plugin, neither of which
//! is at fault here.

use std::time::Duration;

use crate::runtime::CallError;
use crate::runtime::wit::types::ConnectorError;
use crate::store::{PAUSED_FOR_CONNECTION, PAUSED_FOR_PLUGIN};
use crate::time::Span;

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
        // `as` from f64 saturates; the sum must too.
        self.delay_ms(attempt)
            .saturating_add((self.jitter_ms as f64 * random) as i64)
    }
}

/// The shortest wait after a rate-limited answer (one that gave no hint says 0).
pub const MIN_RATE_LIMIT_WAIT: Span = Span::from_secs(1);

/// The longest rate-limit wait scheduled by default; see the module documentation.
pub const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The reason code of a job dead-lettered because its rate-limit wait was over the ceiling.
pub const RATE_LIMIT_TOO_LONG: &str = "rate-limit-too-long";

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
        /// How long (at least [`MIN_RATE_LIMIT_WAIT`]; not yet held to the ceiling, see
        /// [`Verdict::within_ceiling`]).
        wait: Span,
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

impl Verdict {
    /// Holds a rate-limited wait to `ceiling`: a longer one becomes a dead letter with reason
    /// [`RATE_LIMIT_TOO_LONG`] whose message says what was asked and what the ceiling is. Other
    /// verdicts pass unchanged.
    pub fn within_ceiling(self, ceiling: Span) -> Verdict {
        match self {
            Verdict::RateLimited { wait, error } if wait > ceiling => Verdict::Dead {
                code: RATE_LIMIT_TOO_LONG.into(),
                error: too_long(wait, ceiling, &error),
            },
            other => other,
        }
    }
}

/// The dead letter's message for a rate-limit wait of `wait` over `ceiling`.
pub(super) fn too_long(wait: Span, ceiling: Span, error: &str) -> String {
    format!(
        "{error}: the platform asked to wait {wait} ({} ms), longer than the ceiling of \
         {ceiling} (max_rate_limit_wait_secs = {}); replay the dead letter once the platform \
         accepts requests again",
        wait.as_millis(),
        ceiling.as_millis() / 1000,
    )
}

/// Classifies a connector's error.
pub fn classify_connector(error: &ConnectorError) -> Verdict {
    use crate::store::ConnectionStatus;
    match error {
        ConnectorError::RateLimited(info) => Verdict::RateLimited {
            wait: Span::from_millis(info.retry_after_ms).max(MIN_RATE_LIMIT_WAIT),
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
        CallError::AnswerTooLarge { .. } | CallError::BadContinuation { .. } => Verdict::Dead {
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
        assert_eq!(
            classify_connector(&e),
            Verdict::RateLimited {
                wait: Span::from_secs(1),
                error: "rate-limited: 429".into()
            }
        );
    }

    fn rate_limited(ms: u64) -> Verdict {
        classify_connector(&ConnectorError::RateLimited(
            crate::runtime::wit::types::RateLimitedInfo {
                retry_after_ms: ms,
                reason: "HTTP 429 Too Many Requests".into(),
            },
        ))
    }

    #[test]
    fn waits_up_to_the_ceiling_are_kept_and_longer_ones_dead_letter() {
        let ceiling = Span::from(DEFAULT_MAX_RATE_LIMIT_WAIT);
        let day = 86_400_000;
        assert!(matches!(
            rate_limited(day).within_ceiling(ceiling),
            Verdict::RateLimited { wait, .. } if wait.as_millis() == day
        ));
        for ms in [day + 1, i64::MAX as u64, u64::MAX] {
            let Verdict::Dead { code, error } = rate_limited(ms).within_ceiling(ceiling) else {
                panic!("a wait of {ms} ms is over the ceiling");
            };
            assert_eq!(code, RATE_LIMIT_TOO_LONG);
            assert!(error.starts_with("rate-limited: HTTP 429"), "{error}");
            assert!(error.contains(&format!("({ms} ms)")), "{error}");
            assert!(error.contains("ceiling of 1 d"), "{error}");
            assert!(
                error.contains("max_rate_limit_wait_secs = 86400"),
                "{error}"
            );
        }
        let Verdict::Dead { error, .. } = rate_limited(u64::MAX).within_ceiling(ceiling) else {
            unreachable!()
        };
        assert!(error.contains("wait 584942417 y 129 d"), "{error}");
        let transient = Verdict::Retry {
            code: "transient".into(),
            error: "x".into(),
        };
        assert_eq!(transient.clone().within_ceiling(Span::ZERO), transient);
    }

    #[test]
    fn jitter_never_overflows() {
        let b = Backoff {
            base_ms: i64::MAX,
            cap_ms: i64::MAX,
            jitter_ms: i64::MAX,
        };
        assert_eq!(b.delay_with_jitter_ms(40, 0.999), i64::MAX);
    }
}

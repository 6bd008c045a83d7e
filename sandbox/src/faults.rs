//! Fault injection shared by every platform: a named error for the next N calls, an error rate drawn
//! from a seeded generator (so a test run is reproducible) over one error or a mix, and added latency.
//!
//! Errors are named per platform (`190` or `190/463` for Meta, `spam_risk_too_many_posts` for TikTok,
//! `RESOURCE_EXHAUSTED` for Google, an HTTP status such as `503` for any platform) and rendered in that
//! platform's own error shape by `platforms::render_named_error`. Three names work on every
//! platform: [`THROTTLE`] is a 429 with `Retry-After` ([`RETRY_AFTER_SECS`]) and a plain body, as
//! a gateway in front of the platform sends it (a platform's own throttle keeps its own shape);
//! [`HANG`] holds the request without answering (the client's timeout ends it) and [`RESET`]
//! starts a `200` answer and cuts the connection mid-body.
//!
//! A name prefixed with [`ANSWER_LOST`] (`answer-lost:502`) lets the call act first (the post is
//! made, the draft saved) and then answers the error instead of the platform's answer: a proxy's
//! 502 or a reset after the work was done, which a client cannot tell from a failure before it.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;
use crate::request_log::lock;

/// "The next `count` calls fail with `error`".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The platform-specific error name (see the crate docs for the names each platform knows).
    pub error: String,
    /// How many matching calls fail; the rule is dropped once it reaches zero.
    #[serde(default = "one")]
    pub count: u32,
    /// Only calls whose path (after the platform prefix) contains this text match.
    #[serde(default)]
    pub path_contains: Option<String>,
}

fn one() -> u32 {
    1
}

/// Prefix of an error name whose call acts before its answer is lost (`answer-lost:502`).
pub const ANSWER_LOST: &str = "answer-lost:";

/// The name of a fault answered `429` with `Retry-After` by a gateway, not the platform.
pub const THROTTLE: &str = "throttle";

/// The name of a fault that holds the request unanswered for the platform's `hang_ms`.
pub const HANG: &str = "hang";

/// The name of a fault that answers `200` and resets the connection in the middle of the body.
pub const RESET: &str = "reset";

/// `Retry-After` of a [`THROTTLE`].
pub const RETRY_AFTER_SECS: u64 = 1;

/// Splits a fault's error name into whether the call acts first and the error answered.
pub fn answer_lost(name: &str) -> (bool, &str) {
    match name.strip_prefix(ANSWER_LOST) {
        Some(error) => (true, error),
        None => (false, name),
    }
}

/// Fault settings of one platform.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlatformFaults {
    /// Rules applied in order; the first matching one fires.
    pub rules: Vec<FaultRule>,
    /// Probability (0.0-1.0) that a call fails with one of `rate_errors`.
    pub error_rate: f64,
    /// Errors used by `error_rate`, drawn with equal odds.
    pub rate_errors: Vec<String>,
    /// Added latency per call, in milliseconds (real time).
    pub latency_ms: u64,
    /// How long a [`HANG`] holds its request before answering 504, in milliseconds.
    pub hang_ms: u64,
    /// State of the seeded generator behind `error_rate`.
    pub rng_state: u64,
    /// Faults injected so far (rules and error rate).
    #[serde(default)]
    pub injected: u64,
}

impl Default for PlatformFaults {
    fn default() -> Self {
        PlatformFaults {
            rules: Vec::new(),
            error_rate: 0.0,
            rate_errors: vec!["503".into()],
            latency_ms: 0,
            hang_ms: 60_000,
            rng_state: 0x5eed,
            injected: 0,
        }
    }
}

/// What to do with one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Decision {
    pub latency_ms: u64,
    pub hang_ms: u64,
    pub error: Option<String>,
}

/// Fault settings of every platform.
#[derive(Debug, Default)]
pub struct Faults {
    per: Mutex<HashMap<Platform, PlatformFaults>>,
}

impl Faults {
    /// Adds a rule for `platform`.
    pub fn push_rule(&self, platform: Platform, rule: FaultRule) {
        lock(&self.per)
            .entry(platform)
            .or_default()
            .rules
            .push(rule);
    }

    /// Sets the error rate, its errors (drawn with equal odds; `503` when empty) and the
    /// generator seed for `platform`.
    pub fn set_error_rate(&self, platform: Platform, rate: f64, errors: &[String], seed: u64) {
        let mut per = lock(&self.per);
        let f = per.entry(platform).or_default();
        f.error_rate = rate.clamp(0.0, 1.0);
        f.rate_errors = if errors.is_empty() {
            PlatformFaults::default().rate_errors
        } else {
            errors.to_vec()
        };
        f.rng_state = seed;
    }

    /// Sets the added latency for `platform`.
    pub fn set_latency(&self, platform: Platform, latency_ms: u64) {
        lock(&self.per).entry(platform).or_default().latency_ms = latency_ms;
    }

    /// Sets how long a [`HANG`] on `platform` holds its request.
    pub fn set_hang(&self, platform: Platform, hang_ms: u64) {
        lock(&self.per).entry(platform).or_default().hang_ms = hang_ms;
    }

    /// The current settings of `platform`.
    pub fn get(&self, platform: Platform) -> PlatformFaults {
        lock(&self.per).get(&platform).cloned().unwrap_or_default()
    }

    /// Removes every fault of `platform` (all platforms when `None`).
    pub fn clear(&self, platform: Option<Platform>) {
        let mut per = lock(&self.per);
        match platform {
            Some(p) => {
                per.remove(&p);
            }
            None => per.clear(),
        }
    }

    /// Decides the fate of one call to `path` on `platform`, consuming a rule use when one fires.
    pub(crate) fn decide(&self, platform: Platform, path: &str) -> Decision {
        let mut per = lock(&self.per);
        let Some(f) = per.get_mut(&platform) else {
            return Decision::default();
        };
        let mut decision = Decision {
            latency_ms: f.latency_ms,
            hang_ms: f.hang_ms,
            error: None,
        };
        if let Some(i) = f.rules.iter().position(|r| {
            r.count > 0 && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
        }) {
            let rule = &mut f.rules[i];
            rule.count -= 1;
            decision.error = Some(rule.error.clone());
            f.injected += 1;
            if rule.count == 0 {
                f.rules.remove(i);
            }
            return decision;
        }
        if f.error_rate > 0.0 {
            let draw = splitmix64(&mut f.rng_state);
            let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
            if unit < f.error_rate && !f.rate_errors.is_empty() {
                let pick = splitmix64(&mut f.rng_state) % f.rate_errors.len() as u64;
                decision.error = Some(f.rate_errors[pick as usize].clone());
                f.injected += 1;
            }
        }
        decision
    }
}

/// SplitMix64: small, fast, and deterministic for a given seed.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_fires_count_times_on_matching_paths() {
        let faults = Faults::default();
        faults.push_rule(
            Platform::Meta,
            FaultRule {
                error: "190".into(),
                count: 2,
                path_contains: Some("/feed".into()),
            },
        );
        assert_eq!(faults.decide(Platform::Meta, "/v20.0/me").error, None);
        assert_eq!(
            faults
                .decide(Platform::Meta, "/v20.0/1/feed")
                .error
                .as_deref(),
            Some("190")
        );
        assert_eq!(
            faults
                .decide(Platform::Meta, "/v20.0/1/feed")
                .error
                .as_deref(),
            Some("190")
        );
        assert_eq!(faults.decide(Platform::Meta, "/v20.0/1/feed").error, None);
    }

    #[test]
    fn answer_lost_names_keep_their_error() {
        assert_eq!(answer_lost("answer-lost:502"), (true, "502"));
        assert_eq!(answer_lost("503"), (false, "503"));
        assert_eq!(answer_lost("answer-lost"), (false, "answer-lost"));
    }

    #[test]
    fn error_rate_is_reproducible() {
        let run = || {
            let faults = Faults::default();
            faults.set_error_rate(Platform::Gbp, 0.5, &["503".into()], 42);
            (0..64)
                .map(|_| faults.decide(Platform::Gbp, "/").error.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let failures = a.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&failures), "{failures}");
    }

    #[test]
    fn an_error_mix_draws_each_of_its_errors() {
        let faults = Faults::default();
        let mix: Vec<String> = ["503", THROTTLE, HANG, RESET].map(String::from).to_vec();
        faults.set_error_rate(Platform::Linkedin, 1.0, &mix, 3);
        let mut seen = std::collections::BTreeMap::<String, u32>::new();
        for _ in 0..400 {
            let error = faults.decide(Platform::Linkedin, "/rest/posts").error;
            *seen
                .entry(error.expect("every call fails at rate 1"))
                .or_default() += 1;
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(seen.values().all(|n| (60..=140).contains(n)), "{seen:?}");
    }
}

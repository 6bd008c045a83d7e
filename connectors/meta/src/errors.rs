//! Graph API errors mapped onto the connector error, by Graph code and subcode.
//!
//! | Code | Error |
//! | --- | --- |
//! | 1, 2 | transient |
//! | 4, 17, 32, 613, 80001-80009 | rate-limited |
//! | 368 with subcode 1390008 ("posting too fast") | rate-limited |
//! | 9 with subcode 2207042 (Instagram daily publishing limit) | rate-limited, an hour |
//! | 190 subcode 463 (expired) | auth-expired |
//! | 190 otherwise (458 app removed, 459 checkpoint, 460 password changed, 467 invalid) | auth-revoked |
//! | 10, 200-299 | permission-missing |
//! | 100 (bad parameter) | invalid-input |
//! | 506 (duplicate post) | platform `506` |
//! | 2635 (a retired Graph API version) | platform `2635`, naming the version in use |
//! | anything else | platform, with the code (and subcode) |
//!
//! Rate-limit waits come from `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, in
//! minutes, the largest across entries); Meta sends no `Retry-After`, so without that header the
//! wait is [`DEFAULT_THROTTLE_WAIT_MS`].

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// Graph's code for a call to a retired (deprecated) API version.
pub const RETIRED_VERSION: &str = "2635";

/// Wait after a throttle when Meta gives no estimate.
pub const DEFAULT_THROTTLE_WAIT_MS: u64 = 60_000;

/// Wait after Instagram's 24-hour publishing limit.
pub const IG_LIMIT_WAIT_MS: u64 = 3_600_000;

/// A Graph error body's `error` object.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct GraphError {
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// The error code.
    #[serde(default)]
    pub code: i64,
    /// The subcode, when there is one.
    #[serde(default)]
    pub error_subcode: Option<i64>,
    /// A message meant for the user, when there is one.
    #[serde(default)]
    pub error_user_msg: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

/// The Graph error in a body, if it holds one.
pub fn parse(body: &[u8]) -> Option<GraphError> {
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error)
}

/// Maps a failed answer: the Graph error when the body has one, else the HTTP status.
pub fn from_response(response: &http::Response) -> Error {
    match parse(&response.body) {
        Some(error) => map(&error, response.header("x-business-use-case-usage")),
        None => Error::from_status(response.status, &response.headers, http::now_unix()),
    }
}

/// Maps one Graph error; `usage` is the `X-Business-Use-Case-Usage` header, if any.
pub fn map(error: &GraphError, usage: Option<&str>) -> Error {
    let subcode = error.error_subcode.unwrap_or(0);
    let label = match error.error_subcode {
        Some(sub) => format!("({}/{sub}) {}", error.code, error.message),
        None => format!("({}) {}", error.code, error.message),
    };
    let wait = || regain_access_ms(usage).unwrap_or(DEFAULT_THROTTLE_WAIT_MS);
    match error.code {
        1 | 2 => Error::transient(label),
        4 | 17 | 32 | 613 | 80001..=80009 => Error::rate_limited(wait(), label),
        368 if subcode == 1_390_008 => Error::rate_limited(wait(), label),
        9 if subcode == 2_207_042 => Error::rate_limited(IG_LIMIT_WAIT_MS, label),
        190 if subcode == 463 => Error::AuthExpired(label),
        190 => Error::AuthRevoked(label),
        10 | 200..=299 => Error::PermissionMissing(Vec::new()),
        100 => Error::invalid_input(match &error.error_user_msg {
            Some(user) => format!("{label}: {user}"),
            None => label,
        }),
        code => Error::platform(
            match error.error_subcode {
                Some(sub) => format!("{code}/{sub}"),
                None => code.to_string(),
            },
            error.message.clone(),
        ),
    }
}

/// The longest `estimated_time_to_regain_access` (minutes) in an `X-Business-Use-Case-Usage`
/// header, in milliseconds; `None` when absent, malformed or zero.
pub fn regain_access_ms(header: Option<&str>) -> Option<u64> {
    let usage: Value = serde_json::from_str(header?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access"))
        .filter_map(Value::as_u64)
        .max()?;
    (minutes > 0).then(|| minutes * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(code: i64, sub: Option<i64>) -> GraphError {
        GraphError {
            message: "m".into(),
            code,
            error_subcode: sub,
            error_user_msg: None,
        }
    }

    #[test]
    fn codes_map_to_the_taxonomy() {
        assert!(matches!(map(&graph(1, None), None), Error::Transient(_)));
        assert!(matches!(map(&graph(2, None), None), Error::Transient(_)));
        for code in [4, 17, 32, 613, 80001] {
            assert!(
                matches!(map(&graph(code, None), None), Error::RateLimited(_)),
                "{code}"
            );
        }
        assert!(matches!(
            map(&graph(368, Some(1_390_008)), None),
            Error::RateLimited(_)
        ));
        assert!(matches!(map(&graph(368, None), None), Error::Platform(_)));
        assert!(matches!(
            map(&graph(190, Some(463)), None),
            Error::AuthExpired(_)
        ));
        for sub in [None, Some(458), Some(460), Some(467)] {
            assert!(matches!(map(&graph(190, sub), None), Error::AuthRevoked(_)));
        }
        for code in [10, 200, 299] {
            assert!(matches!(
                map(&graph(code, None), None),
                Error::PermissionMissing(_)
            ));
        }
        assert!(matches!(
            map(&graph(100, None), None),
            Error::InvalidInput(_)
        ));
        assert!(matches!(map(&graph(506, None), None), Error::Platform(p) if p.code == "506"));
        assert!(
            matches!(map(&graph(2635, None), None), Error::Platform(p) if p.code == RETIRED_VERSION)
        );
    }

    #[test]
    fn throttle_waits_come_from_the_usage_header() {
        let header = r#"{"2001":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":5}],"2002":[{"estimated_time_to_regain_access":2}]}"#;
        assert_eq!(regain_access_ms(Some(header)), Some(300_000));
        match map(&graph(32, None), Some(header)) {
            Error::RateLimited(info) => assert_eq!(info.retry_after_ms, 300_000),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            regain_access_ms(Some(r#"{"1":[{"estimated_time_to_regain_access":0}]}"#)),
            None
        );
        assert_eq!(regain_access_ms(Some("garbage")), None);
        match map(&graph(17, None), None) {
            Error::RateLimited(info) => assert_eq!(info.retry_after_ms, DEFAULT_THROTTLE_WAIT_MS),
            other => panic!("{other:?}"),
        }
    }
}

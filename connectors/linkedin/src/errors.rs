//! LinkedIn errors (`{"message", "serviceErrorCode", "status", "code"}`) mapped onto the
//! connector error.
//!
//! | Answer | Error |
//! | --- | --- |
//! | 401 / 65600 `EXPIRED_ACCESS_TOKEN` | auth-expired (a refresh may fix it) |
//! | 401 / 65600 `REVOKED_ACCESS_TOKEN`, `INVALID_ACCESS_TOKEN`, any other 401 | auth-revoked |
//! | 429 / 101 | rate-limited: a "DAY limit" waits until midnight UTC, when LinkedIn resets it; otherwise `Retry-After` when an answer carries one (LinkedIn sends none; a gateway in front may), else a minute |
//! | 426 (`NONEXISTENT_VERSION`) | platform `426`, naming the `LinkedIn-Version` sent |
//! | 403 (`ACCESS_DENIED`) | permission-missing |
//! | 400, 404, 422 (with `errorDetails.inputErrors`) | invalid-input, with LinkedIn's reasons |
//! | 5xx, 408 | transient |

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// Wait after a throttle that is not the daily one.
pub const DEFAULT_THROTTLE_WAIT_MS: u64 = 60_000;

/// A LinkedIn error body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiError {
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// LinkedIn's service error code (65600 tokens, 101 throttles).
    #[serde(default)]
    pub service_error_code: Option<i64>,
    /// The symbolic code (`EXPIRED_ACCESS_TOKEN`, `NONEXISTENT_VERSION`).
    #[serde(default)]
    pub code: Option<String>,
    /// Validation details of a 422.
    #[serde(default)]
    pub error_details: Option<Value>,
}

/// Maps a failed answer; `version` is the `LinkedIn-Version` the request carried.
pub fn from_response(response: &http::Response, version: &str) -> Error {
    let body: LiError = serde_json::from_slice(&response.body).unwrap_or_default();
    let now = http::now_unix();
    if response.status == 429
        && !body.message.contains("DAY")
        && response.header("retry-after").is_some()
    {
        return Error::from_status(429, &response.headers, now);
    }
    map(response.status, &body, version, now)
}

/// Maps one error answer.
pub fn map(status: u16, error: &LiError, version: &str, now_unix: i64) -> Error {
    let code = error.code.as_deref().unwrap_or("");
    let label = match (error.service_error_code, code) {
        (Some(service), "") => format!("({service}) {}", error.message),
        (Some(service), code) => format!("({service} {code}) {}", error.message),
        (None, "") => format!("(HTTP {status}) {}", error.message),
        (None, code) => format!("({code}) {}", error.message),
    };
    if status == 401 || error.service_error_code == Some(65_600) {
        return match code {
            "EXPIRED_ACCESS_TOKEN" => Error::AuthExpired(label),
            _ => Error::AuthRevoked(label),
        };
    }
    if status == 429 || error.service_error_code == Some(101) {
        let wait = if error.message.contains("DAY") {
            until_midnight_utc_ms(now_unix).max(DEFAULT_THROTTLE_WAIT_MS)
        } else {
            DEFAULT_THROTTLE_WAIT_MS
        };
        return Error::rate_limited(wait, label);
    }
    match status {
        426 => Error::platform(
            "426",
            format!(
                "LinkedIn-Version {version} is not active ({}): set the `linkedin-version` setting to a current YYYYMM",
                if code.is_empty() {
                    "NONEXISTENT_VERSION"
                } else {
                    code
                }
            ),
        ),
        403 => Error::PermissionMissing(Vec::new()),
        400 | 404 | 409 | 410 | 413 | 415 | 422 => {
            let reasons = input_errors(error.error_details.as_ref());
            Error::invalid_input(if reasons.is_empty() {
                label
            } else {
                format!("{label}: {}", reasons.join("; "))
            })
        }
        408 | 500..=599 => Error::transient(label),
        other => Error::platform(other.to_string(), label),
    }
}

/// `fieldPath: description` of each input error of a 422.
fn input_errors(details: Option<&Value>) -> Vec<String> {
    details
        .and_then(|d| d.get("inputErrors"))
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let path = e
                        .pointer("/input/inputPath/fieldPath")
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    let description = e.get("description").and_then(Value::as_str).unwrap_or("");
                    format!("{path}: {description}")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Milliseconds until the next midnight UTC.
pub fn until_midnight_utc_ms(now_unix: i64) -> u64 {
    let into_day = now_unix.rem_euclid(86_400);
    ((86_400 - into_day) * 1000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(service: Option<i64>, code: &str, message: &str) -> LiError {
        LiError {
            message: message.into(),
            service_error_code: service,
            code: Some(code.into()).filter(|c: &String| !c.is_empty()),
            error_details: None,
        }
    }

    #[test]
    fn token_errors_are_expired_or_revoked() {
        let at = 1_800_000_000;
        assert!(matches!(
            map(
                401,
                &error(Some(65600), "EXPIRED_ACCESS_TOKEN", "x"),
                "202610",
                at
            ),
            Error::AuthExpired(_)
        ));
        for code in ["REVOKED_ACCESS_TOKEN", "INVALID_ACCESS_TOKEN", ""] {
            assert!(matches!(
                map(401, &error(Some(65600), code, "x"), "202610", at),
                Error::AuthRevoked(_)
            ));
        }
    }

    #[test]
    fn the_daily_throttle_waits_until_midnight_utc() {
        // 23:00 UTC: one hour to go.
        let at = 1_800_000_000 - 1_800_000_000 % 86_400 + 23 * 3600;
        let daily = error(
            Some(101),
            "",
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        );
        match map(429, &daily, "202610", at) {
            Error::RateLimited(info) => assert_eq!(info.retry_after_ms, 3_600_000),
            other => panic!("{other:?}"),
        }
        match map(429, &error(Some(101), "", "throttled"), "202610", at) {
            Error::RateLimited(info) => assert_eq!(info.retry_after_ms, DEFAULT_THROTTLE_WAIT_MS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_gateway_429_waits_its_retry_after_but_the_daily_limit_waits_for_midnight() {
        let answer = |body: &str| http::Response {
            status: 429,
            headers: vec![("retry-after".into(), "3".into())],
            body: body.as_bytes().to_vec(),
        };
        match from_response(&answer(r#"{"message":"Too many requests"}"#), "202610") {
            Error::RateLimited(info) => assert_eq!(info.retry_after_ms, 3_000),
            other => panic!("{other:?}"),
        }
        let daily = r#"{"message":"Resource level throttle APPLICATION DAY limit for calls to this resource is reached.","serviceErrorCode":101}"#;
        match from_response(&answer(daily), "202610") {
            Error::RateLimited(info) => assert!(info.retry_after_ms >= DEFAULT_THROTTLE_WAIT_MS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_retired_version_is_named() {
        match map(426, &error(None, "NONEXISTENT_VERSION", "x"), "202001", 0) {
            Error::Platform(p) => {
                assert_eq!(p.code, "426");
                assert!(p.message.contains("202001"), "{}", p.message);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_errors_carry_linkedins_reasons() {
        let mut bad = error(None, "", "/commentary: too long");
        bad.error_details = Some(
            serde_json::json!({"inputErrors": [{"description": "commentary is longer than 3000 characters", "input": {"inputPath": {"fieldPath": "/commentary"}}, "code": "FIELD_LENGTH_TOO_LONG"}]}),
        );
        match map(422, &bad, "202610", 0) {
            Error::InvalidInput(why) => assert!(why.contains("/commentary: commentary is longer")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            map(403, &error(Some(100), "ACCESS_DENIED", "x"), "v", 0),
            Error::PermissionMissing(_)
        ));
        assert!(matches!(
            map(503, &LiError::default(), "v", 0),
            Error::Transient(_)
        ));
    }
}

//! The connector error and how HTTP answers map onto it.

use crate::bindings::postd::connector::http::HttpError;
pub use crate::bindings::postd::connector::types::{
    ConnectorError as Error, PlatformError, RateLimitedInfo,
};

/// Wait used when a platform says "too many requests" without saying for how long.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 60_000;

impl Error {
    /// The connector or platform does not do `what`.
    pub fn not_supported(what: impl Into<String>) -> Self {
        Error::NotSupported(what.into())
    }

    /// The request can never succeed as given.
    pub fn invalid_input(reason: impl Into<String>) -> Self {
        Error::InvalidInput(reason.into())
    }

    /// A passing failure; the host retries with backoff.
    pub fn transient(reason: impl Into<String>) -> Self {
        Error::Transient(reason.into())
    }

    /// Over the platform's budget; retry after `retry_after_ms`.
    pub fn rate_limited(retry_after_ms: u64, reason: impl Into<String>) -> Self {
        Error::RateLimited(RateLimitedInfo {
            retry_after_ms,
            reason: reason.into(),
        })
    }

    /// Any other platform error, with the platform's own code.
    pub fn platform(code: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Platform(PlatformError {
            code: code.into(),
            message: message.into(),
        })
    }

    /// Maps a non-success HTTP status to an error, for platforms whose statuses say enough.
    ///
    /// `headers` are the response headers (for `Retry-After`); `now_unix` is the current time in
    /// seconds, used when `Retry-After` is a date. Connectors with richer error bodies should read
    /// the body first and fall back to this.
    ///
    /// | status | error |
    /// | --- | --- |
    /// | 429 | rate-limited, waiting `Retry-After` (or 60 s) |
    /// | 401 | auth-expired |
    /// | 403 | permission-missing |
    /// | 400, 404, 405, 409, 410, 413, 415, 422 | invalid-input |
    /// | 408, 425, 500, 502, 503, 504 and other 5xx | transient (rate-limited if 503 says `Retry-After`) |
    /// | anything else | platform, with the status as code |
    pub fn from_status(status: u16, headers: &[(String, String)], now_unix: i64) -> Self {
        let retry_after = header(headers, "retry-after").and_then(|v| retry_after_ms(v, now_unix));
        match status {
            429 => Error::rate_limited(
                retry_after.unwrap_or(DEFAULT_RETRY_AFTER_MS),
                "HTTP 429 Too Many Requests",
            ),
            401 => Error::AuthExpired("HTTP 401 Unauthorized".into()),
            403 => Error::PermissionMissing(Vec::new()),
            400 | 404 | 405 | 409 | 410 | 413 | 415 | 422 => {
                Error::invalid_input(format!("HTTP {status}"))
            }
            503 if retry_after.is_some() => Error::rate_limited(
                retry_after.unwrap_or(DEFAULT_RETRY_AFTER_MS),
                "HTTP 503 with Retry-After",
            ),
            408 | 425 | 500..=599 => Error::transient(format!("HTTP {status}")),
            _ => Error::platform(
                status.to_string(),
                format!("unexpected HTTP status {status}"),
            ),
        }
    }

    /// True for the cases the host retries: rate-limited and transient.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RateLimited(_) | Error::Transient(_))
    }
}

impl From<HttpError> for Error {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(rule) => Error::platform("egress-denied", rule),
            HttpError::RateLimited(ms) => Error::rate_limited(ms, "host rate budget spent"),
            HttpError::Timeout => Error::transient("request timed out"),
            HttpError::TooLarge(cap) => Error::invalid_input(format!("body over {cap} bytes")),
            HttpError::InvalidRequest(why) => Error::invalid_input(why),
            HttpError::Connection(why) => Error::transient(why),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::platform("malformed-response", error.to_string())
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses a `Retry-After` value, delta-seconds or an HTTP date (RFC 9110 §10.2.3), into
/// milliseconds from `now_unix`. A date in the past means "now" (0); garbage means `None`.
///
/// Nothing here overflows, whatever the platform sends: delta-seconds too large for a `u64`
/// (or whose milliseconds are) saturate at `u64::MAX`, and so does a date's distance. The host
/// decides what a wait that long means (it refuses waits above its ceiling); connectors
/// compiled in release mode would otherwise wrap such a value into a short wait.
pub fn retry_after_ms(value: &str, now_unix: i64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only too many of them fails to parse.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(seconds.saturating_mul(1000));
    }
    let at = parse_imf_fixdate(value)?;
    let seconds = u64::try_from(at.saturating_sub(now_unix)).unwrap_or(0);
    Some(seconds.saturating_mul(1000))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT` into Unix seconds.
fn parse_imf_fixdate(value: &str) -> Option<i64> {
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    // `4DIGIT` (RFC 9110 §5.6.7): also keeps the arithmetic below far from overflowing.
    let year = parts.next()?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = year.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(crate::time::days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn retry_after_seconds_and_dates_become_milliseconds() {
        assert_eq!(retry_after_ms("120", 0), Some(120_000));
        // 1994-11-06T08:49:37Z is 784111777.
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_770),
            Some(7_000)
        );
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800),
            Some(0)
        );
        assert_eq!(retry_after_ms("soon", 0), None);
        assert_eq!(retry_after_ms("Sun, 06 Nov 1994 25:49:37 GMT", 0), None);
    }

    #[test]
    fn huge_retry_after_values_saturate_instead_of_wrapping() {
        // Seconds whose milliseconds overflow a u64, and seconds that overflow one themselves.
        assert_eq!(retry_after_ms("99999999999999999", 0), Some(u64::MAX));
        assert_eq!(retry_after_ms("18446744073709551615", 0), Some(u64::MAX));
        assert_eq!(
            retry_after_ms("99999999999999999999999999", 0),
            Some(u64::MAX)
        );
        assert_eq!(
            retry_after_ms("18446744073709551", 0),
            Some(18_446_744_073_709_551_000)
        );
        assert_eq!(retry_after_ms("-5", 0), None);
        assert_eq!(retry_after_ms("", 0), None);
        // Dates: the distance from a clock at either end of time, and years out of HTTP's range.
        let date = "Fri, 31 Dec 9999 23:59:59 GMT";
        assert_eq!(retry_after_ms(date, i64::MIN), Some(u64::MAX));
        assert_eq!(retry_after_ms(date, i64::MAX), Some(0));
        assert_eq!(retry_after_ms(date, 0), Some(253_402_300_799_000));
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 99999999999999 08:49:37 GMT", 0),
            None
        );
        assert_eq!(retry_after_ms("Sun, 06 Nov -1994 08:49:37 GMT", 0), None);
        let wait = Error::from_status(429, &headers(&[("Retry-After", "99999999999999999")]), 0);
        assert!(matches!(
            wait,
            Error::RateLimited(RateLimitedInfo {
                retry_after_ms: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn status_429_waits_for_retry_after_or_a_minute() {
        let with = Error::from_status(429, &headers(&[("Retry-After", "7")]), 0);
        assert!(matches!(
            with,
            Error::RateLimited(RateLimitedInfo {
                retry_after_ms: 7000,
                ..
            })
        ));
        let without = Error::from_status(429, &[], 0);
        assert!(
            matches!(without, Error::RateLimited(RateLimitedInfo { retry_after_ms, .. }) if retry_after_ms == DEFAULT_RETRY_AFTER_MS)
        );
    }

    #[test]
    fn statuses_map_to_the_taxonomy() {
        assert!(matches!(
            Error::from_status(401, &[], 0),
            Error::AuthExpired(_)
        ));
        assert!(matches!(
            Error::from_status(403, &[], 0),
            Error::PermissionMissing(_)
        ));
        assert!(matches!(
            Error::from_status(422, &[], 0),
            Error::InvalidInput(_)
        ));
        assert!(matches!(
            Error::from_status(502, &[], 0),
            Error::Transient(_)
        ));
        assert!(matches!(
            Error::from_status(408, &[], 0),
            Error::Transient(_)
        ));
        assert!(matches!(
            Error::from_status(503, &headers(&[("retry-after", "30")]), 0),
            Error::RateLimited(_)
        ));
        assert!(matches!(Error::from_status(418, &[], 0), Error::Platform(p) if p.code == "418"));
        assert!(Error::from_status(500, &[], 0).is_retryable());
        assert!(!Error::from_status(400, &[], 0).is_retryable());
    }

    #[test]
    fn host_http_errors_map_to_connector_errors() {
        assert!(matches!(
            Error::from(HttpError::RateLimited(5)),
            Error::RateLimited(_)
        ));
        assert!(matches!(
            Error::from(HttpError::Timeout),
            Error::Transient(_)
        ));
        assert!(matches!(
            Error::from(HttpError::Denied("x".into())),
            Error::Platform(_)
        ));
    }
}

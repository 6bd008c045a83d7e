//! Google API calls: base URLs, the vault entries, the token endpoint and errors.
//!
//! Errors come as `{"error": {"code", "message", "status", "details"}}`; the `status` decides:
//!
//! | status | error |
//! | --- | --- |
//! | `UNAUTHENTICATED` (401) | auth-expired (the host refreshes, then asks for a reconnect) |
//! | `PERMISSION_DENIED` (403) | permission-missing (`business.manage`) |
//! | `RESOURCE_EXHAUSTED` (429) | rate-limited, a minute (Google sends no `Retry-After`; edits are 10 per minute per profile) |
//! | `INVALID_ARGUMENT`, `NOT_FOUND`, `FAILED_PRECONDITION`, `ALREADY_EXISTS`, `OUT_OF_RANGE` | invalid-input with Google's message |
//! | `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`, `ABORTED`, other 5xx | transient |

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Default bases of the Google APIs the connector calls.
pub mod defaults {
    /// Consent screen.
    pub const AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
    /// Token endpoint base (`/token`).
    pub const OAUTH_BASE: &str = "https://oauth2.googleapis.com";
    /// Account Management (`/v1/accounts`).
    pub const ACCOUNTS_BASE: &str = "https://mybusinessaccountmanagement.googleapis.com";
    /// Business Information (`/v1/{account}/locations`).
    pub const INFORMATION_BASE: &str = "https://mybusinessbusinessinformation.googleapis.com";
    /// Local posts (`/v4/.../localPosts`).
    pub const POSTS_BASE: &str = "https://mybusiness.googleapis.com";
    /// Performance (`/v1/locations/{id}:fetchMultiDailyMetricsTimeSeries`).
    pub const PERFORMANCE_BASE: &str = "https://businessprofileperformance.googleapis.com";
}

/// Wait after `RESOURCE_EXHAUSTED`.
pub const THROTTLE_WAIT_MS: u64 = 60_000;

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    error: GoogleError,
}

/// The `error` object of a Google error body.
#[derive(Debug, Default, Deserialize)]
pub struct GoogleError {
    /// HTTP status as a number.
    #[serde(default)]
    pub code: u16,
    /// Google's message.
    #[serde(default)]
    pub message: String,
    /// The canonical status (`RESOURCE_EXHAUSTED`).
    #[serde(default)]
    pub status: String,
}

/// Maps a failed answer.
pub fn from_response(response: &http::Response) -> Error {
    match serde_json::from_slice::<Envelope>(&response.body) {
        Ok(envelope) if !envelope.error.status.is_empty() => map(&envelope.error),
        _ => Error::from_status(response.status, &response.headers, http::now_unix()),
    }
}

/// Maps one Google error.
pub fn map(error: &GoogleError) -> Error {
    let label = format!("({} {}) {}", error.code, error.status, error.message);
    match error.status.as_str() {
        "UNAUTHENTICATED" => Error::AuthExpired(label),
        "PERMISSION_DENIED" => Error::PermissionMissing(vec![
            "https://www.googleapis.com/auth/business.manage".into(),
        ]),
        "RESOURCE_EXHAUSTED" => Error::rate_limited(THROTTLE_WAIT_MS, label),
        "INVALID_ARGUMENT"
        | "NOT_FOUND"
        | "FAILED_PRECONDITION"
        | "ALREADY_EXISTS"
        | "OUT_OF_RANGE" => Error::invalid_input(label),
        "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "ABORTED" => Error::transient(label),
        _ if error.code >= 500 => Error::transient(label),
        other => Error::platform(other.to_string(), label),
    }
}

/// Sends `request` with `token`; a failed answer becomes the mapped [`Error`].
pub fn send(request: http::Request, token: &str) -> Result<http::Response> {
    let response = request.bearer(token).send()?;
    if response.is_success() {
        Ok(response)
    } else {
        Err(from_response(&response))
    }
}

/// [`send`] and parse the JSON answer.
pub fn send_json<T: DeserializeOwned>(request: http::Request, token: &str) -> Result<T> {
    send(request, token)?.json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: &str, code: u16) -> GoogleError {
        GoogleError {
            code,
            message: "m".into(),
            status: status.into(),
        }
    }

    #[test]
    fn statuses_map_to_the_taxonomy() {
        assert!(matches!(
            map(&error("UNAUTHENTICATED", 401)),
            Error::AuthExpired(_)
        ));
        assert!(matches!(
            map(&error("PERMISSION_DENIED", 403)),
            Error::PermissionMissing(_)
        ));
        assert!(matches!(
            map(&error("RESOURCE_EXHAUSTED", 429)),
            Error::RateLimited(i) if i.retry_after_ms == THROTTLE_WAIT_MS
        ));
        assert!(matches!(
            map(&error("INVALID_ARGUMENT", 400)),
            Error::InvalidInput(_)
        ));
        assert!(matches!(
            map(&error("UNAVAILABLE", 503)),
            Error::Transient(_)
        ));
        assert!(matches!(map(&error("INTERNAL", 500)), Error::Transient(_)));
    }
}

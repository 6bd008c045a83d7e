//! Mailchimp's `application/problem+json` errors mapped onto the connector error.
//!
//! | Answer | Error |
//! | --- | --- |
//! | 401 (`API Key Invalid`, `API Key Missing`, a revoked OAuth token) | auth-revoked: keys and tokens never expire, so a refused one only comes back by reconnecting |
//! | 403 | permission-missing |
//! | 429 (`Too Many Requests`: over 10 simultaneous connections) | rate-limited, `Retry-After` when sent, else [`TOO_MANY_CONNECTIONS_WAIT_MS`] |
//! | 400, 404, 405, 422 | invalid-input with the title, detail and field errors |
//! | 5xx | transient |
//! | anything else | platform, with the title as code |

use postd_sdk::prelude::*;
use serde::Deserialize;

/// Wait after "Too Many Requests" when Mailchimp says nothing: the limit counts connections
/// open at once, so it clears as soon as the calls in flight finish.
pub const TOO_MANY_CONNECTIONS_WAIT_MS: u64 = 5_000;

/// A problem document; every field optional so a malformed one still maps.
#[derive(Debug, Default, Deserialize)]
pub struct Problem {
    /// Short summary (`Resource Not Found`).
    #[serde(default)]
    pub title: Option<String>,
    /// Longer explanation.
    #[serde(default)]
    pub detail: Option<String>,
    /// Field-level validation errors.
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

/// One field-level validation error.
#[derive(Debug, Default, Deserialize)]
pub struct FieldError {
    /// The field (`settings.reply_to`).
    #[serde(default)]
    pub field: Option<String>,
    /// What is wrong with it.
    #[serde(default)]
    pub message: Option<String>,
}

impl Problem {
    fn summary(&self, status: u16) -> String {
        let mut text = self
            .title
            .clone()
            .unwrap_or_else(|| format!("HTTP {status}"));
        if let Some(detail) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            text.push_str(": ");
            text.push_str(detail);
        }
        for e in &self.errors {
            text.push_str(&format!(
                " [{}: {}]",
                e.field.as_deref().unwrap_or("?"),
                e.message.as_deref().unwrap_or("")
            ));
        }
        text
    }
}

/// Maps a non-2xx answer to an [`Error`].
pub fn from_response(response: &http::Response) -> Error {
    let problem: Problem = serde_json::from_slice(&response.body).unwrap_or_default();
    map(response.status, &problem, response.header("retry-after"))
}

/// Maps a status and its problem document.
pub fn map(status: u16, problem: &Problem, retry_after: Option<&str>) -> Error {
    let summary = problem.summary(status);
    match status {
        401 => Error::AuthRevoked(summary),
        403 => Error::PermissionMissing(Vec::new()),
        429 => Error::rate_limited(
            retry_after
                .and_then(|v| postd_sdk::retry_after_ms(v, http::now_unix()))
                .unwrap_or(TOO_MANY_CONNECTIONS_WAIT_MS),
            summary,
        ),
        400 | 404 | 405 | 409 | 410 | 413 | 415 | 422 => Error::invalid_input(summary),
        500..=599 => Error::transient(summary),
        _ => Error::platform(
            problem.title.clone().unwrap_or_else(|| status.to_string()),
            summary,
        ),
    }
}

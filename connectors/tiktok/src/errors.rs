//! TikTok's answers mapped onto the connector error. Every API answer is
//! `{"data": ..., "error": {"code", "message", "log_id"}}` with code `ok` on success.
//!
//! | `error.code` | Error |
//! | --- | --- |
//! | `access_token_invalid` | auth-expired (a refresh may fix it; the host refreshes and retries) |
//! | `scope_not_authorized`, `scope_permission_missed` | permission-missing, naming the endpoint's scope |
//! | `rate_limit_exceeded` | rate-limited: `Retry-After` when sent, else a minute (TikTok's windows are per minute) |
//! | `spam_risk_too_many_posts`, `spam_risk_user_banned_from_posting`, `spam_risk_too_many_pending_share`, `reached_active_user_cap`, `unaudited_client_can_only_post_to_private_accounts`, `url_ownership_unverified` | platform error with TikTok's code and message: permanent, the reason shown to the user |
//! | `invalid_params`, `invalid_file_upload`, `privacy_level_option_mismatch` | invalid-input |
//! | `internal_error`, any 5xx | transient |
//! | anything else | by HTTP status ([`Error::from_status`]), keeping TikTok's code |
//!
//! The `log_id` is kept in every message: TikTok support asks for it.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// Wait after `rate_limit_exceeded` when no `Retry-After` came: TikTok's limits are per minute.
pub const DEFAULT_RATE_LIMIT_WAIT_MS: u64 = 60_000;

/// Codes that are final verdicts on the post or the account: shown to the user, never retried.
pub const PERMANENT_CODES: &[&str] = &[
    "spam_risk_too_many_posts",
    "spam_risk_user_banned_from_posting",
    "spam_risk_too_many_pending_share",
    "reached_active_user_cap",
    "unaudited_client_can_only_post_to_private_accounts",
    "url_ownership_unverified",
];

/// The `error` member of TikTok's envelope.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TtError {
    /// `ok` on success.
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// TikTok's request id.
    #[serde(default)]
    pub log_id: String,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Value,
    #[serde(default)]
    error: Option<TtError>,
}

/// The envelope's `data` for a successful answer, or the mapped error; `scope` is the scope the
/// endpoint needs.
pub fn data(response: &http::Response, scope: &str) -> Result<Value> {
    let envelope: Option<Envelope> = serde_json::from_slice(&response.body).ok();
    match envelope {
        Some(Envelope { data, error }) => match error {
            Some(e) if e.code != "ok" => Err(map(response.status, &e, scope, &response.headers)),
            _ if response.is_success() => Ok(data),
            _ => Err(Error::from_status(
                response.status,
                &response.headers,
                http::now_unix(),
            )),
        },
        None if response.is_success() => Err(Error::platform(
            "malformed-response",
            "TikTok answered without its JSON envelope",
        )),
        None => Err(Error::from_status(
            response.status,
            &response.headers,
            http::now_unix(),
        )),
    }
}

/// Maps one error answer.
pub fn map(status: u16, error: &TtError, scope: &str, headers: &[(String, String)]) -> Error {
    let label = if error.log_id.is_empty() {
        format!("{}: {}", error.code, error.message)
    } else {
        format!(
            "{}: {} (log_id {})",
            error.code, error.message, error.log_id
        )
    };
    match error.code.as_str() {
        "access_token_invalid" => Error::AuthExpired(label),
        "scope_not_authorized" | "scope_permission_missed" => {
            Error::PermissionMissing(vec![scope.to_string()])
        }
        "rate_limit_exceeded" => {
            let wait = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| postd_sdk::retry_after_ms(v, http::now_unix()))
                .unwrap_or(DEFAULT_RATE_LIMIT_WAIT_MS);
            Error::rate_limited(wait, label)
        }
        "invalid_params" | "invalid_file_upload" | "privacy_level_option_mismatch" => {
            Error::invalid_input(label)
        }
        "internal_error" => Error::transient(label),
        code if PERMANENT_CODES.contains(&code) => Error::platform(code, label),
        code => match Error::from_status(status, headers, http::now_unix()) {
            Error::Platform(_) => Error::platform(code, label),
            Error::Transient(_) => Error::transient(label),
            Error::InvalidInput(_) => Error::invalid_input(label),
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: &str) -> http::Response {
        http::Response {
            status,
            headers: vec![],
            body: serde_json::json!({"data": {}, "error": {"code": code, "message": "m", "log_id": "L1"}})
                .to_string()
                .into_bytes(),
        }
    }

    fn mapped(status: u16, code: &str) -> Error {
        data(&answer(status, code), "video.publish").unwrap_err()
    }

    #[test]
    fn success_yields_data() {
        let ok = http::Response {
            status: 200,
            headers: vec![],
            body: br#"{"data":{"publish_id":"v_pub_1"},"error":{"code":"ok","message":"","log_id":"x"}}"#.to_vec(),
        };
        assert_eq!(data(&ok, "s").unwrap()["publish_id"], "v_pub_1");
    }

    #[test]
    fn every_documented_code_has_its_class() {
        assert!(
            matches!(mapped(401, "access_token_invalid"), Error::AuthExpired(m) if m.contains("L1"))
        );
        for code in ["scope_not_authorized", "scope_permission_missed"] {
            assert!(
                matches!(mapped(401, code), Error::PermissionMissing(s) if s == ["video.publish"])
            );
        }
        assert!(matches!(
            mapped(429, "rate_limit_exceeded"),
            Error::RateLimited(info) if info.retry_after_ms == DEFAULT_RATE_LIMIT_WAIT_MS
        ));
        for code in PERMANENT_CODES {
            assert!(
                matches!(mapped(403, code), Error::Platform(p) if p.code == *code && p.message.contains("m")),
                "{code}"
            );
        }
        for code in [
            "invalid_params",
            "invalid_file_upload",
            "privacy_level_option_mismatch",
        ] {
            assert!(
                matches!(mapped(400, code), Error::InvalidInput(_)),
                "{code}"
            );
        }
        assert!(matches!(mapped(500, "internal_error"), Error::Transient(_)));
        assert!(matches!(mapped(503, "something_new"), Error::Transient(_)));
        assert!(
            matches!(mapped(418, "something_new"), Error::Platform(p) if p.code == "something_new")
        );
    }

    #[test]
    fn retry_after_wins_and_bodies_without_an_envelope_map_by_status() {
        let mut limited = answer(429, "rate_limit_exceeded");
        limited.headers.push(("retry-after".into(), "7".into()));
        assert!(matches!(
            data(&limited, "s").unwrap_err(),
            Error::RateLimited(info) if info.retry_after_ms == 7_000
        ));
        let bare = http::Response {
            status: 502,
            headers: vec![],
            body: b"<html>bad gateway</html>".to_vec(),
        };
        assert!(matches!(data(&bare, "s").unwrap_err(), Error::Transient(_)));
    }
}

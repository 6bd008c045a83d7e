//! LinkedIn API calls: base URLs, the version headers every call carries, the vault entries, and
//! answers mapped to errors.

use postd_sdk::prelude::*;
use serde::de::DeserializeOwned;

use crate::errors;

/// Default API base (`/v2` and `/rest` live under it).
pub const DEFAULT_API_BASE: &str = "https://api.linkedin.com";
/// Default OAuth base (`/authorization`, `/accessToken`).
pub const DEFAULT_OAUTH_BASE: &str = "https://www.linkedin.com/oauth/v2";

/// Vault names of the connection's entries besides its tokens ([`oauth::tokens::names`]).
pub mod names {
    /// The member id (`sub` of userinfo).
    pub const MEMBER_ID: &str = "member-id";
}

/// `{api base}/{path}`; `path` is given without its leading slash and already encoded.
pub fn url(path: &str) -> String {
    format!(
        "{}/{path}",
        vault::app_base_url("api-base-url", DEFAULT_API_BASE)
    )
}

/// The `LinkedIn-Version` sent on every call: the `linkedin-version` setting, or else the month
/// before the current one (LinkedIn releases a version every month and retires each after about
/// a year, so last month's is always live and never "from the future").
pub fn version() -> String {
    if let Some(v) = vault::app_setting("linkedin-version").filter(|v| !v.trim().is_empty()) {
        return v.trim().to_string();
    }
    previous_month(http::now_unix())
}

/// `YYYYMM` of the month before the one `now_unix` falls in.
pub fn previous_month(now_unix: i64) -> String {
    let (year, month) = year_month(now_unix);
    let (year, month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    format!("{year:04}{month:02}")
}

/// (year, month 1-12) of a Unix time (Howard Hinnant's civil-from-days).
pub fn year_month(now_unix: i64) -> (i64, u32) {
    let z = now_unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// Adds the headers every LinkedIn API call carries.
pub fn versioned(request: http::Request, version: &str) -> http::Request {
    request
        .header("LinkedIn-Version", version)
        .header("X-Restli-Protocol-Version", "2.0.0")
}

/// Sends `request` with `token` and the version headers; a failed answer becomes the mapped
/// [`Error`].
pub fn send(request: http::Request, token: &str) -> Result<http::Response> {
    let version = version();
    let response = versioned(request, &version).bearer(token).send()?;
    if response.is_success() {
        Ok(response)
    } else {
        Err(errors::from_response(&response, &version))
    }
}

/// [`send`] and parse the JSON answer.
pub fn send_json<T: DeserializeOwned>(request: http::Request, token: &str) -> Result<T> {
    send(request, token)?.json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_version_is_last_month() {
        // 2026-11-22T05:00:00Z
        assert_eq!(previous_month(1_795_323_600), "202610");
        // 2027-01-01T00:00:00Z
        assert_eq!(previous_month(1_798_761_600), "202612");
        assert_eq!(year_month(0), (1970, 1));
    }
}

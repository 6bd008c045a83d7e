//! OAuth 2.0: an [`App`] describing a platform's flow (consent URL, code exchange, refresh),
//! the vault conventions for the tokens it stores ([`tokens`]), consent URLs and token answers.

use serde::{Deserialize, Deserializer};

mod app;
mod callback;
pub mod tokens;

pub use app::{App, Endpoint};
pub use tokens::{Tokens, names};

use crate::Error;
use crate::http::query_string;

/// Builds `authorize_endpoint?response_type=code&client_id=..&redirect_uri=..&scope=..&state=..`
/// plus `extra` parameters, every value encoded. Scopes are joined with `scope_separator`
/// (a space for most platforms, a comma for TikTok and Meta).
pub fn authorize_url(
    authorize_endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    scope_separator: &str,
    state: &str,
    extra: &[(&str, &str)],
) -> String {
    let scope = scopes.join(scope_separator);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", &scope),
        ("state", state),
    ];
    pairs.extend_from_slice(extra);
    with_query(authorize_endpoint, &pairs)
}

/// `endpoint` with `pairs` appended to its query (an existing query is kept), every value
/// encoded.
pub(crate) fn with_query(endpoint: &str, pairs: &[(&str, &str)]) -> String {
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{separator}{}", query_string(pairs))
}

/// A token endpoint's answer (RFC 6749 §5.1), tolerant of the platforms' variations: `expires_in`
/// as a number or a string, refresh-token lifetimes under either common name, scopes separated
/// by spaces or commas.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Usually `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds until the access token expires.
    #[serde(default, deserialize_with = "lenient_seconds")]
    pub expires_in: Option<i64>,
    /// The refresh token, when the platform issues (or rotates) one. An empty string is treated
    /// as none, so it never overwrites a stored token.
    #[serde(default, deserialize_with = "non_empty")]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires (`refresh_token_expires_in` or `refresh_expires_in`).
    #[serde(
        default,
        alias = "refresh_expires_in",
        deserialize_with = "lenient_seconds"
    )]
    pub refresh_token_expires_in: Option<i64>,
    /// Granted scopes as the platform wrote them.
    #[serde(default)]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Parses a token endpoint's body; an OAuth error body becomes the matching [`Error`].
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        if let Ok(token) = serde_json::from_slice::<TokenResponse>(body) {
            return Ok(token);
        }
        Err(oauth_error(body))
    }

    /// When the access token expires, given the current time.
    pub fn expires_at(&self, now_unix: i64) -> Option<i64> {
        // The platform's number: saturate rather than wrap into a token expired long ago.
        self.expires_in.map(|s| now_unix.saturating_add(s))
    }

    /// When the refresh token expires, given the current time.
    pub fn refresh_expires_at(&self, now_unix: i64) -> Option<i64> {
        self.refresh_token_expires_in
            .map(|s| now_unix.saturating_add(s))
    }

    /// Granted scopes, split on spaces or commas.
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Maps an OAuth error body (`{"error": "...", "error_description": "..."}`) to an [`Error`]:
/// `invalid_grant` means the grant is gone (revoked), `temporarily_unavailable` and
/// `server_error` pass, the rest are the platform's.
pub fn oauth_error(body: &[u8]) -> Error {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => {
            let message = e.error_description.unwrap_or_default();
            match e.error.as_str() {
                "invalid_grant" => Error::AuthRevoked(format!("invalid_grant: {message}")),
                "temporarily_unavailable" | "server_error" => {
                    Error::transient(format!("{}: {message}", e.error))
                }
                "invalid_scope" | "access_denied" => Error::PermissionMissing(Vec::new()),
                _ => Error::platform(e.error, message),
            }
        }
        Err(_) => Error::platform(
            "malformed-token-response",
            "token endpoint answered without a token",
        ),
    }
}

fn lenient_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(i64),
        Text(String),
    }
    Ok(match Option::<Seconds>::deserialize(d)? {
        Some(Seconds::Number(n)) => Some(n),
        Some(Seconds::Text(t)) => t.trim().parse().ok(),
        None => None,
    })
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_encodes_every_parameter() {
        let url = authorize_url(
            "https://www.linkedin.com/oauth/v2/authorization",
            "client 1",
            "https://app.example/cb?x=1",
            &["openid".into(), "w_member_social".into()],
            " ",
            "st/ate",
            &[("prompt", "consent")],
        );
        assert_eq!(
            url,
            "https://www.linkedin.com/oauth/v2/authorization?response_type=code&client_id=client%201\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&scope=openid%20w_member_social\
             &state=st%2Fate&prompt=consent"
        );
    }

    #[test]
    fn authorize_url_keeps_an_existing_query() {
        let url = authorize_url(
            "https://x.example/auth?v=2",
            "c",
            "r",
            &["a".into(), "b".into()],
            ",",
            "s",
            &[],
        );
        assert!(url.starts_with("https://x.example/auth?v=2&response_type=code"));
        assert!(url.contains("scope=a%2Cb"));
    }

    #[test]
    fn token_responses_tolerate_platform_variations() {
        let tiktok = TokenResponse::parse(
            br#"{"access_token":"a","expires_in":"86400","refresh_token":"r2","refresh_expires_in":31536000,"scope":"user.info.basic,video.publish"}"#,
        )
        .unwrap();
        assert_eq!(tiktok.expires_at(100), Some(86_500));
        assert_eq!(tiktok.refresh_expires_at(0), Some(31_536_000));
        assert_eq!(tiktok.scopes(), vec!["user.info.basic", "video.publish"]);

        let google = TokenResponse::parse(
            br#"{"access_token":"a","expires_in":3599,"refresh_token":"","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(
            google.refresh_token, None,
            "an empty refresh token must never replace a stored one"
        );
    }

    #[test]
    fn absurd_lifetimes_saturate_instead_of_wrapping() {
        let token = TokenResponse::parse(
            br#"{"access_token":"a","expires_in":9223372036854775807,"refresh_expires_in":-9223372036854775808}"#,
        )
        .unwrap();
        assert_eq!(token.expires_at(1_790_000_000), Some(i64::MAX));
        assert_eq!(token.refresh_expires_at(-1), Some(i64::MIN));
    }

    #[test]
    fn oauth_errors_map_to_the_taxonomy() {
        assert!(matches!(
            TokenResponse::parse(br#"{"error":"invalid_grant","error_description":"used"}"#),
            Err(Error::AuthRevoked(_))
        ));
        assert!(matches!(
            TokenResponse::parse(br#"{"error":"server_error"}"#),
            Err(Error::Transient(_))
        ));
        assert!(matches!(
            TokenResponse::parse(b"<html>"),
            Err(Error::Platform(_))
        ));
    }
}

//! Graph API calls: the base URL, the tokens in the vault, and answers mapped to errors.

use postd_sdk::prelude::*;
use serde::de::DeserializeOwned;

use crate::errors;

/// Default Graph base, version included.
pub const DEFAULT_GRAPH_BASE: &str = "https://graph.facebook.com/v20.0";

/// Vault names of the connection's entries.
pub mod names {
    /// The long-lived user token.
    pub const ACCESS_TOKEN: &str = "access-token";
    /// When it expires, Unix seconds.
    pub const ACCESS_TOKEN_EXPIRES_AT: &str = "access-token-expires-at";
    /// Instagram account ids, comma-separated.
    pub const IG_ACCOUNTS: &str = "ig-accounts";

    /// The Page token of `page`.
    pub fn page_token(page: &str) -> String {
        format!("page-token:{page}")
    }

    /// The Page an Instagram account belongs to.
    pub fn ig_page(ig: &str) -> String {
        format!("ig-page:{ig}")
    }
}

/// The Graph base URL.
pub fn base() -> String {
    vault::app_setting_or("graph-base-url", DEFAULT_GRAPH_BASE)
        .trim_end_matches('/')
        .to_string()
}

/// `{base}/{path}` where `path` is given without its leading slash; each segment is a Graph id
/// or edge name, encoded.
pub fn url(path: &[&str]) -> String {
    let mut url = base();
    for segment in path {
        url.push('/');
        url.push_str(&http::encode(segment));
    }
    url
}

/// The long-lived user token.
pub fn user_token() -> Result<String> {
    vault::require(names::ACCESS_TOKEN)
}

/// The Page token of `page`.
pub fn page_token(page: &str) -> Result<String> {
    vault::get(&names::page_token(page))?.ok_or_else(|| {
        Error::invalid_input(format!(
            "no Page token for {page}: list the connection's accounts, or reconnect"
        ))
    })
}

/// The app secret; without it nothing can be exchanged or verified.
pub fn app_secret() -> Result<String> {
    vault::app_secret("client-secret")
        .ok_or_else(|| Error::invalid_input("the plugin has no `client-secret` configured"))
}

/// Sends `request` with `token`; a failed answer becomes the mapped [`Error`].
pub fn send(request: http::Request, token: &str) -> Result<http::Response> {
    let response = request.bearer(token).send()?;
    if response.is_success() {
        Ok(response)
    } else {
        Err(errors::from_response(&response))
    }
}

/// Sends `request` with `token` and parses the JSON answer.
pub fn send_json<T: DeserializeOwned>(request: http::Request, token: &str) -> Result<T> {
    send(request, token)?.json()
}

/// Sends `request` without a token (the token endpoint) and parses the JSON answer.
pub fn send_json_unauthenticated<T: DeserializeOwned>(request: http::Request) -> Result<T> {
    let response = request.send()?;
    if response.is_success() {
        response.json()
    } else {
        Err(errors::from_response(&response))
    }
}

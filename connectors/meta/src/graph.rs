//! Graph API calls: the base URL and version, the tokens in the vault, and answers mapped to
//! errors.

use postd_sdk::prelude::*;
use serde::de::DeserializeOwned;

use crate::errors;
use crate::versions::{self, DEFAULT_GRAPH_VERSION};

/// Default Graph root, without a version.
pub const DEFAULT_GRAPH_ROOT: &str = "https://graph.facebook.com";

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

/// `api-base-url` (formerly `graph-base-url`) split into its root and the version segment it may
/// end with (the way the setting was written before `graph-version` existed).
fn root_and_legacy_version() -> (String, Option<String>) {
    // The token endpoint's base is the Graph root: one setting, named once (in `oauth`).
    let base = crate::oauth::OAUTH.token.base();
    match base.rsplit_once('/') {
        Some((root, last)) if versions::parse(last).is_some() => {
            (root.to_string(), Some(last.to_string()))
        }
        _ => (base, None),
    }
}

/// The Graph API version calls use: the `graph-version` setting (a missing leading `v` is
/// added), else a version that ends `api-base-url`, else [`DEFAULT_GRAPH_VERSION`].
pub fn version() -> String {
    match vault::app_setting("graph-version").map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => {
            if v.starts_with('v') {
                v
            } else {
                format!("v{v}")
            }
        }
        _ => root_and_legacy_version()
            .1
            .unwrap_or_else(|| DEFAULT_GRAPH_VERSION.to_string()),
    }
}

/// The Graph base URL: `{api-base-url}/{version}`.
pub fn base() -> String {
    format!("{}/{}", root_and_legacy_version().0, version())
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

/// Sends `request` with `token`; a failed answer becomes the mapped [`Error`].
pub fn send(request: http::Request, token: &str) -> Result<http::Response> {
    let response = request.bearer(token).send()?;
    if response.is_success() {
        Ok(response)
    } else {
        Err(failure(&response))
    }
}

/// The mapped error of a failed answer; a retired version (2635) names the version in use.
fn failure(response: &http::Response) -> Error {
    match errors::from_response(response) {
        Error::Platform(p) if p.code == errors::RETIRED_VERSION => Error::platform(
            errors::RETIRED_VERSION,
            format!(
                "Meta refuses Graph API {}, a retired version ({}): set the plugin's `graph-version` setting to a supported version such as {DEFAULT_GRAPH_VERSION}",
                version(),
                p.message
            ),
        ),
        other => other,
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
        Err(failure(&response))
    }
}

//! TikTok API calls: base URLs, the app's credentials, the vault entries, and the
//! `{data, error{code, message, log_id}}` envelope every answer comes in.

use postd_sdk::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors;

/// Default API base (`/v2/...`).
pub const DEFAULT_API_BASE: &str = "https://open.tiktokapis.com";
/// Default base of the consent page (`/v2/auth/authorize/`).
pub const DEFAULT_AUTH_BASE: &str = "https://www.tiktok.com";

/// Vault names of the connection's entries.
pub mod names {
    /// The access token.
    pub const ACCESS_TOKEN: &str = "access-token";
    /// The refresh token; TikTok rotates it on every refresh.
    pub const REFRESH_TOKEN: &str = "refresh-token";
    /// The creator's `open_id`.
    pub const OPEN_ID: &str = "open-id";
    /// Scopes granted, comma-separated as TikTok writes them.
    pub const SCOPES: &str = "scopes";
}

/// Scopes each endpoint family needs (named in permission errors).
pub mod scopes {
    /// Profile reads.
    pub const USER_INFO: &str = "user.info.basic";
    /// Follower, like and video counts.
    pub const USER_STATS: &str = "user.info.stats";
    /// Direct posts and creator info.
    pub const PUBLISH: &str = "video.publish";
    /// Drafts to the creator's inbox.
    pub const UPLOAD: &str = "video.upload";
    /// Video queries.
    pub const LIST: &str = "video.list";
}

fn setting_base(name: &str, default: &str) -> String {
    vault::app_setting_or(name, default)
        .trim_end_matches('/')
        .to_string()
}

/// `{api base}/{path}`; `path` without its leading slash, with TikTok's trailing slash.
pub fn url(path: &str) -> String {
    format!("{}/{path}", setting_base("api-base-url", DEFAULT_API_BASE))
}

/// The consent page.
pub fn authorize_endpoint() -> String {
    format!(
        "{}/v2/auth/authorize/",
        setting_base("auth-base-url", DEFAULT_AUTH_BASE)
    )
}

/// The app's client key (TikTok's name for the client id).
pub fn client_key() -> Result<String> {
    vault::app_setting("client-key")
        .or_else(|| vault::app_secret("client-key"))
        .ok_or_else(|| Error::invalid_input("the plugin has no `client-key` (TikTok client key)"))
}

/// The app's client secret: token exchange and webhook signatures.
pub fn client_secret() -> Result<String> {
    vault::app_secret("client-secret")
        .ok_or_else(|| Error::invalid_input("the plugin has no `client-secret` configured"))
}

/// The stored access token.
pub fn token() -> Result<String> {
    vault::require(names::ACCESS_TOKEN)
}

/// Sends `request` with `token`; `scope` is the scope the endpoint needs, named when TikTok
/// says it is missing. Returns the envelope's `data`, or the mapped error.
pub fn call(request: http::Request, token: &str, scope: &str) -> Result<Value> {
    let response = request.bearer(token).send()?;
    errors::data(&response, scope)
}

/// [`call`] and parse `data` as `T`.
pub fn call_as<T: DeserializeOwned>(request: http::Request, token: &str, scope: &str) -> Result<T> {
    let data = call(request, token, scope)?;
    serde_json::from_value(data)
        .map_err(|e| Error::platform("malformed-response", format!("TikTok's answer: {e}")))
}

/// A form post to the token endpoint; OAuth errors are mapped by the SDK
/// (`invalid_grant`, a used or expired refresh token, means the grant is gone).
pub fn token_request(pairs: &[(&str, &str)]) -> Result<oauth::TokenResponse> {
    let response = http::Request::post(url("v2/oauth/token/"))
        .form(pairs)
        .send()?;
    if response.status >= 500 {
        return Err(Error::transient(format!(
            "TikTok's token endpoint answered HTTP {}",
            response.status
        )));
    }
    if response.status == 429 {
        return Err(Error::from_status(429, &response.headers, http::now_unix()));
    }
    oauth::TokenResponse::parse(&response.body)
}

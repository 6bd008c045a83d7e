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

/// Vault names of the connection's entries besides its tokens ([`oauth::tokens::names`]; the
/// refresh token rotates on every refresh).
pub mod names {
    /// The creator's `open_id`.
    pub const OPEN_ID: &str = "open-id";
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

/// `{api base}/{path}`; `path` without its leading slash, with TikTok's trailing slash.
pub fn url(path: &str) -> String {
    format!(
        "{}/{path}",
        vault::app_base_url("api-base-url", DEFAULT_API_BASE)
    )
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

//! Secrets of the current connection and the plugin's app configuration.
//!
//! Writes made during a call become visible when the call returns successfully; a failed call
//! writes nothing. Values never appear in logs: the host redacts them.

use crate::bindings::postd::connector::vault as wit;
use crate::{Error, Result};

pub use wit::VaultError;

/// A refusal is the connector's own mistake (a bad name, no connection, too large a value): a
/// fault of the secret store never reaches it, the host ends the call and retries the job.
impl From<VaultError> for Error {
    fn from(error: VaultError) -> Self {
        Error::invalid_input(format!("vault: {error}"))
    }
}

/// Reads a secret of the current connection.
pub fn get(name: &str) -> Result<Option<String>> {
    Ok(wit::get(name)?)
}

/// Reads a secret that must exist; its absence means the connection was never completed.
pub fn require(name: &str) -> Result<String> {
    get(name)?.ok_or_else(|| Error::AuthRevoked(format!("no `{name}` stored for this connection")))
}

/// Writes a secret of the current connection.
pub fn put(name: &str, value: &str) -> Result<()> {
    Ok(wit::put(name, value)?)
}

/// Removes a secret; true when it existed.
pub fn delete(name: &str) -> Result<bool> {
    Ok(wit::delete(name)?)
}

/// A read-only secret the operator configured (`client-id`, `client-secret`).
pub fn app_secret(name: &str) -> Option<String> {
    wit::app_secret(name)
}

/// A read-only, non-secret setting the operator configured (`base-url`).
pub fn app_setting(name: &str) -> Option<String> {
    wit::app_setting(name)
}

/// A setting with a default, for base URLs that point at the real platform unless configured.
pub fn app_setting_or(name: &str, default: &str) -> String {
    app_setting(name).unwrap_or_else(|| default.to_string())
}

/// A base-URL setting with its default (the real platform), without a trailing slash, so
/// `format!("{base}/path")` never doubles the slash.
pub fn app_base_url(name: &str, default: &str) -> String {
    base_url(app_setting(name), default)
}

/// [`app_base_url`] of a setting renamed from `former`: the new name wins, the former one is
/// still read (and declared, see [`crate::Manifest::with_former`]) so existing entries keep
/// working.
pub fn app_base_url_formerly(name: &str, former: &str, default: &str) -> String {
    base_url(app_setting(name).or_else(|| app_setting(former)), default)
}

/// A configured base URL (else `default`) without its trailing slash.
fn base_url(configured: Option<String>, default: &str) -> String {
    configured
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

/// A credential the operator must configure, as a setting or a secret (`client-id`); `what`
/// says what the platform calls it, for the error when it is missing.
pub fn require_app_credential(name: &str, what: &str) -> Result<String> {
    app_setting(name)
        .or_else(|| app_secret(name))
        .ok_or_else(|| Error::invalid_input(format!("the plugin has no `{name}` ({what})")))
}

/// A secret the operator must configure (`client-secret`).
pub fn require_app_secret(name: &str) -> Result<String> {
    app_secret(name)
        .ok_or_else(|| Error::invalid_input(format!("the plugin has no `{name}` configured")))
}

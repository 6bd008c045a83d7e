//! Connections: API keys with their data centre, the OAuth variant, and the health check.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::client::{self, Credential, names};
use crate::webhooks;

/// Default OAuth base.
pub const DEFAULT_LOGIN_BASE: &str = "https://login.mailchimp.com/oauth2";

/// Mailchimp's OAuth app: no scopes, tokens that do not expire, no refresh.
pub const OAUTH: oauth::App = oauth::App::new(
    "Mailchimp",
    oauth::Endpoint::new("auth-base-url", DEFAULT_LOGIN_BASE, "/authorize")
        .formerly("login-base-url"),
    oauth::Endpoint::new("auth-base-url", DEFAULT_LOGIN_BASE, "/token").formerly("login-base-url"),
);

/// The data centre of an API key `<32 hex>-<dc>`, or why the key is malformed. The reason
/// never repeats the key.
pub fn key_data_centre(key: &str) -> Result<&str> {
    let malformed = |why: &str| {
        Error::invalid_input(format!(
            "malformed Mailchimp API key: {why} (expected <32 hex digits>-<data centre>, e.g. ...-us6)"
        ))
    };
    let (secret, dc) = key
        .trim()
        .rsplit_once('-')
        .ok_or_else(|| malformed("no data-centre suffix"))?;
    if secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("the part before the dash is not 32 hex digits"));
    }
    let dc_ok = (2..=8).contains(&dc.len())
        && dc.starts_with(|c: char| c.is_ascii_lowercase())
        && dc
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !dc_ok {
        return Err(malformed("the data-centre suffix is not like us6"));
    }
    Ok(dc)
}

/// `GET /` of the API: who the credential belongs to.
#[derive(Deserialize)]
struct Root {
    account_id: String,
    #[serde(default)]
    account_name: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    dc: String,
}

/// Stores an API key or exchanges an OAuth code, then reads the account behind it.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let credential = if let Some(key) = callback.param("api-key") {
        let key = key.trim();
        let dc = key_data_centre(key)?;
        vault::put(names::API_KEY, key)?;
        vault::put(names::DC, dc)?;
        Credential::api_key(key, dc)
    } else if callback.param("code").is_some() || callback.param("error").is_some() {
        oauth_exchange(&callback)?
    } else {
        return Err(Error::invalid_input(
            "complete-auth needs an `api-key` or an OAuth `code` parameter",
        ));
    };
    let root: Root = client::send_json(credential.get("/"))?;
    // Webhooks are an extra: a callback URL Mailchimp refuses (unreachable, not HTTPS) must not
    // keep the account from connecting. Auth, rate and passing failures still fail the call.
    match webhooks::register(&credential, &root.account_id) {
        Ok(()) => {}
        Err(Error::InvalidInput(_) | Error::Platform(_) | Error::PermissionMissing(_)) => {
            log::warn(
                "Mailchimp refused the webhook URL; the connection works without webhooks",
                &[("account", &root.account_id)],
            );
        }
        Err(other) => return Err(other),
    }
    Ok(ConnectionInfo {
        display_name: root
            .account_name
            .clone()
            .unwrap_or_else(|| root.account_id.clone()),
        external_id: root.account_id,
        scopes: vec![],
        expires_at: None,
        refresh_expires_at: None,
    })
}

fn oauth_exchange(callback: &AuthCallback) -> Result<Credential> {
    let token = OAUTH.exchange_code(callback)?.token;
    let login_base = OAUTH.token.base();
    let metadata = http::Request::get(format!("{login_base}/metadata"))
        .header("authorization", format!("OAuth {}", token.access_token))
        .send()?;
    if !metadata.is_success() {
        return Err(match metadata.status {
            401 => Error::AuthRevoked("the metadata call refused the new token".into()),
            s if s >= 500 => Error::transient(format!("metadata: HTTP {s}")),
            s => Error::platform(s.to_string(), "the metadata call failed"),
        });
    }
    let metadata: Metadata = metadata.json()?;
    if metadata.dc.is_empty() || !metadata.dc.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::platform(
            "malformed-metadata",
            "the metadata call named no usable data centre",
        ));
    }
    vault::put(names::DC, &metadata.dc)?;
    Ok(Credential::oauth(&token.access_token, &metadata.dc))
}

#[derive(Deserialize)]
struct Ping {
    #[serde(default)]
    health_status: Option<String>,
}

/// `GET /ping`, then `GET /` for the account id.
pub fn health() -> Result<HealthReport> {
    let credential = Credential::load()?;
    let ping: Ping = client::send_json(credential.get("/ping"))?;
    let root: Root = client::send_json(credential.get("/"))?;
    Ok(HealthReport {
        external_id: root.account_id,
        scopes: vec![],
        message: ping
            .health_status
            .unwrap_or_else(|| "ping answered".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_yield_their_data_centre() {
        assert_eq!(
            key_data_centre("0123456789abcdef0123456789abcdef-us6").ok(),
            Some("us6")
        );
        assert_eq!(
            key_data_centre("FEDCBA9876543210fedcba9876543210-us21").ok(),
            Some("us21")
        );
    }

    #[test]
    fn malformed_keys_are_invalid_input_without_the_key() {
        for key in [
            "",
            "-",
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef-",
            "0123456789abcdef-us6",
            "0123456789abcdef0123456789abcdeg-us6",
            "0123456789abcdef0123456789abcdef-US6",
            "0123456789abcdef0123456789abcdef-us6/../x",
            "ünïcode-us6",
        ] {
            match key_data_centre(key) {
                Err(Error::InvalidInput(why)) => {
                    assert!(key.len() < 8 || !why.contains(key), "{why}")
                }
                other => panic!("{key:?} gave {other:?}"),
            }
        }
    }
}

//! The connection's credential and authenticated calls to the Marketing API.

use postd_sdk::prelude::*;
use serde::de::DeserializeOwned;

use crate::errors;

/// Default API base; `{dc}` is replaced by the data centre.
pub const DEFAULT_API_BASE: &str = "https://{dc}.api.mailchimp.com/3.0";

/// Vault names of the connection's entries besides an OAuth connection's token
/// ([`oauth::tokens::names`]).
pub mod names {
    /// An API key connection's key.
    pub const API_KEY: &str = "api-key";
    /// The data centre (`us6`).
    pub const DC: &str = "dc";
}

/// How a connection authenticates, and where its data lives.
pub struct Credential {
    /// `Basic` with an API key, or `Bearer` with an OAuth token.
    authorization: String,
    /// The data centre.
    pub dc: String,
}

impl Credential {
    /// An API key credential (the key must already be validated).
    pub fn api_key(key: &str, dc: &str) -> Self {
        Credential {
            authorization: format!("Basic {}", basic("postd", key)),
            dc: dc.to_string(),
        }
    }

    /// An OAuth token credential.
    pub fn oauth(token: &str, dc: &str) -> Self {
        Credential {
            authorization: format!("Bearer {token}"),
            dc: dc.to_string(),
        }
    }

    /// The current connection's credential from the vault.
    pub fn load() -> Result<Self> {
        let dc = vault::require(names::DC)?;
        if let Some(key) = vault::get(names::API_KEY)? {
            return Ok(Credential::api_key(&key, &dc));
        }
        let token = oauth::tokens::access_token()?;
        Ok(Credential::oauth(&token, &dc))
    }

    /// The API base of this credential's data centre.
    pub fn base(&self) -> String {
        vault::app_setting_or("api-base-url", DEFAULT_API_BASE).replace("{dc}", &self.dc)
    }

    /// `GET {base}{path}` (path starts with `/`).
    pub fn get(&self, path: &str) -> http::Request {
        self.authorize(http::Request::get(format!("{}{path}", self.base())))
    }

    /// `POST {base}{path}`.
    pub fn post(&self, path: &str) -> http::Request {
        self.authorize(http::Request::post(format!("{}{path}", self.base())))
    }

    /// `PUT {base}{path}`.
    pub fn put(&self, path: &str) -> http::Request {
        self.authorize(http::Request::put(format!("{}{path}", self.base())))
    }

    /// `DELETE {base}{path}`.
    pub fn delete(&self, path: &str) -> http::Request {
        self.authorize(http::Request::delete(format!("{}{path}", self.base())))
    }

    fn authorize(&self, request: http::Request) -> http::Request {
        request
            .header("authorization", self.authorization.as_str())
            .header("accept", "application/json")
    }
}

/// Sends `request`; a non-2xx answer becomes the mapped [`Error`].
pub fn send(request: http::Request) -> Result<http::Response> {
    let response = request.send()?;
    if response.is_success() {
        Ok(response)
    } else {
        Err(errors::from_response(&response))
    }
}

/// Sends `request` and parses a 2xx JSON answer.
pub fn send_json<T: DeserializeOwned>(request: http::Request) -> Result<T> {
    send(request)?.json()
}

/// Base64 of `user:password` for HTTP Basic.
fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::basic;

    #[test]
    fn basic_auth_is_base64_of_user_and_password() {
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic("a", "b"), "YTpi");
        assert_eq!(basic("a", "bc"), "YTpiYw==");
    }
}

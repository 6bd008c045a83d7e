//! Where a connection's tokens live in the vault, by convention, so that every connector stores
//! and reads them the same way.

use crate::oauth::TokenResponse;
use crate::{ConnectionInfo, Result, TokenExpiry, vault};

/// Vault names of the stored tokens.
pub mod names {
    /// The access token.
    pub const ACCESS_TOKEN: &str = "access-token";
    /// The refresh token, when the platform issued one.
    pub const REFRESH_TOKEN: &str = "refresh-token";
    /// The granted scopes, space-separated.
    pub const SCOPES: &str = "scopes";
}

/// Stores a token answer: the access token, the refresh token when the answer carries one (a
/// missing or empty one never replaces the stored token; a rotated one replaces it in the same
/// commit as the access token), and the granted scopes when the answer names them.
pub fn store(token: &TokenResponse) -> Result<()> {
    vault::put(names::ACCESS_TOKEN, &token.access_token)?;
    if let Some(refresh) = &token.refresh_token {
        vault::put(names::REFRESH_TOKEN, refresh)?;
    }
    let scopes = token.scopes();
    if !scopes.is_empty() {
        vault::put(names::SCOPES, &scopes.join(" "))?;
    }
    Ok(())
}

/// The stored access token; its absence means the connection was never completed.
pub fn access_token() -> Result<String> {
    vault::require(names::ACCESS_TOKEN)
}

/// The stored refresh token, if the platform issued one.
pub fn refresh_token() -> Result<Option<String>> {
    vault::get(names::REFRESH_TOKEN)
}

/// The stored granted scopes (written space-separated; commas are read too).
pub fn granted_scopes() -> Result<Vec<String>> {
    Ok(vault::get(names::SCOPES)?
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// A token answer with the time it was asked for, from which its expiries follow.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// What the token endpoint answered.
    pub token: TokenResponse,
    /// When the request was sent (Unix seconds): lifetimes count from here, never from later.
    pub issued_at: i64,
}

impl Tokens {
    /// The answer of a refresh: when the new tokens expire.
    pub fn expiry(&self) -> TokenExpiry {
        TokenExpiry {
            expires_at: self.token.expires_at(self.issued_at),
            refresh_expires_at: self.token.refresh_expires_at(self.issued_at),
        }
    }

    /// The answer of a completed consent, for the account `external_id` named `display_name`.
    pub fn connection(&self, external_id: String, display_name: String) -> ConnectionInfo {
        let expiry = self.expiry();
        ConnectionInfo {
            external_id,
            display_name,
            scopes: self.token.scopes(),
            expires_at: expiry.expires_at,
            refresh_expires_at: expiry.refresh_expires_at,
        }
    }
}

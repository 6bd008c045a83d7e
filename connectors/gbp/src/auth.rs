//! Google OAuth with offline access: consent, code exchange, refresh (keeping the stored refresh
//! token when Google sends none), and the health check through the accounts call.

use postd_sdk::prelude::*;

use crate::SCOPES;
use crate::api::{self, defaults, names};
use crate::locations;

/// The consent URL: offline access, and `prompt=consent` so Google issues a refresh token even
/// to a user who consented before.
pub fn authorize_url(request: AuthorizeRequest) -> Result<String> {
    let scopes = if request.scopes.is_empty() {
        SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        request.scopes
    };
    Ok(oauth::authorize_url(
        &api::base("authorize-url", defaults::AUTHORIZE_URL),
        &api::client_id()?,
        &request.redirect_uri,
        &scopes,
        " ",
        &request.state,
        &[
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("include_granted_scopes", "true"),
        ],
    ))
}

/// Stores a token answer. A missing (or empty) refresh token never replaces the stored one.
fn store(token: &oauth::TokenResponse) -> Result<()> {
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

/// Code -> tokens; the connection is named after the first business account.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let param = |name: &str| {
        callback
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let Some(code) = param("code") else {
        return Err(match param("error") {
            Some(error) => {
                Error::PermissionMissing(vec![format!("Google consent refused: {error}")])
            }
            None => Error::invalid_input("the callback has no `code`"),
        });
    };
    let now = http::now_unix();
    let token = api::token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &callback.redirect_uri),
        ("client_id", &api::client_id()?),
        ("client_secret", &api::client_secret()?),
    ])?;
    if token.refresh_token.is_none() {
        return Err(Error::platform(
            "no-refresh-token",
            "Google issued no refresh token (offline access was not granted); connect again",
        ));
    }
    store(&token)?;
    let first = locations::first_account(&token.access_token)?;
    Ok(ConnectionInfo {
        external_id: first.name.clone(),
        display_name: first.account_name.unwrap_or(first.name),
        scopes: token.scopes(),
        expires_at: token.expires_at(now),
        refresh_expires_at: token.refresh_expires_at(now),
    })
}

/// Exchanges the stored refresh token for a new access token.
pub fn refresh() -> Result<TokenExpiry> {
    let refresh = vault::get(names::REFRESH_TOKEN)?.ok_or_else(|| {
        Error::AuthRevoked("no refresh token is stored for this connection; connect again".into())
    })?;
    let now = http::now_unix();
    let token = api::token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
        ("client_id", &api::client_id()?),
        ("client_secret", &api::client_secret()?),
    ])?;
    store(&token)?;
    Ok(TokenExpiry {
        expires_at: token.expires_at(now),
        refresh_expires_at: token.refresh_expires_at(now),
    })
}

/// The accounts call answers for the token.
pub fn health() -> Result<HealthReport> {
    let token = api::token()?;
    let first = locations::first_account(&token)?;
    let scopes = vault::get(names::SCOPES)?
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(HealthReport {
        message: format!(
            "business account {} answers",
            first.account_name.as_deref().unwrap_or(&first.name)
        ),
        external_id: first.name,
        scopes,
    })
}

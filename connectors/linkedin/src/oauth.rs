//! LinkedIn OAuth: the consent URL (space-separated scopes), the code exchange, refresh when
//! LinkedIn issued a refresh token, and the health check through `/v2/userinfo`.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::SCOPES;
use crate::api::{self, names};

/// The member, as `/v2/userinfo` describes them.
#[derive(Debug, Deserialize)]
pub struct UserInfo {
    /// The member id.
    pub sub: String,
    /// The member's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /v2/userinfo` with `token`.
pub fn userinfo(token: &str) -> Result<UserInfo> {
    api::send_json(http::Request::get(api::url("v2/userinfo")), token)
}

/// The consent URL.
pub fn authorize_url(request: AuthorizeRequest) -> Result<String> {
    let scopes = if request.scopes.is_empty() {
        SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        request.scopes
    };
    Ok(oauth::authorize_url(
        &format!("{}/authorization", api::oauth_base()),
        &api::client_id()?,
        &request.redirect_uri,
        &scopes,
        " ",
        &request.state,
        &[],
    ))
}

/// Stores a token answer; keeps the stored refresh token when the answer has none.
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

/// Code -> tokens; then who the member is.
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
            Some(error) => Error::PermissionMissing(vec![format!(
                "LinkedIn consent refused: {error} {}",
                param("error_description").unwrap_or_default()
            )]),
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
    store(&token)?;
    let me = userinfo(&token.access_token)?;
    vault::put(names::MEMBER_ID, &me.sub)?;
    if token.refresh_token.is_none() {
        log::warn(
            "LinkedIn issued no refresh token: the connection must be renewed by the user before the access token expires",
            &[],
        );
    }
    Ok(ConnectionInfo {
        display_name: me.name.unwrap_or_else(|| me.sub.clone()),
        external_id: me.sub,
        scopes: token.scopes(),
        expires_at: token.expires_at(now),
        refresh_expires_at: token
            .refresh_token
            .as_ref()
            .and_then(|_| token.refresh_expires_at(now)),
    })
}

/// Refreshes with the stored refresh token. Without one (LinkedIn gives them to approved
/// partners only) the answer is `not-supported`, so the host warns before expiry instead.
pub fn refresh() -> Result<TokenExpiry> {
    let Some(refresh) = vault::get(names::REFRESH_TOKEN)? else {
        return Err(Error::not_supported(
            "LinkedIn issued no refresh token for this connection (only approved partners get one)",
        ));
    };
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
        // Refreshing does not extend the refresh token: LinkedIn answers its remaining lifetime.
        refresh_expires_at: token.refresh_expires_at(now),
    })
}

/// `/v2/userinfo` answers for the token.
pub fn health() -> Result<HealthReport> {
    let token = api::token()?;
    let me = userinfo(&token)?;
    let scopes: Vec<String> = vault::get(names::SCOPES)?
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let renewable = vault::get(names::REFRESH_TOKEN)?.is_some();
    Ok(HealthReport {
        message: format!(
            "connected as {}{}",
            me.name.as_deref().unwrap_or(&me.sub),
            if renewable {
                ""
            } else {
                " (no refresh token: reconnect before the token expires)"
            }
        ),
        external_id: me.sub,
        scopes,
    })
}

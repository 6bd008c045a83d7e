//! TikTok OAuth v2: the consent URL (`client_key`, comma-separated scopes), the code exchange,
//! refresh with rotating refresh tokens, and the creator's profile from `/v2/user/info/`.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::SCOPES;
use crate::api::{self, names, scopes};

/// The creator, as `/v2/user/info/` describes them (fields as asked).
#[derive(Debug, Default, Deserialize)]
pub struct User {
    /// The creator's id for this app.
    #[serde(default)]
    pub open_id: String,
    /// The name shown on the profile.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
struct UserData {
    user: User,
}

/// `GET /v2/user/info/?fields=...` with `token`.
pub fn user(token: &str, fields: &str, scope: &str) -> Result<User> {
    let request = http::Request::get(api::url("v2/user/info/")).query("fields", fields);
    Ok(api::call_as::<UserData>(request, token, scope)?.user)
}

/// The consent URL. TikTok calls the client id `client_key` and separates scopes with commas.
pub fn authorize_url(request: AuthorizeRequest) -> Result<String> {
    let scopes = if request.scopes.is_empty() {
        SCOPES.join(",")
    } else {
        request.scopes.join(",")
    };
    let pairs = [
        ("client_key", api::client_key()?),
        ("response_type", "code".to_string()),
        ("scope", scopes),
        ("redirect_uri", request.redirect_uri),
        ("state", request.state),
    ];
    Ok(format!(
        "{}?{}",
        api::authorize_endpoint(),
        http::query_string(&pairs)
    ))
}

/// Stores a token answer. The access token and the (rotated) refresh token are written in the
/// same call, so the host commits them together or not at all.
fn store(token: &oauth::TokenResponse) -> Result<()> {
    vault::put(names::ACCESS_TOKEN, &token.access_token)?;
    if let Some(refresh) = &token.refresh_token {
        vault::put(names::REFRESH_TOKEN, refresh)?;
    }
    let granted = token.scopes();
    if !granted.is_empty() {
        vault::put(names::SCOPES, &granted.join(","))?;
    }
    Ok(())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Code -> tokens; then who the creator is.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let Some(code) = param(&callback.params, "code") else {
        return Err(match param(&callback.params, "error") {
            Some(error) => Error::PermissionMissing(vec![format!(
                "TikTok consent refused: {error} {}",
                param(&callback.params, "error_description").unwrap_or_default()
            )]),
            None => Error::invalid_input("the callback has no `code`"),
        });
    };
    let now = http::now_unix();
    let token = api::token_request(&[
        ("client_key", &api::client_key()?),
        ("client_secret", &api::client_secret()?),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("redirect_uri", &callback.redirect_uri),
    ])?;
    store(&token)?;
    let me = user(
        &token.access_token,
        "open_id,union_id,avatar_url,display_name",
        scopes::USER_INFO,
    )?;
    vault::put(names::OPEN_ID, &me.open_id)?;
    Ok(ConnectionInfo {
        display_name: me.display_name.unwrap_or_else(|| me.open_id.clone()),
        external_id: me.open_id,
        scopes: token.scopes(),
        expires_at: token.expires_at(now),
        refresh_expires_at: token.refresh_expires_at(now),
    })
}

/// Exchanges the stored refresh token. TikTok retires a refresh token once used and answers a
/// new one, stored with the access token in this call's single commit; the host runs one
/// refresh per connection at a time, so an old refresh token is never sent twice.
pub fn refresh() -> Result<TokenExpiry> {
    let refresh = vault::get(names::REFRESH_TOKEN)?.ok_or_else(|| {
        Error::AuthRevoked("no refresh token stored: the creator must reconnect".into())
    })?;
    let now = http::now_unix();
    let token = api::token_request(&[
        ("client_key", &api::client_key()?),
        ("client_secret", &api::client_secret()?),
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
    ])?;
    store(&token)?;
    Ok(TokenExpiry {
        expires_at: token.expires_at(now),
        refresh_expires_at: token.refresh_expires_at(now),
    })
}

/// The stored scopes.
pub fn granted_scopes() -> Result<Vec<String>> {
    Ok(vault::get(names::SCOPES)?
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// `/v2/user/info/` answers for the token; publishing scopes missing from the grant are named.
pub fn health() -> Result<HealthReport> {
    let token = api::token()?;
    let me = user(
        &token,
        "open_id,union_id,avatar_url,display_name",
        scopes::USER_INFO,
    )?;
    let granted = granted_scopes()?;
    let missing: Vec<&str> = [scopes::PUBLISH, scopes::UPLOAD]
        .into_iter()
        .filter(|s| !granted.iter().any(|g| g == s))
        .collect();
    Ok(HealthReport {
        message: if missing.is_empty() {
            format!(
                "connected as {}",
                me.display_name.as_deref().unwrap_or(&me.open_id)
            )
        } else {
            format!(
                "connected as {}; not granted: {}",
                me.display_name.as_deref().unwrap_or(&me.open_id),
                missing.join(", ")
            )
        },
        external_id: me.open_id,
        scopes: granted,
    })
}

/// The creator is the one account a connection posts to.
pub fn list_accounts() -> Result<Vec<Account>> {
    let token = api::token()?;
    let me = user(&token, "open_id,display_name", scopes::USER_INFO)?;
    Ok(vec![Account {
        name: me.display_name.unwrap_or_else(|| me.open_id.clone()),
        id: me.open_id,
        kind: "creator".into(),
        parent_id: None,
    }])
}

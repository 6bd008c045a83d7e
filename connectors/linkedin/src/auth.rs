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

/// LinkedIn's OAuth app (3-legged, space-separated scopes).
pub const OAUTH: oauth::App = oauth::App::new(
    "LinkedIn",
    oauth::Endpoint::new("auth-base-url", api::DEFAULT_OAUTH_BASE, "/authorization")
        .formerly("oauth-base-url"),
    oauth::Endpoint::new("auth-base-url", api::DEFAULT_OAUTH_BASE, "/accessToken")
        .formerly("oauth-base-url"),
)
.scopes(SCOPES);

/// Code -> tokens; then who the member is.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let tokens = OAUTH.exchange_code(&callback)?;
    let me = userinfo(&tokens.token.access_token)?;
    vault::put(names::MEMBER_ID, &me.sub)?;
    if tokens.token.refresh_token.is_none() {
        log::warn(
            "LinkedIn issued no refresh token: the connection must be renewed by the user before the access token expires",
            &[],
        );
    }
    Ok(tokens.connection(me.sub.clone(), me.name.unwrap_or(me.sub)))
}

/// Refreshes with the stored refresh token. Without one (LinkedIn gives them to approved
/// partners only) the answer is `not-supported`, so the host warns before expiry instead.
/// Refreshing does not extend the refresh token: LinkedIn answers its remaining lifetime.
pub fn refresh() -> Result<TokenExpiry> {
    if oauth::tokens::refresh_token()?.is_none() {
        return Err(Error::not_supported(
            "LinkedIn issued no refresh token for this connection (only approved partners get one)",
        ));
    }
    Ok(OAUTH.refresh()?.expiry())
}

/// `/v2/userinfo` answers for the token.
pub fn health() -> Result<HealthReport> {
    let me = userinfo(&oauth::tokens::access_token()?)?;
    let renewable = oauth::tokens::refresh_token()?.is_some();
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
        scopes: oauth::tokens::granted_scopes()?,
    })
}

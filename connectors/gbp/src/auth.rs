//! Google OAuth with offline access: consent, code exchange, refresh (keeping the stored refresh
//! token when Google sends none), and the health check through the accounts call.

use postd_sdk::prelude::*;

use crate::SCOPES;
use crate::api::defaults;
use crate::locations;

/// Google's OAuth app: offline access, and `prompt=consent` so Google issues a refresh token
/// even to a user who consented before.
pub const OAUTH: oauth::App = oauth::App::new(
    "Google",
    oauth::Endpoint::new("auth-url", defaults::AUTHORIZE_URL, "").formerly("authorize-url"),
    oauth::Endpoint::new("token-base-url", defaults::OAUTH_BASE, "/token")
        .formerly("oauth-base-url"),
)
.scopes(SCOPES)
.authorize_extra(&[
    ("access_type", "offline"),
    ("prompt", "consent"),
    ("include_granted_scopes", "true"),
]);

/// Code -> tokens; the connection is named after the first business account. A consent without
/// offline access is refused: the connection could not outlive its first hour.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let tokens = OAUTH.exchange_code(&callback)?;
    if tokens.token.refresh_token.is_none() {
        return Err(Error::platform(
            "no-refresh-token",
            "Google issued no refresh token (offline access was not granted); connect again",
        ));
    }
    let first = locations::first_account(&tokens.token.access_token)?;
    Ok(tokens.connection(first.name.clone(), first.account_name.unwrap_or(first.name)))
}

/// The accounts call answers for the token.
pub fn health() -> Result<HealthReport> {
    let first = locations::first_account(&oauth::tokens::access_token()?)?;
    Ok(HealthReport {
        message: format!(
            "business account {} answers",
            first.account_name.as_deref().unwrap_or(&first.name)
        ),
        external_id: first.name,
        scopes: oauth::tokens::granted_scopes()?,
    })
}

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

/// TikTok's OAuth app: the client id is called `client_key`, scopes are comma-separated, the
/// consent page and the token endpoint live on different hosts. Refresh (the SDK's grant)
/// rotates: TikTok retires a refresh token once used and answers a new one, stored with the
/// access token in the call's single commit; the host runs one refresh per connection at a
/// time, so an old refresh token is never sent twice.
pub const OAUTH: oauth::App = oauth::App::new(
    "TikTok",
    oauth::Endpoint::new(
        "auth-base-url",
        api::DEFAULT_AUTH_BASE,
        "/v2/auth/authorize/",
    ),
    oauth::Endpoint::new("api-base-url", api::DEFAULT_API_BASE, "/v2/oauth/token/"),
)
.scopes(SCOPES)
.scope_separator(",")
.client_id_named("client-key", "client_key");

/// Code -> tokens; then who the creator is.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let tokens = OAUTH.exchange_code(&callback)?;
    let me = user(
        &tokens.token.access_token,
        "open_id,union_id,avatar_url,display_name",
        scopes::USER_INFO,
    )?;
    vault::put(names::OPEN_ID, &me.open_id)?;
    Ok(tokens.connection(me.open_id.clone(), me.display_name.unwrap_or(me.open_id)))
}

/// `/v2/user/info/` answers for the token; publishing scopes missing from the grant are named.
pub fn health() -> Result<HealthReport> {
    let token = oauth::tokens::access_token()?;
    let me = user(
        &token,
        "open_id,union_id,avatar_url,display_name",
        scopes::USER_INFO,
    )?;
    let granted = oauth::tokens::granted_scopes()?;
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
    let token = oauth::tokens::access_token()?;
    let me = user(&token, "open_id,display_name", scopes::USER_INFO)?;
    Ok(vec![Account {
        name: me.display_name.unwrap_or_else(|| me.open_id.clone()),
        id: me.open_id,
        kind: "creator".into(),
        parent_id: None,
    }])
}

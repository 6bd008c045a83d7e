//! Facebook Login: the dialog, code -> short-lived -> long-lived token, refresh by re-exchange,
//! and the health check through `/me` and `/me/permissions`.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::graph::{self, names};
use crate::versions::{self, DEFAULT_GRAPH_VERSION, Lifecycle};
use crate::{SCOPES, accounts};

/// Default login dialog; `{version}` stands for the Graph API version in use.
pub const DEFAULT_DIALOG_URL: &str = "https://www.facebook.com/{version}/dialog/oauth";

/// Scopes every connection needs to work at all.
const PAGE_SCOPES: &[&str] = &["pages_show_list", "pages_manage_posts"];
/// Scopes a connection with Instagram accounts needs in addition.
const INSTAGRAM_SCOPES: &[&str] = &["instagram_basic", "instagram_content_publish"];

/// Facebook Login as an OAuth app: comma-separated scopes. Its token endpoint is a GET on the
/// versioned Graph API ([`token_request`]) and its dialog is versioned too, so only the consent
/// URL and the credentials come from the SDK's flow.
pub const OAUTH: oauth::App = oauth::App::new(
    "Meta",
    oauth::Endpoint::new("auth-url", DEFAULT_DIALOG_URL, "").formerly("dialog-url"),
    oauth::Endpoint::new(
        "api-base-url",
        graph::DEFAULT_GRAPH_ROOT,
        "/oauth/access_token",
    )
    .formerly("graph-base-url"),
)
.scopes(SCOPES)
.scope_separator(",");

fn client_id() -> Result<String> {
    OAUTH.client_id()
}

/// The login dialog URL at the Graph API version in use.
pub fn authorize_url(request: AuthorizeRequest) -> Result<String> {
    let dialog = OAUTH
        .authorize
        .url()
        .replace("{version}", &graph::version());
    OAUTH.authorize_url_at(&dialog, request)
}

#[derive(Deserialize)]
struct Me {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Permissions {
    #[serde(default)]
    data: Vec<Permission>,
}

#[derive(Deserialize)]
struct Permission {
    permission: String,
    #[serde(default)]
    status: String,
}

fn token_request(pairs: &[(&str, &str)]) -> Result<oauth::TokenResponse> {
    let mut request = http::Request::get(graph::url(&["oauth", "access_token"]));
    for (name, value) in pairs {
        request = request.query(name, value);
    }
    graph::send_json_unauthenticated(request)
}

/// `grant_type=fb_exchange_token`: a long-lived token for a valid user token.
fn exchange(token: &str) -> Result<oauth::TokenResponse> {
    token_request(&[
        ("grant_type", "fb_exchange_token"),
        ("client_id", &client_id()?),
        ("client_secret", &OAUTH.client_secret()?),
        ("fb_exchange_token", token),
    ])
}

fn store(token: &oauth::TokenResponse, now: i64) -> Result<Option<i64>> {
    vault::put(names::ACCESS_TOKEN, &token.access_token)?;
    let expires_at = token.expires_at(now);
    match expires_at {
        Some(at) => vault::put(names::ACCESS_TOKEN_EXPIRES_AT, &at.to_string())?,
        None => {
            vault::delete(names::ACCESS_TOKEN_EXPIRES_AT)?;
        }
    }
    Ok(expires_at)
}

fn granted(token: &str) -> Result<Vec<String>> {
    let permissions: Permissions = graph::send_json(
        http::Request::get(graph::url(&["me", "permissions"])),
        token,
    )?;
    Ok(permissions
        .data
        .into_iter()
        .filter(|p| p.status == "granted")
        .map(|p| p.permission)
        .collect())
}

/// Code -> short-lived token -> long-lived token; then who the user is, what was granted, and
/// the Pages with their tokens.
pub fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
    let code = callback.code("Meta")?;
    let short = token_request(&[
        ("client_id", &client_id()?),
        ("redirect_uri", &callback.redirect_uri),
        ("client_secret", &OAUTH.client_secret()?),
        ("code", code),
    ])?;
    let long = exchange(&short.access_token)?;
    let expires_at = store(&long, http::now_unix())?;
    let me: Me = graph::send_json(
        http::Request::get(graph::url(&["me"])).query("fields", "id,name"),
        &long.access_token,
    )?;
    let scopes = granted(&long.access_token)?;
    accounts::sync_with(&long.access_token)?;
    Ok(ConnectionInfo {
        display_name: me.name.unwrap_or_else(|| me.id.clone()),
        external_id: me.id,
        scopes,
        expires_at,
        refresh_expires_at: None,
    })
}

/// Re-exchanges the long-lived token while it is valid; after its expiry only a reconnect helps.
pub fn refresh() -> Result<TokenExpiry> {
    let token = graph::user_token()?;
    let now = http::now_unix();
    let stored_expiry =
        vault::get(names::ACCESS_TOKEN_EXPIRES_AT)?.and_then(|v| v.parse::<i64>().ok());
    if stored_expiry.is_some_and(|at| at <= now) {
        return Err(Error::AuthExpired(
            "the long-lived token has expired; Meta has no refresh token, so the user must reconnect"
                .into(),
        ));
    }
    let renewed = exchange(&token)?;
    let expires_at = store(&renewed, now)?;
    // Page tokens derive from the user token: read them again with the new one.
    accounts::sync_with(&renewed.access_token)?;
    Ok(TokenExpiry {
        expires_at,
        refresh_expires_at: None,
    })
}

/// The configured Graph API version is usable at `now`: an error for a malformed or retired
/// one, and a warning to add to the report when its end is near.
pub fn version_check(version: &str, now: i64) -> Result<Option<String>> {
    let upgrade = format!(
        "set the plugin's `graph-version` setting to a supported version such as {DEFAULT_GRAPH_VERSION}"
    );
    match versions::lifecycle(version, now) {
        Lifecycle::Supported | Lifecycle::Unlisted => Ok(None),
        Lifecycle::EndingSoon { ends_on, days_left } => Ok(Some(format!(
            "Graph API {version} reaches its end of life on {ends_on} (in {days_left} days): {upgrade}"
        ))),
        Lifecycle::Retired {
            ended_on: Some(date),
        } => Err(Error::invalid_input(format!(
            "Graph API {version} reached its end of life on {date} and Meta refuses calls to it: {upgrade}"
        ))),
        Lifecycle::Retired { ended_on: None } => Err(Error::invalid_input(format!(
            "Graph API {version} is older than every supported version and Meta refuses calls to it: {upgrade}"
        ))),
        Lifecycle::Malformed => Err(Error::invalid_input(format!(
            "`{version}` is not a Graph API version (vMAJOR.MINOR): {upgrade}"
        ))),
    }
}

/// The Graph API version is usable (warning when its end is near), `/me` answers for the token,
/// and every needed permission is still granted.
pub fn health() -> Result<HealthReport> {
    let version = graph::version();
    let warning = version_check(&version, http::now_unix())?;
    let token = graph::user_token()?;
    let me: Me = graph::send_json(
        http::Request::get(graph::url(&["me"])).query("fields", "id,name"),
        &token,
    )?;
    let scopes = granted(&token)?;
    let has_instagram = vault::get(names::IG_ACCOUNTS)?.is_some_and(|ids| !ids.is_empty());
    let needed = PAGE_SCOPES
        .iter()
        .chain(if has_instagram { INSTAGRAM_SCOPES } else { &[] })
        .filter(|s| !scopes.iter().any(|g| g == *s))
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    if !needed.is_empty() {
        return Err(Error::PermissionMissing(needed));
    }
    let mut message = format!(
        "connected as {} with {} permissions on Graph API {version}",
        me.name.as_deref().unwrap_or(&me.id),
        scopes.len()
    );
    if let Some(warning) = warning {
        log::warn(
            "graph api version near its end of life",
            &[("version", &version)],
        );
        message = format!("{message}; warning: {warning}");
    }
    Ok(HealthReport {
        message,
        external_id: me.id,
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::version_check;
    use crate::time::parse_date;
    use postd_sdk::prelude::*;

    #[test]
    fn health_warns_within_ninety_days_and_refuses_a_retired_version() {
        let now = parse_date("2026-12-03").unwrap();
        assert_eq!(version_check("v27.0", now).ok(), Some(None));
        let warning = version_check("v21.0", now).unwrap().unwrap();
        assert!(
            warning.contains("v21.0")
                && warning.contains("2027-01-21")
                && warning.contains("49 days"),
            "{warning}"
        );
        for (version, said) in [
            ("v20.0", "2026-09-24"),
            ("v12.0", "older"),
            ("twenty", "not a Graph API version"),
        ] {
            match version_check(version, now) {
                Err(Error::InvalidInput(why)) => {
                    assert!(
                        why.contains(version)
                            && why.contains(said)
                            && why.contains("graph-version"),
                        "{why}"
                    )
                }
                other => panic!("{version}: {other:?}"),
            }
        }
    }
}

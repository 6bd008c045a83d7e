//! Business accounts and their locations, with paging. One connection reaches every location of
//! every account the user manages; an account id of ours is the location's full resource name,
//! `accounts/{a}/locations/{l}`, which is what local posts are created under.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::api::{self, defaults};

/// Pages followed per listing, at most (100 locations a page: 10,000 locations).
const MAX_PAGES: usize = 100;

/// A business account.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GAccount {
    /// `accounts/{id}`.
    pub name: String,
    /// Its display name.
    #[serde(default)]
    pub account_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountsPage {
    #[serde(default)]
    accounts: Vec<GAccount>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct GLocation {
    name: String,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationsPage {
    #[serde(default)]
    locations: Vec<GLocation>,
    #[serde(default)]
    next_page_token: Option<String>,
}

fn accounts_page(token: &str, page: Option<&str>) -> Result<AccountsPage> {
    let mut call = http::Request::get(format!(
        "{}/v1/accounts",
        vault::app_base_url("accounts-base-url", defaults::ACCOUNTS_BASE)
    ));
    if let Some(page) = page {
        call = call.query("pageToken", page);
    }
    api::send_json(call, token)
}

/// The first business account (the health check and the connection's name).
pub fn first_account(token: &str) -> Result<GAccount> {
    accounts_page(token, None)?
        .accounts
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid_input("this Google user manages no Business Profile account"))
}

/// Every account, following `nextPageToken`.
fn accounts(token: &str) -> Result<Vec<GAccount>> {
    paging::collect(MAX_PAGES, |page: Option<&String>| {
        let answer = accounts_page(token, page.map(String::as_str))?;
        Ok(paging::Page::by_token(
            answer.accounts,
            answer.next_page_token,
        ))
    })
}

/// Every location of every account, as accounts of kind `location` whose parent is the
/// business account.
pub fn list() -> Result<Vec<Account>> {
    let token = oauth::tokens::access_token()?;
    let base = vault::app_base_url("information-base-url", defaults::INFORMATION_BASE);
    let mut out = Vec::new();
    for account in accounts(&token)? {
        let locations = paging::collect(MAX_PAGES, |page: Option<&String>| {
            let mut call = http::Request::get(format!("{base}/v1/{}/locations", account.name))
                .query("readMask", "name,title,storefrontAddress,metadata")
                .query("pageSize", &page_size());
            if let Some(page) = page {
                call = call.query("pageToken", page);
            }
            let answer: LocationsPage = api::send_json(call, &token)?;
            Ok(paging::Page::by_token(
                answer.locations,
                answer.next_page_token,
            ))
        })?;
        for location in locations {
            let id = location
                .name
                .strip_prefix("locations/")
                .unwrap_or(&location.name)
                .to_string();
            out.push(Account {
                id: format!("{}/locations/{id}", account.name),
                name: location.title.unwrap_or_else(|| location.name.clone()),
                kind: "location".into(),
                parent_id: Some(account.name.clone()),
            });
        }
    }
    Ok(out)
}

/// Locations per page: the `locations-page-size` setting, else 100 (Google's maximum).
fn page_size() -> String {
    vault::app_setting("locations-page-size")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(100)
        .to_string()
}

/// (account id, location id) of `accounts/{a}/locations/{l}`.
pub fn parse(account_id: &str) -> Result<(String, String)> {
    let parts: Vec<&str> = account_id.split('/').collect();
    match parts.as_slice() {
        ["accounts", a, "locations", l] if !a.is_empty() && !l.is_empty() => {
            Ok((a.to_string(), l.to_string()))
        }
        _ => Err(Error::invalid_input(format!(
            "{account_id} is not a location (`accounts/{{a}}/locations/{{l}}`)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn location_ids_are_resource_names() {
        assert_eq!(
            parse("accounts/1/locations/2").unwrap(),
            ("1".to_string(), "2".to_string())
        );
        assert!(parse("locations/2").is_err());
        assert!(parse("accounts/1").is_err());
    }
}

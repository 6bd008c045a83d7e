//! Accounts: the member (`urn:li:person:<id>`) and the organizations they administer
//! (`urn:li:organization:<id>`). Account ids are the author URNs posts are made as.
//!
//! Organizations come from the versioned role finder, `GET /rest/organizationAcls?q=roleAssignee`
//! (Organization Access Control by Role,
//! <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role>),
//! and their names from one batch lookup, `GET /rest/organizations?ids=List(1,2)` (Organization
//! Lookup,
//! <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api>):
//! the versioned APIs no longer decorate URNs through a projection
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/additional-info-field>). The `ids` list is
//! a Rest.li 2.0 value, sent with its structure unencoded ([`http::Restli`]).

use std::collections::HashMap;

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::api::{self, names};
use crate::auth;

/// Scopes that let the member list the organizations they administer.
const ORG_ADMIN_SCOPES: &[&str] = &["rw_organization_admin", "r_organization_admin"];

#[derive(Deserialize)]
struct Acls {
    #[serde(default)]
    elements: Vec<Acl>,
}

#[derive(Deserialize)]
struct Acl {
    #[serde(default)]
    role: String,
    #[serde(default)]
    state: Option<String>,
    organization: String,
}

#[derive(Deserialize)]
struct Organizations {
    #[serde(default)]
    results: HashMap<String, Organization>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    #[serde(default)]
    localized_name: Option<String>,
}

/// What an account id names.
#[derive(Debug, Clone, PartialEq)]
pub enum Author {
    /// The member (`urn:li:person:<id>`).
    Member(String),
    /// An organization (`urn:li:organization:<id>`).
    Organization(String),
}

impl Author {
    /// The URN posts are authored as.
    pub fn urn(&self) -> String {
        match self {
            Author::Member(id) => format!("urn:li:person:{id}"),
            Author::Organization(id) => format!("urn:li:organization:{id}"),
        }
    }
}

/// Reads an account id: a person or organization URN (a bare member id is the member).
pub fn author(account_id: &str) -> Result<Author> {
    if let Some(id) = account_id.strip_prefix("urn:li:person:") {
        return Ok(Author::Member(id.to_string()));
    }
    if let Some(id) = account_id.strip_prefix("urn:li:organization:") {
        return Ok(Author::Organization(id.to_string()));
    }
    if !account_id.is_empty() && !account_id.contains(':') {
        return Ok(Author::Member(account_id.to_string()));
    }
    Err(Error::invalid_input(format!(
        "{account_id} is not a LinkedIn member or organization URN"
    )))
}

/// The member, then each organization they administer (approved `ADMINISTRATOR` roles).
pub fn list() -> Result<Vec<Account>> {
    let token = oauth::tokens::access_token()?;
    let me = auth::userinfo(&token)?;
    vault::put(names::MEMBER_ID, &me.sub)?;
    let member = Author::Member(me.sub.clone()).urn();
    let mut accounts = vec![Account {
        id: member.clone(),
        name: me.name.unwrap_or_else(|| me.sub.clone()),
        kind: "member".into(),
        parent_id: None,
    }];
    let scopes = oauth::tokens::granted_scopes()?;
    if !scopes
        .iter()
        .any(|s| ORG_ADMIN_SCOPES.contains(&s.as_str()))
    {
        return Ok(accounts);
    }
    let acls: Acls = api::send_json(
        http::Request::get(api::url("rest/organizationAcls"))
            .query("q", "roleAssignee")
            .query("role", "ADMINISTRATOR")
            .query("state", "APPROVED"),
        &token,
    )?;
    let mut orgs: Vec<String> = Vec::new();
    for acl in acls.elements {
        let approved = acl.state.as_deref().is_none_or(|s| s == "APPROVED");
        if acl.role == "ADMINISTRATOR" && approved && !orgs.contains(&acl.organization) {
            orgs.push(acl.organization);
        }
    }
    let ids: Vec<&str> = orgs
        .iter()
        .filter_map(|urn| urn.strip_prefix("urn:li:organization:"))
        .collect();
    if ids.is_empty() {
        return Ok(accounts);
    }
    let names: Organizations = api::send_json(
        http::Request::get(api::url("rest/organizations"))
            .query_restli("ids", &http::Restli::list(ids)),
        &token,
    )?;
    for urn in orgs {
        let id = urn.strip_prefix("urn:li:organization:").unwrap_or(&urn);
        let name = names
            .results
            .get(id)
            .and_then(|o| o.localized_name.clone())
            .unwrap_or_else(|| urn.clone());
        accounts.push(Account {
            id: urn,
            name,
            kind: "organization".into(),
            parent_id: Some(member.clone()),
        });
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_author_urns() {
        assert_eq!(
            author("urn:li:person:abc").unwrap(),
            Author::Member("abc".into())
        );
        assert_eq!(
            author("urn:li:organization:1").unwrap().urn(),
            "urn:li:organization:1"
        );
        assert_eq!(author("abc").unwrap().urn(), "urn:li:person:abc");
        assert!(author("urn:li:group:1").is_err());
    }
}

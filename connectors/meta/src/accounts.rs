//! Accounts: the user's Pages (with their Page tokens) and the Instagram accounts linked to them.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::graph::{self, names};

/// Pages per `/me/accounts` page (Graph allows up to 100).
const PAGE_SIZE: &str = "100";

/// Most `/me/accounts` pages followed; a user with more than 5,000 Pages is not expected.
const MAX_PAGES: usize = 50;

#[derive(Deserialize)]
struct Accounts {
    #[serde(default)]
    data: Vec<PageEntry>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Deserialize)]
struct PageEntry {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    instagram_business_account: Option<IgRef>,
}

#[derive(Deserialize)]
struct IgRef {
    id: String,
}

#[derive(Deserialize)]
struct IgUser {
    #[serde(default)]
    username: Option<String>,
}

/// What an account id is.
pub enum Kind {
    /// A Facebook Page.
    Page,
    /// An Instagram account, published through its Page's token.
    Instagram {
        /// The Page it belongs to.
        page: String,
    },
}

/// Reads the user's Pages with `token`, stores every Page token and Instagram link in the
/// vault, and returns the accounts.
pub fn sync_with(token: &str) -> Result<Vec<Account>> {
    let pages = paging::collect(MAX_PAGES, |after: Option<&String>| {
        let mut request = http::Request::get(graph::url(&["me", "accounts"]))
            .query(
                "fields",
                "id,name,username,access_token,instagram_business_account",
            )
            .query("limit", PAGE_SIZE);
        if let Some(cursor) = after {
            request = request.query("after", cursor);
        }
        let answer: Accounts = graph::send_json(request, token)?;
        // Follow the cursor, never the absolute `next` URL: requests stay on the configured base.
        let after = answer
            .paging
            .filter(|p| p.next.is_some())
            .and_then(|p| p.cursors)
            .and_then(|c| c.after);
        Ok(paging::Page::by_token(answer.data, after))
    })?;
    let mut accounts = Vec::new();
    let mut ig_ids = Vec::new();
    for page in pages {
        let name = page.name.clone().unwrap_or_else(|| page.id.clone());
        if let Some(page_token) = &page.access_token {
            vault::put(&names::page_token(&page.id), page_token)?;
        }
        accounts.push(Account {
            id: page.id.clone(),
            name: name.clone(),
            kind: "page".into(),
            parent_id: None,
        });
        let Some(ig) = &page.instagram_business_account else {
            continue;
        };
        vault::put(&names::ig_page(&ig.id), &page.id)?;
        let page_token = page.access_token.as_deref().unwrap_or(token);
        let user: IgUser = graph::send_json(
            http::Request::get(graph::url(&[&ig.id])).query("fields", "username"),
            page_token,
        )?;
        accounts.push(Account {
            id: ig.id.clone(),
            name: user
                .username
                .map(|u| format!("@{u}"))
                .unwrap_or_else(|| format!("{name} (Instagram)")),
            kind: "instagram".into(),
            parent_id: Some(page.id.clone()),
        });
        ig_ids.push(ig.id.clone());
    }
    vault::put(names::IG_ACCOUNTS, &ig_ids.join(","))?;
    Ok(accounts)
}

/// [`sync_with`] the stored user token.
pub fn sync() -> Result<Vec<Account>> {
    sync_with(&graph::user_token()?)
}

/// Whether `id` is a Page or an Instagram account of this connection; re-reads the accounts
/// once when the vault does not know it.
pub fn kind_of(id: &str) -> Result<Kind> {
    for attempt in 0..2 {
        if let Some(page) = vault::get(&names::ig_page(id))? {
            return Ok(Kind::Instagram { page });
        }
        if vault::get(&names::page_token(id))?.is_some() {
            return Ok(Kind::Page);
        }
        if attempt == 0 {
            sync()?;
        }
    }
    Err(Error::invalid_input(format!(
        "{id} is not a Page or Instagram account of this connection"
    )))
}

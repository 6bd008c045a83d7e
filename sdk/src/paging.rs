//! Following a platform's pages: by cursor (`nextPageToken`, `after`) or by offset and total.
//!
//! ```text
//! let accounts = paging::collect(MAX_PAGES, |cursor: Option<&String>| {
//!     let mut request = http::Request::get(url);
//!     if let Some(cursor) = cursor {
//!         request = request.query("pageToken", cursor);
//!     }
//!     let answer: AccountsPage = send_json(request, token)?;
//!     Ok(paging::Page::by_token(answer.accounts, answer.next_page_token))
//! })?;
//! ```

use crate::Result;

/// One page of items and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C = String> {
    /// The page's items.
    pub items: Vec<T>,
    /// The cursor of the next page.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The last page: nothing follows it (also the way to stop early).
    pub fn last(items: Vec<T>) -> Self {
        Self { items, next: None }
    }
}

impl<T> Page<T, String> {
    /// A page followed by `next_token`, when the platform gave a non-empty one.
    pub fn by_token(items: Vec<T>, next_token: Option<String>) -> Self {
        Self {
            items,
            next: next_token.filter(|t| !t.is_empty()),
        }
    }
}

impl<T> Page<T, usize> {
    /// A page read at `offset` out of `total` items: the next starts after it, unless it was
    /// empty (a platform that miscounts must not loop) or reached the total.
    pub fn by_offset(items: Vec<T>, offset: usize, total: usize) -> Self {
        let end = offset + items.len();
        let next = (!items.is_empty() && end < total).then_some(end);
        Self { items, next }
    }
}

/// Reads pages with `fetch` (given the cursor, `None` for the first page) until one has no
/// next cursor or `max_pages` were read, and answers every item in order.
pub fn collect<T, C>(
    max_pages: usize,
    mut fetch: impl FnMut(Option<&C>) -> Result<Page<T, C>>,
) -> Result<Vec<T>> {
    let mut all = Vec::new();
    let mut cursor: Option<C> = None;
    for _ in 0..max_pages {
        let page = fetch(cursor.as_ref())?;
        all.extend(page.items);
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_followed_until_none_or_empty() {
        let mut asked = Vec::new();
        let items = collect(10, |cursor: Option<&String>| {
            asked.push(cursor.cloned());
            Ok(match cursor.map(String::as_str) {
                None => Page::by_token(vec![1, 2], Some("b".into())),
                Some("b") => Page::by_token(vec![3], Some(String::new())),
                other => panic!("asked for {other:?}"),
            })
        })
        .unwrap();
        assert_eq!(items, vec![1, 2, 3]);
        assert_eq!(asked, vec![None, Some("b".to_string())]);
    }

    #[test]
    fn offsets_stop_at_the_total_on_an_empty_page_and_at_the_page_limit() {
        let total = 5;
        let items = collect(10, |offset: Option<&usize>| {
            let from = offset.copied().unwrap_or(0);
            let page: Vec<usize> = (from..total.min(from + 2)).collect();
            Ok(Page::by_offset(page, from, total))
        })
        .unwrap();
        assert_eq!(items, vec![0, 1, 2, 3, 4]);

        // A platform claiming more than it has stops at its first empty page.
        let mut calls = 0;
        let items = collect(10, |offset: Option<&usize>| {
            calls += 1;
            let from = offset.copied().unwrap_or(0);
            let page: Vec<usize> = (from..3.min(from + 2)).collect();
            Ok(Page::by_offset(page, from, 100))
        })
        .unwrap();
        assert_eq!((items.len(), calls), (3, 3));

        // An endless cursor is cut at the page limit; an error ends the walk.
        let mut calls = 0;
        let items = collect(4, |_: Option<&String>| {
            calls += 1;
            Ok(Page::by_token(vec![calls], Some("again".into())))
        })
        .unwrap();
        assert_eq!(items, vec![1, 2, 3, 4]);
        let failed = collect(4, |cursor: Option<&String>| match cursor {
            None => Ok(Page::by_token(vec![1], Some("x".into()))),
            Some(_) => Err(crate::Error::transient("second page failed")),
        });
        assert!(failed.is_err());
    }
}

//! Cursor paging for lists (jobs, dead letters and deliveries newest first; connections oldest
//! first): at most `limit` items a page; when a page is full, the `next-cursor` response header
//! carries the value to pass as `cursor` for the next page. A cursor names the last item of its
//! page (its time-ordered id, or for connections its creation time and id), so pages stay
//! stable while new items arrive.

use axum::Json;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ApiError;

/// The response header that names the next page's cursor.
pub const NEXT_CURSOR: &str = "next-cursor";

fn bad_cursor() -> ApiError {
    ApiError::bad_request("`cursor` is the `next-cursor` header of the previous page")
}

/// `cursor` as given: at most 128 visible ASCII characters.
pub fn cursor(given: Option<&str>) -> Result<Option<&str>, ApiError> {
    match given {
        None | Some("") => Ok(None),
        Some(c) if c.len() <= 128 && c.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(c)),
        Some(_) => Err(bad_cursor()),
    }
}

/// The cursor of an item listed by creation time, then id: `<created_at>.<id>`.
pub fn time_and_id(created_at: i64, id: &str) -> String {
    format!("{created_at}.{id}")
}

/// A [`time_and_id`] cursor read back.
pub fn parse_time_and_id(given: Option<&str>) -> Result<Option<(i64, &str)>, ApiError> {
    let Some(cursor) = cursor(given)? else {
        return Ok(None);
    };
    cursor
        .split_once('.')
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
        .map(Some)
        .ok_or_else(bad_cursor)
}

/// One page of a list: answered as a JSON array of `items`, with the `next-cursor` header when
/// the page is full. The console reads the same value its API route answers.
#[derive(Debug)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// The cursor of the next page, when this one is full.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// `items` read with `limit`: full pages name the cursor of their last item.
    pub fn new(items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let next = (items.len() == limit as usize)
            .then(|| items.last().map(&cursor_of))
            .flatten();
        Page { items, next }
    }
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.items).into_response();
        if let Some(value) = self.next.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert(NEXT_CURSOR, value);
        }
        response
    }
}

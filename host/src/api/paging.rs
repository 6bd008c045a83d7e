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

/// `items` as a JSON array, with `next-cursor` when the page is full.
pub fn page<T: Serialize>(items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Response {
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(&cursor_of))
        .flatten();
    let mut response = Json(items).into_response();
    if let Some(value) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    response
}

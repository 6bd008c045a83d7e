use axum::response::Response;

use crate::http::Req;

pub(crate) const NAMES: &str = "an HTTP status such as 503";

pub(crate) fn named(name: &str, _req: &Req) -> Option<Response> {
    let status = axum::http::StatusCode::from_u16(name.parse().ok()?).ok()?;
    Some(crate::http::empty(status))
}

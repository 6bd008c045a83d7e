//! What every console page shares: the frame (navigation, who is signed in, the CSRF token its
//! forms carry), rendering, errors shown as pages, and formatting helpers for templates.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::session::Signed;
use crate::api::ApiError;

/// The frame of a signed-in page.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The navigation entry to mark.
    pub section: &'static str,
    /// Who is signed in.
    pub admin: String,
    /// The token this session's forms carry.
    pub csrf: String,
    /// A message about the change just made, if any.
    pub notice: Option<String>,
}

impl Frame {
    /// The frame of `section` for `signed`.
    pub fn new(section: &'static str, signed: &Signed) -> Self {
        Frame {
            section,
            admin: signed.session.admin.clone(),
            csrf: signed.session.csrf.clone(),
            notice: None,
        }
    }

    /// The navigation.
    pub fn sections(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        SECTIONS
    }

    /// The same frame showing `notice`.
    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(300).collect());
        self
    }
}

/// The navigation: (section, address, label).
pub const SECTIONS: &[(&str, &str, &str)] = &[
    ("overview", "/console", "Overview"),
    ("plugins", "/console/plugins", "Plugins"),
    ("tenants", "/console/tenants", "Tenants"),
    ("jobs", "/console/jobs", "Jobs"),
    ("dead-letters", "/console/dead-letters", "Dead letters"),
    ("audit", "/console/audit", "Audit log"),
];

/// `template` as an HTML answer; a template that fails to render is a 500 page.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// `pairs` as a URL query (without the `?`).
pub fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A `303` to the console page `path` with `pairs` as its query: after a change, its notice
/// and the filters the admin had.
pub fn back_to(path: &str, pairs: &[(&str, &str)]) -> Response {
    Redirect::to(&format!("{path}?{}", query(pairs))).into_response()
}

/// An error shown as a page: the admin API's error code and message, or the console's own.
#[derive(Debug)]
pub struct ConsoleError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ConsoleError {
    /// A console refusal.
    pub fn new(status: StatusCode, message: &str) -> Self {
        ConsoleError {
            status,
            code: status.canonical_reason().unwrap_or("error").to_lowercase(),
            message: message.to_string(),
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        ConsoleError {
            status: error.status,
            code: error.code.to_string(),
            message: error.message,
        }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let mut response = render(&ErrorPage {
            status: self.status.as_u16(),
            code: &self.code,
            message: &self.message,
        });
        *response.status_mut() = self.status;
        response
    }
}

/// A console handler's result.
pub type PageResult = Result<Response, ConsoleError>;

/// The console templates' filters: `{{ at|when }}` (Unix ms), `{{ at|maybe_when }}` (an optional
/// Unix ms), `{{ at|when_secs }}` (an optional Unix second), each as UTC or a dash.
pub mod filters {
    /// Unix ms as `YYYY-MM-DD HH:MM:SS`.
    #[askama::filter_fn]
    pub fn when(ms: &i64, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::when(*ms))
    }

    /// An optional Unix ms, or a dash.
    #[askama::filter_fn]
    pub fn maybe_when(ms: &Option<i64>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::maybe_when(*ms))
    }

    /// An optional Unix second, or a dash.
    #[askama::filter_fn]
    pub fn when_secs(secs: &Option<u64>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::maybe_when(secs.map(|s| s as i64 * 1000)))
    }
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn when(ms: i64) -> String {
    crate::time::rfc3339(ms)[..19].replacen('T', " ", 1)
}

/// An optional Unix ms time, or a dash.
pub fn maybe_when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".into(), when)
}

/// `YYYY-MM-DDTHH:MM` (a `datetime-local` field, UTC) as Unix ms.
pub fn parse_when(text: &str) -> Option<i64> {
    let (date, time) = text.trim().split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (h, min) = (t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 {
        return None;
    }
    Some((days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60) * 1000)
}

// The inverse of `crate::time::rfc3339`'s days-to-civil (Howard Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_utc_and_read_back_from_datetime_fields() {
        assert_eq!(when(0), "1970-01-01 00:00:00");
        assert_eq!(when(1_788_393_600_000), "2026-09-03 00:00:00");
        assert_eq!(when(951_782_400_000 + 61_000), "2000-02-29 00:01:01");
        assert_eq!(parse_when("2026-09-03T00:00"), Some(1_788_393_600_000));
        assert_eq!(parse_when("2000-02-29T00:01"), Some(951_782_460_000));
        assert_eq!(parse_when("2026-13-01T00:00"), None);
        assert_eq!(parse_when("yesterday"), None);
        assert_eq!(maybe_when(None), "—");
    }
}

//! Mailchimp errors: `application/problem+json` `{"type","title","status","detail","instance"}` with an
//! `X-Request-Id` header (every answer carries one).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{self, Req};

/// Error names the control API accepts for Mailchimp.
pub(crate) const NAMES: &str = "an HTTP status (400, 401, 403, 404, 405, 429, 500, 503) or api_key_invalid, resource_not_found, invalid_resource, member_exists, too_many_requests";

const DOCS: &str = "https://mailchimp.com/developer/marketing/docs/errors/";

/// One problem answer.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub errors: Vec<Value>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title: title.into(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "Invalid Resource", detail)
    }

    /// A validation failure naming the field, with Mailchimp's `errors` array.
    pub fn field(field: &str, message: &str) -> Problem {
        let mut p = Problem::invalid(
            "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
        );
        p.errors.push(json!({"field": field, "message": message}));
        p
    }

    pub fn not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Resource Not Found",
            "The requested resource could not be found.",
        )
    }

    pub fn key_invalid() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )
    }

    pub fn into_response(self) -> Response {
        let instance = request_id(&self.title, &self.detail);
        let mut body = json!({
            "type": DOCS,
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "instance": instance,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        let mut resp = http::with_body(
            self.status,
            "application/problem+json; charset=utf-8",
            body.to_string(),
        );
        http::set_header(&mut resp, "x-request-id", &instance);
        resp
    }
}

/// A UUID-shaped request id.
pub(crate) fn request_id(a: &str, b: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut seed = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ^ (a.len() as u64) << 32
        ^ b.len() as u64;
    let x = crate::faults::splitmix64(&mut seed);
    let y = crate::faults::splitmix64(&mut seed);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        (y >> 48) & 0xfff,
        y & 0xffff_ffff_ffff
    )
}

/// Renders an injected error by status or name.
pub(crate) fn named(name: &str, _req: &Req) -> Option<Response> {
    let p = match name.to_ascii_lowercase().as_str() {
        "401" | "api_key_invalid" => Problem::key_invalid(),
        "404" | "resource_not_found" => Problem::not_found(),
        "400" | "invalid_resource" => {
            Problem::invalid("The resource submitted could not be validated.")
        }
        "member_exists" => Problem::new(
            StatusCode::BAD_REQUEST,
            "Member Exists",
            "The member is already a list member.",
        ),
        "403" => Problem::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You don't have permission to access this resource.",
        ),
        "405" => Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "The requested method and resource are not compatible.",
        ),
        "429" | "too_many_requests" => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "You have exceeded the limit of 10 simultaneous connections.",
        ),
        "500" => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "An unexpected internal error has occurred.",
        ),
        other => {
            let code: u16 = other.parse().ok()?;
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())?;
            Problem::new(
                status,
                status.canonical_reason().unwrap_or("Error"),
                "The sandbox injected this error.",
            )
        }
    };
    Some(p.into_response())
}

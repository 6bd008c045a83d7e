//! Google errors: `{"error":{"code","message","status","details"}}`, and OAuth's
//! `{"error","error_description"}` on the token endpoint.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{self, Req};

/// Error names the control API accepts for Google Business Profile.
pub(crate) const NAMES: &str = "UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, FAILED_PRECONDITION, ABORTED, invalid_grant, invalid_client, or an HTTP status such as 503";

/// A Google API error.
#[derive(Clone, Debug)]
pub(crate) struct GError {
    pub status: StatusCode,
    pub name: &'static str,
    pub message: String,
    pub details: Vec<Value>,
}

impl GError {
    pub fn new(name: &'static str, message: impl Into<String>) -> GError {
        GError {
            status: status_of(name),
            name,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> GError {
        GError::new("INVALID_ARGUMENT", message)
    }

    /// INVALID_ARGUMENT with a `BadRequest` field violation.
    pub fn field(field: &str, description: &str) -> GError {
        let mut e = GError::invalid("Request contains an invalid argument.");
        e.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": description}],
        }));
        e
    }

    pub fn not_found() -> GError {
        GError::new("NOT_FOUND", "Requested entity was not found.")
    }

    pub fn unauthenticated() -> GError {
        GError::new(
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        )
    }

    pub fn exhausted(what: &str) -> GError {
        GError::new(
            "RESOURCE_EXHAUSTED",
            format!("Quota exceeded for quota metric '{what}'."),
        )
    }

    pub fn into_response(self) -> Response {
        let mut body =
            json!({"code": self.status.as_u16(), "message": self.message, "status": self.name});
        if !self.details.is_empty() {
            body["details"] = Value::Array(self.details);
        }
        http::json(self.status, &json!({ "error": body }))
    }
}

fn status_of(name: &str) -> StatusCode {
    match name {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => StatusCode::BAD_REQUEST,
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "PERMISSION_DENIED" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "ABORTED" | "ALREADY_EXISTS" => StatusCode::CONFLICT,
        "RESOURCE_EXHAUSTED" => StatusCode::TOO_MANY_REQUESTS,
        "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "DEADLINE_EXCEEDED" => StatusCode::GATEWAY_TIMEOUT,
        "UNIMPLEMENTED" => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn name_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// OAuth endpoint errors.
pub(crate) fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    http::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

const NAMED: &[&str] = &[
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "INVALID_ARGUMENT",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
    "DEADLINE_EXCEEDED",
    "FAILED_PRECONDITION",
    "ABORTED",
];

pub(crate) fn named(name: &str, req: &Req) -> Option<Response> {
    match name {
        "invalid_grant" => {
            return Some(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Token has been expired or revoked.",
            ));
        }
        "invalid_client" => {
            return Some(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unauthorized",
            ));
        }
        _ => {}
    }
    if let Some(n) = NAMED.iter().find(|n| **n == name) {
        return Some(GError::new(n, "The sandbox injected this error.").into_response());
    }
    let status = StatusCode::from_u16(name.parse().ok()?)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())?;
    if req.path.starts_with("/token") {
        return Some(oauth(
            status,
            "server_error",
            "The sandbox injected this error.",
        ));
    }
    let mut e = GError::new(name_of(status), "The sandbox injected this error.");
    e.status = status;
    Some(e.into_response())
}

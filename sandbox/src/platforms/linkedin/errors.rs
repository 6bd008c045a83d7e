//! LinkedIn errors: `{"message","serviceErrorCode","status"}` (plus `code` for auth and version errors),
//! and OAuth's `{"error","error_description"}` on the OAuth endpoints.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{self, Req};

/// Error names the control API accepts for LinkedIn.
pub(crate) const NAMES: &str = "INVALID_ACCESS_TOKEN, EXPIRED_ACCESS_TOKEN, REVOKED_ACCESS_TOKEN, THROTTLED, NONEXISTENT_VERSION, ACCESS_DENIED, invalid_grant, invalid_request, invalid_client, or an HTTP status such as 503 (any of them after `answer-lost:` to act first)";

/// A LinkedIn API error.
#[derive(Clone, Debug)]
pub(crate) struct LiError {
    pub status: StatusCode,
    pub body: Value,
}

impl LiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> LiError {
        LiError {
            status,
            body: json!({"message": message.into(), "status": status.as_u16()}),
        }
    }

    pub fn service(mut self, code: i64) -> LiError {
        self.body["serviceErrorCode"] = json!(code);
        self
    }

    pub fn code(mut self, code: &str) -> LiError {
        self.body["code"] = json!(code);
        self
    }

    pub fn token(code: &str) -> LiError {
        let message = match code {
            "EXPIRED_ACCESS_TOKEN" => "The token used in the request has expired",
            "REVOKED_ACCESS_TOKEN" => "The token used in the request has been revoked by the user",
            _ => "Invalid access token",
        };
        LiError::new(StatusCode::UNAUTHORIZED, message)
            .service(65600)
            .code(code)
    }

    pub fn throttled() -> LiError {
        LiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        )
        .service(101)
    }

    pub fn denied(what: &str) -> LiError {
        LiError::new(
            StatusCode::FORBIDDEN,
            format!("Not enough permissions to access: {what}"),
        )
        .service(100)
        .code("ACCESS_DENIED")
    }

    pub fn not_found() -> LiError {
        LiError::new(StatusCode::NOT_FOUND, "Not Found").code("NOT_FOUND")
    }

    pub fn bad(message: impl Into<String>) -> LiError {
        LiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 422 naming the offending field, as the Posts API does.
    pub fn input(field: &str, code: &str, description: &str) -> LiError {
        LiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": format!("{field}: {description}"),
                "errorDetails": {"inputErrors": [{"description": description, "input": {"inputPath": {"fieldPath": field}}, "code": code}]},
                "status": 422,
            }),
        }
    }

    pub fn nonexistent_version(v: &str) -> LiError {
        LiError::new(
            StatusCode::UPGRADE_REQUIRED,
            format!("Requested version {v} is not active"),
        )
        .code("NONEXISTENT_VERSION")
    }

    pub fn into_response(self) -> Response {
        http::json(self.status, &self.body)
    }
}

/// OAuth endpoint errors.
pub(crate) fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    http::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

pub(crate) fn named(name: &str, req: &Req) -> Option<Response> {
    let oauth_path = req.path.starts_with("/oauth/");
    Some(match name {
        "invalid_grant" | "invalid_request" | "invalid_client" | "unauthorized_client" => {
            let status = if name == "invalid_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            oauth(status, name, "The sandbox injected this error.")
        }
        "401" | "INVALID_ACCESS_TOKEN" => LiError::token("INVALID_ACCESS_TOKEN").into_response(),
        "EXPIRED_ACCESS_TOKEN" | "REVOKED_ACCESS_TOKEN" => LiError::token(name).into_response(),
        "429" | "THROTTLED" => LiError::throttled().into_response(),
        "426" | "NONEXISTENT_VERSION" => LiError::nonexistent_version("000000").into_response(),
        "403" | "ACCESS_DENIED" => LiError::denied("the requested resource").into_response(),
        other => {
            let status = StatusCode::from_u16(other.parse().ok()?)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())?;
            if oauth_path {
                oauth(status, "server_error", "The sandbox injected this error.")
            } else {
                LiError::new(status, status.canonical_reason().unwrap_or("Error")).into_response()
            }
        }
    })
}

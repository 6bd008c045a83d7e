//! Every failure answers `{code, message}` with a 4xx (or a 5xx that names no internals), never
//! a bare 500.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::jobs::AcceptError;
use crate::runtime::CallError;
use crate::runtime::wit::types::ConnectorError;
use crate::store::StoreError;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable, machine-readable code.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, at least 1).
    pub retry_after: Option<std::time::Duration>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the caller when to retry.
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// 400 `bad-request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    /// 404 `not-found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            code: self.code,
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.max(1).into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::not_found(error.to_string()),
            StoreError::Conflict(why) => Self::new(StatusCode::CONFLICT, "conflict", why),
            StoreError::Invalid(why) => Self::bad_request(why),
            StoreError::Database { .. } => {
                tracing::error!(%error, "database failure behind an API call");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry later",
                )
            }
        }
    }
}

impl From<AcceptError> for ApiError {
    fn from(error: AcceptError) -> Self {
        match error {
            AcceptError::Invalid(why) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-content", why)
            }
            AcceptError::Store(e) => e.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, "bad-request", rejection.body_text())
    }
}

impl From<CallError> for ApiError {
    fn from(error: CallError) -> Self {
        let (status, code) = match &error {
            CallError::UnknownPlugin(_) => (StatusCode::NOT_FOUND, "unknown-plugin"),
            CallError::NotEnabled { .. } => (StatusCode::FORBIDDEN, "plugin-disabled"),
            CallError::NotLoaded(..) => (StatusCode::SERVICE_UNAVAILABLE, "plugin-not-loaded"),
            CallError::Busy { .. } | CallError::HostMemoryFull { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "busy")
            }
            _ => (StatusCode::BAD_GATEWAY, "connector-failed"),
        };
        Self::new(status, code, error.to_string())
    }
}

impl From<ConnectorError> for ApiError {
    fn from(error: ConnectorError) -> Self {
        let message = crate::jobs::describe_connector_error(&error);
        let retry_after = match &error {
            ConnectorError::RateLimited(info) => {
                Some(std::time::Duration::from_millis(info.retry_after_ms))
            }
            _ => None,
        };
        let (status, code) = match &error {
            ConnectorError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate-limited"),
            ConnectorError::AuthExpired(_) => (StatusCode::UNAUTHORIZED, "auth-expired"),
            ConnectorError::AuthRevoked(_) => (StatusCode::UNAUTHORIZED, "auth-revoked"),
            ConnectorError::PermissionMissing(_) => (StatusCode::FORBIDDEN, "permission-missing"),
            ConnectorError::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
            ConnectorError::NotSupported(_) => (StatusCode::NOT_IMPLEMENTED, "not-supported"),
            ConnectorError::Transient(_) => (StatusCode::BAD_GATEWAY, "platform-unavailable"),
            ConnectorError::Platform(_) => (StatusCode::BAD_GATEWAY, "platform-error"),
        };
        let mut error = Self::new(status, code, message);
        error.retry_after = retry_after;
        error
    }
}

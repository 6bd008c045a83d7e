//! Not yet imitated.

pub(crate) mod errors;

use std::sync::Arc;

use axum::response::Response;

use crate::http::Req;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// State of this platform.
#[derive(Debug, Default)]
pub struct GbpState;

impl GbpState {
    pub(crate) fn seed() -> Self {
        Self
    }
}

pub(crate) async fn handle(_state: &Arc<SandboxState>, _req: Req) -> Response {
    crate::http::empty(axum::http::StatusCode::NOT_IMPLEMENTED)
}

pub(crate) fn revoke(_state: &SandboxState, _token: &str) -> bool {
    false
}

pub(crate) fn issue_token(_state: &SandboxState) -> IssuedToken {
    IssuedToken {
        access_token: String::new(),
        refresh_token: None,
    }
}

//! `POST /v1/connect-sessions`: the tenant's backend opens a hosted connect page for one of its
//! users — which plugins to offer, where to send the user back — and gets its address. The
//! page itself is [`crate::connect`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::return_to::check_return_to;
use super::tenants::enablement;
use super::{ApiError, ApiJson, ApiState, Caller};

/// How long a connect page can be used.
pub const CONNECT_SESSION_TTL: Duration = Duration::from_secs(30 * 60);
/// The most plugins one page offers.
pub const MAX_OFFERED: usize = 20;

/// `POST /v1/connect-sessions` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnectSession {
    /// The plugins to offer, in this order; absent or empty: every plugin the tenant may use.
    #[serde(default)]
    pub plugins: Vec<String>,
    /// Where the user's browser goes when done: under one of the tenant's return origins
    /// (`PUT /v1/oauth/return-origins`); `connection_id` or `error` is added to its query.
    pub return_to: String,
}

/// `POST /v1/connect-sessions` answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ConnectSessionCreated {
    /// The page to send the user to (its token is the only credential: share it with that
    /// user only).
    pub url: String,
    /// When the page stops working (Unix seconds).
    pub expires_at: i64,
    /// The plugins it offers.
    pub plugins: Vec<String>,
}

/// `POST /v1/connect-sessions`
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewConnectSession>,
) -> Result<(StatusCode, Json<ConnectSessionCreated>), ApiError> {
    let allowed = state
        .store()
        .tenant(&caller.tenant)
        .return_origins()
        .await?;
    let return_to = check_return_to(&body.return_to, &allowed)?.to_string();
    let usable: Vec<String> = enablement(&state, &caller.tenant)
        .await?
        .into_iter()
        .filter(|p| p.enabled && state.pipeline.runtime().manifest(&p.plugin).is_some())
        .map(|p| p.plugin)
        .collect();
    let plugins = if body.plugins.is_empty() {
        usable
    } else {
        if body.plugins.len() > MAX_OFFERED {
            return Err(ApiError::bad_request(format!(
                "a connect page offers at most {MAX_OFFERED} plugins"
            )));
        }
        if let Some(unusable) = body.plugins.iter().find(|p| !usable.contains(p)) {
            return Err(ApiError::bad_request(format!(
                "plugin `{}` is not serving for this tenant",
                unusable.chars().take(64).collect::<String>()
            )));
        }
        let mut offered = body.plugins;
        offered.dedup();
        offered
    };
    if plugins.is_empty() {
        return Err(ApiError::bad_request(
            "no plugin is serving for this tenant: there is nothing to connect",
        ));
    }
    let now = state.pipeline.now();
    let expires_at = now + CONNECT_SESSION_TTL.as_millis() as i64;
    let token = state
        .store()
        .open_connect_session(&caller.tenant, &plugins, &return_to, now, expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectSessionCreated {
            url: format!("{}/connect/{token}", state.public_url),
            expires_at: expires_at / 1000,
            plugins,
        }),
    ))
}

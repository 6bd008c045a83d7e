//! The caller of a Graph request: its token, checked against expiry and revocation, and counted
//! against the hourly budget with Meta's usage headers (`X-App-Usage` for user tokens,
//! `X-Business-Use-Case-Usage` for Page tokens).

use serde_json::json;

use super::errors::GraphError;
use super::params::Params;
use crate::http::Req;
use crate::platforms::tokens::{TokenInfo, TokenProblem};
use crate::request_log::lock;
use crate::state::SandboxState;

/// The caller of an authenticated request.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub token: String,
    pub info: TokenInfo,
}

impl Caller {
    pub fn page_id(&self) -> Option<&str> {
        self.info.kind.strip_prefix("page:")
    }

    pub fn is_user(&self) -> bool {
        self.page_id().is_none()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.info.scopes.iter().any(|s| s == scope)
    }
}

/// Checks the request's token and counts it against the hourly budget; the usage header goes on `headers`.
pub(crate) fn authenticate(
    state: &SandboxState,
    req: &Req,
    params: &Params,
    usage: &mut Vec<(&'static str, String)>,
) -> Result<Caller, GraphError> {
    let token = params
        .str("access_token")
        .or_else(|| req.bearer().map(str::to_string))
        .ok_or_else(|| {
            GraphError::new(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        })?;
    let now = state.clock.now_unix();
    let info = {
        let meta = lock(&state.meta);
        match meta.tokens.check_access(&token, now) {
            Ok(info) => info.clone(),
            Err(TokenProblem::Expired) => {
                return Err(GraphError::new(
                    190,
                    "Error validating access token: Session has expired.",
                )
                .sub(463));
            }
            Err(TokenProblem::Revoked) => {
                return Err(GraphError::new(
                    190,
                    "Error validating access token: The user has not authorized application.",
                )
                .sub(458));
            }
            Err(_) => {
                return Err(GraphError::new(
                    190,
                    "Invalid OAuth access token - Cannot parse access token",
                ));
            }
        }
    };
    let caller = Caller { token, info };
    let cfg = &state.config.meta;
    let use_ = state.limits.hit(
        &format!("meta:token:{}", caller.token),
        cfg.calls_per_hour,
        3_600_000,
        state.clock.now_ms(),
    );
    let pct = use_.percent();
    match caller.page_id() {
        Some(page) => {
            let minutes = if use_.exceeded {
                (use_.reset_in_ms + 59_999) / 60_000
            } else {
                0
            };
            let value = json!({ page: [{
                "type": "pages",
                "call_count": pct,
                "total_cputime": pct / 2,
                "total_time": pct / 2,
                "estimated_time_to_regain_access": minutes,
            }]});
            usage.push(("x-business-use-case-usage", value.to_string()));
        }
        None => {
            let value = json!({"call_count": pct, "total_cputime": pct / 2, "total_time": pct / 2});
            usage.push(("x-app-usage", value.to_string()));
        }
    }
    if use_.exceeded {
        return Err(match caller.page_id() {
            Some(_) if cfg.page_throttle_code == 80001 => GraphError::new(
                80001,
                "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
            ),
            Some(_) => GraphError::new(32, "(#32) Page request limit reached"),
            None => GraphError::new(17, "(#17) User request limit reached"),
        });
    }
    Ok(caller)
}

//! Google Business Profile under `/gbp/...`: Google OAuth (`/o/oauth2/v2/auth`, `/token`, `/revoke`),
//! Account Management (`/v1/accounts`), Business Information (`/v1/accounts/{a}/locations`), v4 local
//! posts (`/v4/accounts/{a}/locations/{l}/localPosts`), Performance
//! (`/v1/locations/{l}:fetchMultiDailyMetricsTimeSeries`) and notification settings
//! (`/v1/accounts/{a}/notificationSetting`). The paths of those hosts do not collide, so one prefix serves all.

mod business;
pub(crate) mod errors;
mod oauth;
mod posts;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use serde_json::Value;

use self::errors::GError;
use super::tokens::{TokenProblem, TokenStore};
use crate::http::Req;
use crate::request_log::lock;
use crate::seed;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// The OAuth scope every Business Profile call needs.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/business.manage";

/// A business account.
#[derive(Clone, Debug)]
pub(crate) struct GAccount {
    pub id: String,
    pub name: String,
    pub kind: String,
}

/// A location.
#[derive(Clone, Debug)]
pub(crate) struct GLocation {
    pub id: String,
    pub account: String,
    pub title: String,
}

/// A local post.
#[derive(Clone, Debug)]
pub(crate) struct LocalPost {
    pub name: String,
    pub location: String,
    pub body: Value,
    pub created_at: i64,
    pub updated_at: i64,
    pub rejected: bool,
}

/// Everything the Google Business Profile imitation holds.
#[derive(Debug)]
pub struct GbpState {
    pub(crate) tokens: TokenStore,
    /// Whether the user has consented before (Google returns a refresh token on first consent only).
    pub(crate) consented: bool,
    pub(crate) accounts: Vec<GAccount>,
    pub(crate) locations: Vec<GLocation>,
    pub(crate) posts: BTreeMap<String, LocalPost>,
    pub(crate) notification_settings: HashMap<String, Value>,
}

const CITIES: &[&str] = &["Springfield", "Riverton", "Lakeside", "Hillview", "Oakdale"];

impl GbpState {
    pub(crate) fn seed() -> GbpState {
        let mut locations: Vec<GLocation> = (0..seed::GBP_LOCATION_COUNT)
            .map(|i| GLocation {
                id: (seed::GBP_FIRST_LOCATION_ID + i as u64).to_string(),
                account: seed::GBP_ACCOUNT_ID.into(),
                title: format!("Sandbox Bakery {}", CITIES[i % CITIES.len()]),
            })
            .collect();
        locations.push(GLocation {
            id: "4000000000000000001".into(),
            account: seed::GBP_ACCOUNT2_ID.into(),
            title: "Sandbox Studio".into(),
        });
        GbpState {
            tokens: TokenStore::default(),
            consented: false,
            accounts: vec![
                GAccount {
                    id: seed::GBP_ACCOUNT_ID.into(),
                    name: "Sandbox Bakeries".into(),
                    kind: "LOCATION_GROUP".into(),
                },
                GAccount {
                    id: seed::GBP_ACCOUNT2_ID.into(),
                    name: "Sandbox Owner".into(),
                    kind: "PERSONAL".into(),
                },
            ],
            locations,
            posts: BTreeMap::new(),
            notification_settings: HashMap::new(),
        }
    }

    pub(crate) fn location(&self, account: &str, id: &str) -> Option<&GLocation> {
        self.locations
            .iter()
            .find(|l| l.id == id && l.account == account)
    }
}

fn authenticate(state: &SandboxState, req: &Req, api: &str) -> Result<(), GError> {
    let token = req.bearer().ok_or_else(GError::unauthenticated)?;
    let info = match lock(&state.gbp)
        .tokens
        .check_access(token, state.clock.now_unix())
    {
        Ok(i) => i.clone(),
        Err(
            TokenProblem::Expired
            | TokenProblem::Revoked
            | TokenProblem::Unknown
            | TokenProblem::Reused,
        ) => {
            return Err(GError::unauthenticated());
        }
    };
    if !info.scopes.iter().any(|s| s == SCOPE) {
        let mut e = GError::new(
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        );
        e.details.push(serde_json::json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}));
        return Err(e);
    }
    let cfg = &state.config.gbp;
    if state
        .limits
        .hit(
            &format!("gbp:api:{api}"),
            cfg.queries_per_minute,
            60_000,
            state.clock.now_ms(),
        )
        .exceeded
    {
        return Err(GError::exhausted(&format!("{api} requests per minute")));
    }
    Ok(())
}

/// Routes one Google Business Profile request.
pub(crate) async fn handle(state: &Arc<SandboxState>, req: Req) -> Response {
    let segs: Vec<String> = req.segments.clone();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.clone();
    match (&m, segs.as_slice()) {
        (&Method::GET, ["o", "oauth2", "v2", "auth"]) => return oauth::authorize(state, &req),
        (&Method::POST, ["token"]) => return oauth::token(state, &req),
        (&Method::POST, ["revoke"]) => return oauth::revoke_endpoint(state, &req),
        _ => {}
    }
    let api = match segs.as_slice() {
        ["v4", ..] => "mybusiness",
        ["v1", "locations", ..] => "businessprofileperformance",
        ["v1", "accounts", _, "locations", ..] => "mybusinessbusinessinformation",
        ["v1", "accounts", _, "notificationSetting"] => "mybusinessnotifications",
        _ => "mybusinessaccountmanagement",
    };
    let result = authenticate(state, &req, api).and_then(|()| match (&m, segs.as_slice()) {
        (&Method::GET, ["v1", "accounts"]) => business::accounts(state, &req),
        (&Method::GET, ["v1", "accounts", a]) => business::account(state, a),
        (&Method::GET, ["v1", "accounts", a, "locations"]) => business::locations(state, &req, a),
        (&Method::GET | &Method::PATCH, ["v1", "accounts", a, "notificationSetting"]) => {
            business::notification_setting(state, &req, a)
        }
        (&Method::GET, ["v1", "locations", target]) => business::performance(state, &req, target),
        (&Method::POST, ["v4", "accounts", a, "locations", l, "localPosts"]) => {
            posts::create(state, &req, a, l)
        }
        (&Method::GET, ["v4", "accounts", a, "locations", l, "localPosts"]) => {
            posts::list(state, &req, a, l)
        }
        (&Method::GET, ["v4", "accounts", a, "locations", l, "localPosts", p]) => {
            posts::get(state, a, l, p)
        }
        (&Method::PATCH, ["v4", "accounts", a, "locations", l, "localPosts", p]) => {
            posts::patch(state, &req, a, l, p)
        }
        (&Method::DELETE, ["v4", "accounts", a, "locations", l, "localPosts", p]) => {
            posts::delete(state, a, l, p)
        }
        _ => Err(GError::not_found()),
    });
    result.unwrap_or_else(GError::into_response)
}

/// Opaque page tokens: the hex of the next offset.
pub(crate) fn page_token(offset: usize) -> String {
    hex::encode(format!("o{offset}"))
}

/// Parses a page token made by [`page_token`].
pub(crate) fn parse_page_token(token: Option<&str>) -> Result<usize, GError> {
    match token {
        None | Some("") => Ok(0),
        Some(t) => hex::decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix('o').and_then(|n| n.parse().ok()))
            .ok_or_else(|| GError::field("page_token", "Invalid page token.")),
    }
}

/// Parses `pageSize` with a default and a maximum.
pub(crate) fn page_size(req: &Req, default: usize, max: usize) -> Result<usize, GError> {
    match req.q("pageSize") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(0) => Ok(default),
            Ok(n) if n <= max => Ok(n),
            _ => Err(GError::field(
                "page_size",
                &format!("pageSize must be between 1 and {max}."),
            )),
        },
    }
}

/// Revokes a Google token (access or refresh) and its grant.
pub(crate) fn revoke(state: &SandboxState, token: &str) -> bool {
    lock(&state.gbp).tokens.revoke(token)
}

/// Tokens for the seeded user with the Business Profile scope.
pub(crate) fn issue_token(state: &SandboxState, scopes: Option<Vec<String>>) -> IssuedToken {
    let scopes = scopes.unwrap_or_else(|| vec![SCOPE.to_string()]);
    let (access, refresh) = oauth::new_tokens(state, scopes, None, true);
    IssuedToken {
        access_token: access,
        refresh_token: refresh,
    }
}

//! The control API under `/_control`: faults, clock, request log, token revocation, reset, webhooks.
//! Answers are JSON; mistakes get `400 {"error": "..."}`.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::FaultRule;
use crate::http::{self, Req};
use crate::platform::Platform;
use crate::platforms;
use crate::state::SandboxState;
use crate::webhooks::{self, DeliveryOptions};

fn bad(message: impl Into<String>) -> Response {
    http::json(StatusCode::BAD_REQUEST, &json!({"error": message.into()}))
}

fn ok(value: Value) -> Response {
    http::json(StatusCode::OK, &value)
}

// A Response as the error keeps each route a single expression; its size does not matter here.
#[allow(clippy::result_large_err)]
fn body<T: for<'de> Deserialize<'de>>(req: &Req) -> Result<T, Response> {
    let bytes: &[u8] = if req.body.is_empty() {
        b"{}"
    } else {
        &req.body
    };
    serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid control request body: {e}")))
}

fn clock_view(state: &SandboxState) -> Value {
    json!({
        "now_unix": state.clock.now_unix(),
        "now_ms": state.clock.now_ms(),
        "offset_ms": state.clock.offset_ms(),
    })
}

/// Largest single clock advance (100 years), so the clock never overflows.
const MAX_ADVANCE_MS: u64 = 100 * 366 * 86_400 * 1000;

#[derive(Deserialize)]
struct Advance {
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    ms: u64,
}

#[derive(Deserialize)]
struct ErrorRate {
    rate: f64,
    /// One error, or `errors`: a mix drawn with equal odds. `503` when neither is given.
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
    #[serde(default)]
    seed: u64,
}

impl ErrorRate {
    fn errors(&self) -> Vec<String> {
        let mut errors = self.errors.clone();
        errors.extend(self.error.clone());
        if errors.is_empty() {
            errors.push("503".into());
        }
        errors
    }
}

#[derive(Deserialize)]
struct Latency {
    ms: u64,
}

#[derive(Deserialize)]
struct IssueToken {
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Revoke {
    token: String,
}

#[derive(Deserialize)]
struct Deliver {
    url: String,
    event: Value,
    #[serde(default)]
    options: DeliveryOptions,
}

#[derive(Deserialize)]
struct Verify {
    url: String,
    #[serde(default)]
    verify_token: String,
}

/// The log, optionally only entries after id `since` (so a test can fetch what is new).
fn list_requests(state: &SandboxState, platform: Option<Platform>, req: &Req) -> Response {
    let since = match req.q("since").map(str::parse::<u64>) {
        Some(Ok(n)) => n,
        Some(Err(_)) => return bad("since must be a request id"),
        None => 0,
    };
    let requests: Vec<_> = state
        .log
        .list(platform)
        .into_iter()
        .filter(|r| r.id > since)
        .collect();
    ok(json!({ "requests": requests }))
}

/// Routes one control request.
pub(crate) async fn handle(state: &Arc<SandboxState>, req: Req) -> Response {
    let segs = req.segs();
    let method = req.method.clone();
    match (method, segs.as_slice()) {
        (Method::GET, ["health"] | []) => {
            let mut platforms = serde_json::Map::new();
            for p in Platform::ALL {
                platforms.insert(p.as_str().into(), json!(state.platform_url(p)));
            }
            ok(
                json!({"status": "ok", "base_url": state.base_url(), "platforms": platforms, "clock": clock_view(state)}),
            )
        }
        (Method::GET, ["clock"]) => ok(clock_view(state)),
        (Method::GET, ["endpoints"]) => {
            ok(json!({ "endpoints": crate::endpoints::endpoints(state.base_url()) }))
        }
        (Method::POST, ["clock", "advance"]) => match body::<Advance>(&req) {
            Ok(a) => {
                let by = a
                    .seconds
                    .checked_mul(1000)
                    .and_then(|ms| ms.checked_add(a.ms));
                match by.filter(|ms| *ms <= MAX_ADVANCE_MS) {
                    Some(ms) => {
                        state.clock.advance(Duration::from_millis(ms));
                        ok(clock_view(state))
                    }
                    None => bad("the clock moves forward by at most 100 years per call"),
                }
            }
            Err(r) => r,
        },
        (Method::POST, ["reset"]) => {
            state.reset();
            ok(json!({"reset": "all"}))
        }
        (Method::GET, ["requests"]) => {
            let platform = match req.q("platform").map(|p| Platform::parse(p).ok_or(p)) {
                Some(Err(p)) => return bad(format!("unknown platform {p:?}")),
                Some(Ok(p)) => Some(p),
                None => None,
            };
            list_requests(state, platform, &req)
        }
        (Method::DELETE, ["requests"]) => {
            state.log.clear(None);
            ok(json!({"cleared": true}))
        }
        (method, [name, rest @ ..]) => match Platform::parse(name) {
            Some(p) => platform_control(state, p, method, rest, &req).await,
            None => http::json(
                StatusCode::NOT_FOUND,
                &json!({"error": format!("no control route {}", req.path)}),
            ),
        },
        _ => http::json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no control route {}", req.path)}),
        ),
    }
}

async fn platform_control(
    state: &Arc<SandboxState>,
    p: Platform,
    method: Method,
    rest: &[&str],
    req: &Req,
) -> Response {
    match (method, rest) {
        (Method::GET, ["requests"]) => list_requests(state, Some(p), req),
        (Method::DELETE, ["requests"]) => {
            state.log.clear(Some(p));
            ok(json!({"cleared": true}))
        }
        (Method::POST, ["reset"]) => {
            state.reset_platform(p);
            ok(json!({"reset": p}))
        }
        (Method::GET, ["faults"]) => ok(json!(state.faults.get(p))),
        (Method::DELETE, ["faults"]) => {
            state.faults.clear(Some(p));
            ok(json!(state.faults.get(p)))
        }
        (Method::POST, ["faults"]) => match body::<FaultRule>(req) {
            Ok(rule) if platforms::knows_error(p, &rule.error) => {
                state.faults.push_rule(p, rule);
                ok(json!(state.faults.get(p)))
            }
            Ok(rule) => bad(format!(
                "{p} knows no error named {:?}; known: {}",
                rule.error,
                platforms::error_names(p)
            )),
            Err(r) => r,
        },
        (Method::POST, ["error-rate"]) => match body::<ErrorRate>(req) {
            Ok(r) => {
                let errors = r.errors();
                match errors.iter().find(|e| !platforms::knows_error(p, e)) {
                    Some(unknown) => bad(format!(
                        "{p} knows no error named {unknown:?}; known: {}, or hang, reset",
                        platforms::error_names(p)
                    )),
                    None => {
                        state.faults.set_error_rate(p, r.rate, &errors, r.seed);
                        ok(json!(state.faults.get(p)))
                    }
                }
            }
            Err(r) => r,
        },
        (Method::POST, ["latency"]) => match body::<Latency>(req) {
            Ok(l) => {
                state.faults.set_latency(p, l.ms);
                ok(json!(state.faults.get(p)))
            }
            Err(r) => r,
        },
        (Method::POST, ["hang"]) => match body::<Latency>(req) {
            Ok(l) => {
                state.faults.set_hang(p, l.ms);
                ok(json!(state.faults.get(p)))
            }
            Err(r) => r,
        },
        (Method::GET, ["throttled"]) => ok(json!({"throttled": state.throttled(p)})),
        (Method::POST, ["tokens", "revoke"]) => match body::<Revoke>(req) {
            Ok(r) => ok(json!({"revoked": platforms::revoke_token(p, state, &r.token)})),
            Err(r) => r,
        },
        (Method::POST, ["tokens"]) => {
            let scopes = match body::<IssueToken>(req) {
                Ok(b) => b.scopes,
                Err(r) => return r,
            };
            let t = platforms::issue_token(p, state, scopes);
            ok(json!({"access_token": t.access_token, "refresh_token": t.refresh_token}))
        }
        (Method::POST, ["webhooks", "deliver"]) => match body::<Deliver>(req) {
            Ok(d) => {
                match webhooks::deliver(p, &d.url, &d.event, &d.options, state.clock.now_unix())
                    .await
                {
                    Ok(delivery) => ok(json!(delivery)),
                    Err(e) => http::json(StatusCode::BAD_GATEWAY, &json!({"error": e.to_string()})),
                }
            }
            Err(r) => r,
        },
        (Method::POST, ["webhooks", "verify"]) => match body::<Verify>(req) {
            Ok(v) => {
                match webhooks::verify_subscription(p, &v.url, &v.verify_token, state.next_id())
                    .await
                {
                    Ok(check) => ok(json!(check)),
                    Err(e) => http::json(StatusCode::BAD_GATEWAY, &json!({"error": e.to_string()})),
                }
            }
            Err(r) => r,
        },
        _ => http::json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no control route {}", req.path)}),
        ),
    }
}

//! The HTTP server: one port, one path prefix per platform, the control API under `/_control`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SandboxConfig;
use crate::faults::{self, FaultRule};
use crate::http::{self, Req};
use crate::platform::Platform;
use crate::platforms;
use crate::request_log::RecordedRequest;
use crate::state::SandboxState;
use crate::webhooks::{self, DeliveryOptions, SubscriptionCheck, WebhookDelivery, WebhookError};
use crate::{control, http::body_text_or_base64};

/// Why the sandbox could not start or refused a setting.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Binding the listen address failed.
    #[error("sandbox: cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A fault names an error the platform does not know.
    #[error("sandbox: {platform} knows no error named {name:?}")]
    UnknownError {
        /// The platform.
        platform: Platform,
        /// The name given.
        name: String,
    },
}

/// Entry point: starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Binds `config.listen` and serves every platform on it until the handle is shut down or dropped.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
        let addr = config.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let base_url = match &config.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{addr}"),
        };
        let state = Arc::new(SandboxState::new(config, base_url));
        let app = Router::new().fallback(entry).with_state(Arc::clone(&state));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        Ok(RunningSandbox {
            state,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A token the sandbox issued directly (without the OAuth dance), for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// The access token (for Mailchimp, the API key).
    pub access_token: String,
    /// The refresh token, where the platform has one.
    pub refresh_token: Option<String>,
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningSandbox {
    state: Arc<SandboxState>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `SandboxConfig::public_url` when set.
    pub fn base_url(&self) -> String {
        self.state.base_url().to_string()
    }

    /// Base URL of a platform's prefix, e.g. `http://127.0.0.1:PORT/tiktok`.
    pub fn url(&self, platform: Platform) -> String {
        self.state.platform_url(platform)
    }

    /// Every real base URL the sandbox imitates, with its sandbox counterpart.
    pub fn endpoints(&self) -> Vec<crate::endpoints::Endpoint> {
        crate::endpoints::endpoints(self.state.base_url())
    }

    /// Direct access to the state (clock, request log, faults, settings).
    pub fn state(&self) -> &Arc<SandboxState> {
        &self.state
    }

    /// Unix seconds on the sandbox clock.
    pub fn now_unix(&self) -> i64 {
        self.state.clock.now_unix()
    }

    /// Moves the sandbox clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// Requests received (of one platform, when given), oldest first.
    pub fn requests(&self, platform: Option<Platform>) -> Vec<RecordedRequest> {
        self.state.log.list(platform)
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.state.log.clear(None);
    }

    /// Makes the next `rule.count` matching calls to `platform` fail with the named error.
    pub fn inject(&self, platform: Platform, rule: FaultRule) -> Result<(), SandboxError> {
        if !platforms::knows_error(platform, &rule.error) {
            return Err(SandboxError::UnknownError {
                platform,
                name: rule.error,
            });
        }
        self.state.faults.push_rule(platform, rule);
        Ok(())
    }

    /// Makes a share `rate` (0.0-1.0) of calls to `platform` fail with `error`, drawn from a generator seeded with `seed`.
    pub fn set_error_rate(
        &self,
        platform: Platform,
        rate: f64,
        error: &str,
        seed: u64,
    ) -> Result<(), SandboxError> {
        self.set_error_mix(platform, rate, &[error], seed)
    }

    /// Makes a share `rate` (0.0-1.0) of calls to `platform` fail with one of `errors` (equal
    /// odds), drawn from a generator seeded with `seed`: a brownout's mix of 5xx, 429, hangs and
    /// resets.
    pub fn set_error_mix(
        &self,
        platform: Platform,
        rate: f64,
        errors: &[&str],
        seed: u64,
    ) -> Result<(), SandboxError> {
        if let Some(unknown) = errors.iter().find(|e| !platforms::knows_error(platform, e)) {
            return Err(SandboxError::UnknownError {
                platform,
                name: unknown.to_string(),
            });
        }
        let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        self.state
            .faults
            .set_error_rate(platform, rate, &errors, seed);
        Ok(())
    }

    /// Sets how long an injected `hang` on `platform` holds its request.
    pub fn set_hang(&self, platform: Platform, hang: Duration) {
        self.state
            .faults
            .set_hang(platform, hang.as_millis() as u64);
    }

    /// Adds `latency` to every call to `platform`.
    pub fn set_latency(&self, platform: Platform, latency: Duration) {
        self.state
            .faults
            .set_latency(platform, latency.as_millis() as u64);
    }

    /// Removes every fault of `platform`.
    pub fn clear_faults(&self, platform: Platform) {
        self.state.faults.clear(Some(platform));
    }

    /// Revokes an access or refresh token of `platform` (as a user removing the app would); true if it was known.
    pub fn revoke_token(&self, platform: Platform, token: &str) -> bool {
        platforms::revoke_token(platform, &self.state, token)
    }

    /// Issues a valid token for the platform's seeded account with every scope, skipping OAuth.
    /// Meta: a long-lived user token (page tokens come from `/me/accounts`); Mailchimp: the `us6` API key.
    pub fn issue_token(&self, platform: Platform) -> IssuedToken {
        platforms::issue_token(platform, &self.state, None)
    }

    /// Like [`RunningSandbox::issue_token`] with only `scopes` granted (ignored for Mailchimp, whose
    /// keys have no scopes), to test what a connector does when a permission is missing.
    pub fn issue_token_with_scopes(&self, platform: Platform, scopes: &[&str]) -> IssuedToken {
        let scopes = scopes.iter().map(|s| s.to_string()).collect();
        platforms::issue_token(platform, &self.state, Some(scopes))
    }

    /// Puts everything back to the seeded state, clock included.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Sends `event` to `url` the way `platform` delivers webhooks, signed with its app secret.
    pub async fn deliver_webhook(
        &self,
        platform: Platform,
        url: &str,
        event: &Value,
        options: &DeliveryOptions,
    ) -> Result<WebhookDelivery, WebhookError> {
        webhooks::deliver(platform, url, event, options, self.state.clock.now_unix()).await
    }

    /// Sends `platform`'s subscription check to `url` and tells whether the receiver answered it correctly.
    pub async fn verify_subscription(
        &self,
        platform: Platform,
        url: &str,
        verify_token: &str,
    ) -> Result<SubscriptionCheck, WebhookError> {
        webhooks::verify_subscription(platform, url, verify_token, self.state.next_id()).await
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn entry(State(state): State<Arc<SandboxState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b.to_vec(),
        Err(_) => {
            return http::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"error": "request body is larger than the sandbox accepts"}),
            );
        }
    };
    let full_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().map(str::to_string);
    let trimmed = full_path.trim_start_matches('/');
    let (first, rest) = match trimmed.split_once('/') {
        Some((f, r)) => (f, format!("/{r}")),
        None => (trimmed, "/".to_string()),
    };
    let platform = Platform::parse(first);
    let log_id = record(
        &state,
        platform,
        &parts,
        &full_path,
        raw_query.as_deref(),
        &body,
    );
    let req = Req::new(
        parts.method,
        &rest,
        raw_query.as_deref(),
        parts.headers,
        body,
    );
    let resp = match (first, platform) {
        ("_control", _) => control::handle(&state, req).await,
        ("example", _) => crate::example::handle(&state, &state.example, req),
        (_, Some(p)) => platform_call(&state, p, req).await,
        _ => http::json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no platform at /{first}; use /meta, /linkedin, /tiktok, /gbp, /mailchimp, /example or /_control")}),
        ),
    };
    if let Some(id) = log_id {
        state.log.set_status(id, resp.status().as_u16());
        tracing::debug!(request = id, path = %full_path, status = resp.status().as_u16(), "sandbox request");
    }
    resp
}

async fn platform_call(state: &Arc<SandboxState>, platform: Platform, req: Req) -> Response {
    let _guard = match platforms::admit(platform, state, &req) {
        Ok(guard) => guard,
        Err(resp) => return resp,
    };
    let decision = state.faults.decide(platform, &req.path);
    if decision.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.latency_ms)).await;
    }
    if let Some(name) = decision.error {
        let (acts_first, name) = faults::answer_lost(&name);
        let injected = match name {
            faults::HANG | faults::RESET => None,
            faults::THROTTLE => Some(with_retry_after(http::json(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"message": "Too many requests (injected gateway throttle)"}),
            ))),
            _ => match platforms::render_named_error(platform, name, &req) {
                Some(resp) => Some(resp),
                None => return platforms::handle(platform, state, req).await,
            },
        };
        if acts_first {
            // The platform does the work; its answer is lost and the fault goes out instead.
            drop(platforms::handle(platform, state, req).await);
        }
        return match injected {
            Some(resp) => resp,
            None if name == faults::HANG => {
                tokio::time::sleep(Duration::from_millis(decision.hang_ms)).await;
                http::json(
                    StatusCode::GATEWAY_TIMEOUT,
                    &json!({"error": "the sandbox held this request (injected hang)"}),
                )
            }
            None => reset_mid_body(),
        };
    }
    platforms::handle(platform, state, req).await
}

/// A gateway's 429 names its wait.
fn with_retry_after(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        faults::RETRY_AFTER_SECS.into(),
    );
    resp
}

/// A `200` whose body stops after a few bytes with the connection cut (no final chunk): the
/// client has the status but never a whole answer.
fn reset_mid_body() -> Response {
    let chunks: [Result<&'static [u8], std::io::Error>; 2] = [
        Ok(b"{\"id\": \"urn:li:share:"),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        )),
    ];
    Response::builder()
        .status(StatusCode::OK)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from_stream(futures::stream::iter(chunks)))
        .expect("a static response")
}

fn record(
    state: &SandboxState,
    platform: Option<Platform>,
    parts: &axum::http::request::Parts,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<u64> {
    if path.starts_with("/_control") {
        return None;
    }
    let limit = state.config.log_body_limit.min(body.len());
    let (body_text, body_base64) = body_text_or_base64(&body[..limit]);
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Some(state.log.push(RecordedRequest {
        id: 0,
        platform,
        method: parts.method.to_string(),
        path: path.to_string(),
        query: query.map(str::to_string),
        headers,
        body_text,
        body_base64,
        body_len: body.len(),
        body_truncated: limit < body.len(),
        status: None,
        at_unix_ms: state.clock.now_ms(),
    }))
}

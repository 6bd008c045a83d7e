//! The WIT `http` adapter.

use std::time::{Duration, Instant};

use tracing::Instrument;

use super::HttpState;
use crate::capability::memory::MemoryExceeded;
use crate::runtime::wit::http::{self, HttpError, Method, Request, Response};

impl http::Host for HttpState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        // The request's trace span (when traces are exported): method, origin, status. No
        // `traceparent` goes to the platform.
        let span = crate::telemetry::client_span(&self.plugin, method_word(request.method));
        let sent = self.send_traced(request).instrument(span.clone()).await;
        let answer = match &sent {
            Ok(result) => result
                .as_ref()
                .map(|answer| answer.status)
                .map_err(error_word),
            // The call ends: its host memory ran out while the answer was read.
            Err(_) => Err("host-memory"),
        };
        crate::telemetry::record_answer(&span, answer);
        sent
    }
}

impl HttpState {
    /// [`http::Host::send`] inside the request's span.
    async fn send_traced(
        &mut self,
        request: Request,
    ) -> wasmtime::Result<Result<Response, HttpError>> {
        // The previous answer's body is in guest memory by now: the host no longer holds it.
        self.memory.hold_transient(0)?;
        // An oversized body is refused before anything is sent, like a policy denial.
        if request.body.len() as u64 > self.limits.max_request_body {
            if let Some(metrics) = &self.metrics {
                metrics.refused(&self.plugin);
            }
            return Ok(Err(HttpError::TooLarge(self.limits.max_request_body)));
        }
        self.memory.hold_transient(request.body.len())?;
        let started = Instant::now();
        let result = match self.transfer(request).await {
            Err(Failure::Memory(exceeded)) => return Err(exceeded.into()),
            Err(Failure::Http(error)) => Err(error),
            Ok(answer) => Ok(answer),
        };
        if let Some(metrics) = &self.metrics {
            match &result {
                Ok(answer) => metrics.answered(&self.plugin, answer.status, started.elapsed()),
                Err(
                    HttpError::Denied(_) | HttpError::RateLimited(_) | HttpError::InvalidRequest(_),
                ) => metrics.refused(&self.plugin),
                Err(_) => metrics.failed(&self.plugin, started.elapsed()),
            }
        }
        Ok(result)
    }
}

/// Why a transfer ended without an answer: the request's own failure (the guest's to handle),
/// or the call's host memory spent while the answer was read (the call ends).
pub(super) enum Failure {
    Http(HttpError),
    Memory(MemoryExceeded),
}

impl From<HttpError> for Failure {
    fn from(error: HttpError) -> Self {
        Failure::Http(error)
    }
}

/// The longest a request waits in its call for room in its rate buckets; a longer wait fails
/// the request as `rate-limited`, for the job to be queued for that long instead.
pub const IN_CALL_RATE_WAIT: Duration = Duration::from_secs(1);

impl HttpState {
    /// Checks, rate-limits and sends one request.
    async fn transfer(&mut self, request: Request) -> Result<Response, Failure> {
        let (url, timeout) = self.admit(&request.url, request.timeout_ms).await?;
        let mut builder = self.builder(request.method, url, timeout, &request.headers)?;
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let started = Instant::now();
        let answer = builder.send().await.map_err(transport_error)?;
        let answer = self.read_answer(answer).await?;
        tracing::debug!(
            plugin = %self.plugin,
            status = answer.status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "egress request"
        );
        Ok(answer)
    }

    /// Admits one request to `url`: the egress policy, then the rate buckets (a short wait for
    /// room is spent here, in the call, rather than failing it), then its timeout within the
    /// call's deadline.
    pub(super) async fn admit(
        &mut self,
        url: &str,
        timeout_ms: Option<u32>,
    ) -> Result<(reqwest::Url, Duration), HttpError> {
        let url = self.policy.check(url).map_err(|denied| {
            tracing::warn!(plugin = %self.plugin, reason = %denied, "egress refused");
            HttpError::Denied(denied.0)
        })?;
        crate::telemetry::record_origin(&tracing::Span::current(), &url);
        // Every bucket at once, or none: a request refused by one uses no place in the others.
        if let Some(gate) = &mut self.rate
            && !std::mem::take(&mut gate.prepaid)
        {
            let patience =
                IN_CALL_RATE_WAIT.min(self.deadline.saturating_duration_since(Instant::now()));
            match gate.limiter.acquire(&gate.buckets, patience).await {
                Ok(wait) if wait.is_zero() => {}
                Ok(wait) => tokio::time::sleep(wait).await,
                Err(refusal) => {
                    let bucket = &gate.buckets[refusal.bucket].0;
                    let wait_ms = refusal.wait.as_millis().max(1) as u64;
                    tracing::info!(plugin = %self.plugin, bucket, wait_ms, "rate budget spent; request not sent");
                    return Err(HttpError::RateLimited(wait_ms));
                }
            }
        }
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let asked = timeout_ms.map(|ms| Duration::from_millis(ms.into()));
        let timeout = asked
            .unwrap_or(self.limits.max_timeout)
            .min(self.limits.max_timeout)
            .min(remaining);
        if timeout.is_zero() {
            return Err(HttpError::Timeout);
        }
        Ok((url, timeout))
    }

    /// A request to an admitted `url` with the connector's `headers` (less those the host
    /// sets itself).
    pub(super) fn builder(
        &self,
        method: Method,
        url: reqwest::Url,
        timeout: Duration,
        headers: &[(String, String)],
    ) -> Result<reqwest::RequestBuilder, HttpError> {
        let method = match method {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, url).timeout(timeout);
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "host" | "content-length" | "connection" | "transfer-encoding"
            ) {
                continue;
            }
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("invalid header name `{name}`")))?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                HttpError::InvalidRequest(format!("invalid value for header `{name}`"))
            })?;
            builder = builder.header(name, value);
        }
        Ok(builder)
    }

    /// Reads an answer whole, within the response cap, charging its body to the call's host
    /// memory as it grows.
    pub(super) async fn read_answer(
        &mut self,
        mut answer: reqwest::Response,
    ) -> Result<Response, Failure> {
        let status = answer.status().as_u16();
        let headers = answer
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.limits.max_response_body;
        if answer.content_length().is_some_and(|len| len > cap) {
            return Err(HttpError::TooLarge(cap).into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(transport_error)? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(HttpError::TooLarge(cap).into());
            }
            // The request body was handed to the client; the answer's grows in host memory.
            self.memory
                .hold_transient(body.len() + chunk.len())
                .map_err(Failure::Memory)?;
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn method_word(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
    }
}

/// An error's kind, for the request's span (never its text, which may quote the URL).
fn error_word(error: &HttpError) -> &'static str {
    match error {
        HttpError::Denied(_) => "denied",
        HttpError::RateLimited(_) => "rate-limited",
        HttpError::Timeout => "timeout",
        HttpError::TooLarge(_) => "too-large",
        HttpError::InvalidRequest(_) => "invalid-request",
        HttpError::Connection(_) => "connection",
    }
}

pub(super) fn transport_error(error: reqwest::Error) -> HttpError {
    if let Some(forbidden) = super::forbidden_in(&error) {
        return HttpError::Denied(forbidden.to_string());
    }
    if error.is_timeout() {
        HttpError::Timeout
    } else if error.is_builder() {
        HttpError::InvalidRequest(error.without_url().to_string())
    } else {
        // The URL is left out: query strings may carry tokens.
        HttpError::Connection(error.without_url().to_string())
    }
}

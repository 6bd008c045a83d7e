//! Outbound HTTP for connectors: the egress policy, body caps and deadline-bounded timeouts.
//!
//! Redirects are never followed: a 3xx comes back to the connector, which decides whether the
//! next hop is one it should take (and that hop is checked like any other request).

mod address;
mod host;
mod media;
mod metrics;
mod policy;
mod rate;
mod rate_redis;
mod special;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::memory::CallMemory;

pub use address::{
    Cidr, ForbiddenAddress, GuardedResolver, Reason, check_address, forbidden_in, forbidden_reason,
};
pub use media::MediaSource;
pub use metrics::{EgressMetrics, EgressStats, LATENCY_BUCKETS};
pub use policy::{Denied, EgressPolicy, HostPattern, UrlRefusal, screen_url};
pub use rate::{Budget, LocalRateLimiter, RateLimiter, Refusal};
pub use rate_redis::RedisRateLimiter;
pub use special::{IPV4_SPECIAL, IPV6_SPECIAL, NOT_IN_REGISTRIES, Reach, SpecialBlock};

/// Caps on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body, in bytes.
    pub max_request_body: u64,
    /// Largest response body, in bytes; a longer answer is cut off with `too-large`.
    pub max_response_body: u64,
    /// Longest timeout a connector may ask for.
    pub max_timeout: Duration,
    /// Largest range one `media` transfer streams from a media file to an upload, in bytes
    /// (it never enters guest or host memory whole).
    pub max_transfer: u64,
}

impl Default for HttpLimits {
    /// 64 MiB request bodies fit one TikTok video chunk (5-64 MB); 16 MiB answers fit any
    /// platform's JSON; 60 s is the longest a platform answer is worth waiting for; 4 GiB
    /// transfers fit the largest video any supported platform takes in one request (TikTok's
    /// 4 GB).
    fn default() -> Self {
        HttpLimits {
            max_request_body: 64 << 20,
            max_response_body: 16 << 20,
            max_timeout: Duration::from_secs(60),
            max_transfer: 4 << 30,
        }
    }
}

/// A plugin's HTTP client: its connection pool is reused across the plugin's calls, redirects
/// are off, and names resolve through the private-address guard with the plugin's `policy`.
///
/// Proxies are off whatever the environment says (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`):
/// a proxy resolves names itself, so a request through one would reach whatever address the
/// name points at, loopback and private ranges included, without passing the guard.
pub fn client(policy: &EgressPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver::new(
            policy.allowed_ranges().to_vec(),
        )))
        .user_agent(concat!("postd-host/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's fixed configuration is valid")
}

/// The budgets one call's requests are taken from: its connection's bucket under the plugin's
/// budget, and its tenant's ceiling across plugins.
#[derive(Clone)]
pub struct RateGate {
    /// Where buckets live.
    pub limiter: Arc<dyn RateLimiter>,
    /// (bucket key, budget) pairs; a request must fit all of them.
    pub buckets: Vec<(String, Budget)>,
    /// The call's first request was taken from these buckets before the call started (the
    /// pipeline admits a job only when its buckets have room: see
    /// `Runtime::reserve_egress`), so it is not taken again.
    pub prepaid: bool,
}

/// The `http` capability of one call.
pub struct HttpState {
    rate: Option<RateGate>,
    metrics: Option<Arc<EgressMetrics>>,
    plugin: Arc<str>,
    policy: Arc<EgressPolicy>,
    client: reqwest::Client,
    limits: HttpLimits,
    deadline: Instant,
    memory: CallMemory,
    sources: wasmtime::component::ResourceTable,
}

impl HttpState {
    /// Egress for one call of `plugin`, ending at `deadline`.
    pub fn new(
        plugin: Arc<str>,
        policy: Arc<EgressPolicy>,
        client: reqwest::Client,
        limits: HttpLimits,
        deadline: Instant,
    ) -> Self {
        HttpState {
            plugin,
            policy,
            client,
            limits,
            deadline,
            rate: None,
            metrics: None,
            memory: CallMemory::unlimited(),
            sources: wasmtime::component::ResourceTable::new(),
        }
    }

    /// Charges request and response bodies in flight to `memory`.
    pub fn with_memory(mut self, memory: CallMemory) -> Self {
        self.memory = memory;
        self
    }

    /// Records every request of the call in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<EgressMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Takes every request of the call from `gate`'s buckets first.
    pub fn with_rate_gate(mut self, gate: RateGate) -> Self {
        self.rate = Some(gate);
        self
    }
}

//! The delivery loop: claims due deliveries under a lease, POSTs each signed body through the
//! private-address guard, and records what the receiver answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Semaphore, watch};
use url::Url;

use super::EventSettings;
use super::sign::{new_secret, signature_header};
use crate::capability::http::{
    ForbiddenAddress, GuardedResolver, UrlRefusal, forbidden_in, screen_url,
};
use crate::capability::vault::{SecretScope, SecretStore, SecretWrite, VaultFault};
use crate::jobs::Clock;
use crate::store::{ClaimedDelivery, DeliveryAttempt, DeliveryNext, Millis, Store};
use crate::time::{Span, UnixMs};

/// The most bytes of a receiver's answer read (the rest is dropped unread).
pub const RESPONSE_READ_LIMIT: usize = 64 << 10;
/// The most characters of an answer or error kept with an attempt.
const ERROR_TEXT_LIMIT: usize = 300;
/// Added to the request timeout for a delivery's lease: the lease outlives the attempt and the
/// write of its outcome. A delivery whose host died is sent again this long after its timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// A claim slower than this refreshes the tables' statistics (at most once per
/// [`ANALYZE_AT_MOST_EVERY`]): a plan made without them is the usual cause.
const SLOW_CLAIM: Duration = Duration::from_millis(200);
/// How often a slow claim may refresh statistics.
const ANALYZE_AT_MOST_EVERY: Duration = Duration::from_secs(60);
/// How often delivered and failed deliveries past their retention are erased.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The vault scope's plugin part for endpoint secrets: not a valid plugin id, so no plugin
/// call can ever be scoped to it.
const VAULT_OWNER: &str = "postd/events";
/// The current signing secret's name in the vault.
const SECRET: &str = "signing-secret";
/// The secret the last rotation replaced.
const PREVIOUS_SECRET: &str = "previous-signing-secret";

/// Deliveries by outcome, since the process started.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    delivered: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

impl DeliveryMetrics {
    fn count(&self, next: DeliveryNext) {
        let counter = match next {
            DeliveryNext::Delivered => &self.delivered,
            DeliveryNext::RetryAt(_) => &self.retried,
            DeliveryNext::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `(outcome, attempts)`: `delivered`, `retry` (failed, tried again later) and `failed`
    /// (given up).
    pub fn snapshot(&self) -> [(&'static str, u64); 3] {
        [
            ("delivered", self.delivered.load(Ordering::Relaxed)),
            ("retry", self.retried.load(Ordering::Relaxed)),
            ("failed", self.failed.load(Ordering::Relaxed)),
        ]
    }
}

/// Sends events to tenants' endpoints. Share it behind an `Arc`.
pub struct EventDelivery {
    store: Store,
    secrets: Arc<dyn SecretStore>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    settings: EventSettings,
    worker: String,
    metrics: DeliveryMetrics,
    analyzed_at: std::sync::Mutex<Option<Instant>>,
}

impl EventDelivery {
    /// Delivery over `store`, with endpoint secrets in `secrets`.
    pub fn new(
        store: Store,
        secrets: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
        settings: EventSettings,
        worker: String,
    ) -> Self {
        // Like plugin egress: no proxy (it would resolve names past the guard), no redirects,
        // names resolved by the guard.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(
                settings.allowed_ranges.clone(),
            )))
            .user_agent(concat!(
                "postd-host/",
                env!("CARGO_PKG_VERSION"),
                " (events)"
            ))
            .build()
            .expect("the events HTTP client's fixed configuration is valid");
        EventDelivery {
            store,
            secrets,
            clock,
            client,
            settings,
            worker,
            metrics: DeliveryMetrics::default(),
            analyzed_at: std::sync::Mutex::new(None),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &EventSettings {
        &self.settings
    }

    /// Deliveries by outcome.
    pub fn metrics(&self) -> &DeliveryMetrics {
        &self.metrics
    }

    /// Checks an endpoint URL: `https` (or `http` to an IP address in an allowed range), no
    /// credentials, and no IP address the guard refuses. Names are checked by the guard's
    /// resolver at every delivery (not here: what a name resolves to can change, and the API
    /// makes no DNS queries).
    pub fn check_url(&self, url: &str) -> Result<Url, String> {
        let allowed = &self.settings.allowed_ranges;
        let (parsed, ip) = screen_url(url, allowed).map_err(|refusal| match refusal {
            UrlRefusal::Forbidden(e) => refused(&e),
            UrlRefusal::Malformed(why) => why,
        })?;
        let internal = ip.is_some_and(|ip| allowed.iter().any(|r| r.contains(ip)));
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if internal => Ok(parsed),
            "http" => Err(
                "endpoints must use https (plain http only to an address in the operator's event_allowed_ranges)"
                    .into(),
            ),
            other => Err(format!("scheme `{other}` is not http or https")),
        }
    }

    fn scope(tenant: &str, endpoint: &str) -> SecretScope {
        SecretScope::new(tenant, VAULT_OWNER, format!("endpoint/{endpoint}"))
    }

    /// Stores a new signing secret for `endpoint` and returns it (shown to the tenant once);
    /// with `keep_previous`, the current one becomes the previous (a rotation).
    pub async fn new_signing_secret(
        &self,
        tenant: &str,
        endpoint: &str,
        keep_previous: bool,
    ) -> Result<String, VaultFault> {
        let scope = Self::scope(tenant, endpoint);
        let secret = new_secret();
        let mut writes = vec![SecretWrite::Put(SECRET.into(), secret.clone())];
        if keep_previous && let Some(current) = self.secrets.get(&scope, SECRET).await? {
            writes.push(SecretWrite::Put(PREVIOUS_SECRET.into(), current));
        }
        self.secrets.commit(&scope, writes).await?;
        Ok(secret)
    }

    /// Erases `endpoint`'s secrets.
    pub async fn erase_secrets(&self, tenant: &str, endpoint: &str) -> Result<(), VaultFault> {
        let writes = vec![
            SecretWrite::Delete(SECRET.into()),
            SecretWrite::Delete(PREVIOUS_SECRET.into()),
        ];
        self.secrets
            .commit(&Self::scope(tenant, endpoint), writes)
            .await
    }

    /// Runs until `stopped`: claims due deliveries for free slots and sends each in its own
    /// task; erases old ones hourly.
    pub async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut purged_at: Option<Instant> = None;
        while !*stopped.borrow() {
            if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                purged_at = Some(Instant::now());
                self.purge().await;
            }
            let Ok(first) = slots.clone().acquire_owned().await else {
                return;
            };
            let free = slots.available_permits() + 1;
            let claimed = self.claim(free).await;
            let mut permit = Some(first);
            for delivery in &claimed {
                let slot = match permit.take() {
                    Some(slot) => slot,
                    None => match slots.clone().acquire_owned().await {
                        Ok(slot) => slot,
                        Err(_) => return,
                    },
                };
                let this = self.clone();
                let delivery = delivery.clone();
                tokio::spawn(async move {
                    this.deliver(&delivery).await;
                    drop(slot);
                });
            }
            drop(permit);
            if claimed.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll) => {}
                    _ = stopped.changed() => return,
                }
            }
        }
    }

    /// Claims and sends every delivery due now, in this task, until none is left; returns how
    /// many attempts were made. For tools and tests that drive the clock.
    pub async fn deliver_due(&self) -> usize {
        let mut sent = 0;
        loop {
            let claimed = self.claim(self.settings.concurrency.max(1)).await;
            if claimed.is_empty() {
                return sent;
            }
            sent += claimed.len();
            futures::future::join_all(claimed.iter().map(|d| self.deliver(d))).await;
        }
    }

    async fn claim(&self, limit: usize) -> Vec<ClaimedDelivery> {
        let lease = Span::from(self.settings.timeout + LEASE_MARGIN).as_millis_i64();
        let started = Instant::now();
        let claimed = self
            .store
            .claim_event_deliveries(&self.worker, self.clock.now(), lease, limit as u32)
            .await;
        if started.elapsed() > SLOW_CLAIM {
            self.refresh_statistics().await;
        }
        match claimed {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "claiming event deliveries failed");
                Vec::new()
            }
        }
    }

    async fn refresh_statistics(&self) {
        {
            let mut analyzed_at = self.analyzed_at.lock().expect("analyzed_at");
            if analyzed_at.is_some_and(|at| at.elapsed() < ANALYZE_AT_MOST_EVERY) {
                return;
            }
            *analyzed_at = Some(Instant::now());
        }
        match self.store.analyze_event_deliveries().await {
            Ok(()) => {
                tracing::info!("claiming deliveries was slow; refreshed the tables' statistics")
            }
            Err(error) => tracing::warn!(%error, "refreshing delivery statistics failed"),
        }
    }

    async fn purge(&self) {
        let retention = Span::from(self.settings.retention);
        let before = UnixMs::new(self.clock.now())
            .saturating_sub(retention)
            .get();
        match self.store.purge_event_deliveries(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "erased deliveries past their retention"),
            Err(error) => tracing::warn!(%error, "erasing old deliveries failed"),
        }
    }

    /// Sends one delivery and records the attempt.
    async fn deliver(&self, delivery: &ClaimedDelivery) {
        let attempt = self.attempt(delivery).await;
        if let Some(error) = &attempt.error {
            tracing::warn!(
                tenant = %delivery.tenant_id, endpoint = %delivery.endpoint_id,
                event = %delivery.event_id, attempt = delivery.attempts, %error,
                "event delivery failed"
            );
        }
        match self.store.record_event_attempt(delivery, &attempt).await {
            Ok(true) => self.metrics.count(attempt.next),
            Ok(false) => tracing::info!(
                event = %delivery.event_id,
                "a delivery's lease was lost before its outcome was recorded; it will be sent again"
            ),
            Err(error) => tracing::error!(
                event = %delivery.event_id, %error,
                "recording a delivery failed; it will be sent again when its lease ends"
            ),
        }
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) -> DeliveryAttempt {
        let at = self.clock.now();
        let started = Instant::now();
        let (status, error, permanent) = self.send(delivery, at).await;
        let latency_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        let next = match (status, permanent) {
            (Some(status), _) if (200..300).contains(&status) => DeliveryNext::Delivered,
            (_, true) => DeliveryNext::Failed,
            _ => {
                let delay = Span::from(self.settings.backoff(delivery.attempts));
                let next = UnixMs::new(at).saturating_add(delay);
                let window_end = UnixMs::new(delivery.window_start)
                    .saturating_add(Span::from(self.settings.retry_window));
                if next > window_end {
                    DeliveryNext::Failed
                } else {
                    DeliveryNext::RetryAt(next.get())
                }
            }
        };
        DeliveryAttempt {
            at,
            latency_ms,
            status,
            error,
            next,
        }
    }

    /// One POST: the status if the receiver answered, what went wrong, and whether trying
    /// again cannot help (the guard refuses the address).
    async fn send(
        &self,
        delivery: &ClaimedDelivery,
        now: Millis,
    ) -> (Option<u16>, Option<String>, bool) {
        if let Err(error) = self.check_url(&delivery.url) {
            return (None, Some(error), true);
        }
        let scope = Self::scope(&delivery.tenant_id, &delivery.endpoint_id);
        let mut secrets = Vec::new();
        for name in [SECRET, PREVIOUS_SECRET] {
            if name == PREVIOUS_SECRET
                && delivery
                    .previous_secret_until
                    .is_none_or(|until| until <= now)
            {
                continue;
            }
            match self.secrets.get(&scope, name).await {
                Ok(Some(secret)) => secrets.push(secret),
                Ok(None) => {}
                Err(error) => {
                    return (
                        None,
                        Some(format!("reading the signing secret: {error}")),
                        false,
                    );
                }
            }
        }
        if secrets.is_empty() {
            return (
                None,
                Some("the endpoint has no signing secret".into()),
                false,
            );
        }
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let body = delivery.payload.as_bytes();
        let signature = signature_header(&secrets, &delivery.event_id, timestamp, body);
        let sent = self
            .client
            .post(&delivery.url)
            .timeout(self.settings.timeout)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                if let Some(forbidden) = forbidden_in(&error) {
                    return (None, Some(refused(forbidden)), true);
                }
                let error = error.without_url();
                return (None, Some(clip(&describe(&error))), false);
            }
        };
        let status = response.status();
        let mut answer = Vec::new();
        while answer.len() < RESPONSE_READ_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let error = (!status.is_success()).then(|| {
            let text = String::from_utf8_lossy(&answer);
            let text = text.trim();
            match (status.is_redirection(), text.is_empty()) {
                (true, _) => format!("HTTP {}: redirects are not followed", status.as_u16()),
                (false, true) => format!("HTTP {}", status.as_u16()),
                (false, false) => clip(&format!("HTTP {}: {text}", status.as_u16())),
            }
        });
        (Some(status.as_u16()), error, false)
    }
}

fn refused(error: &ForbiddenAddress) -> String {
    format!(
        "{} is {}; events are not sent there unless the operator allows its range (event_allowed_ranges)",
        error.ip, error.reason
    )
}

/// An HTTP client error with its causes, one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(ERROR_TEXT_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

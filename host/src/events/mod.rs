//! Outbound events: what the host tells a tenant's app, signed as the Standard Webhooks
//! specification says, so tenants verify deliveries with an existing library.
//!
//! # Guarantees
//!
//! - **Written with the change it reports.** Every event is stored, one delivery row per
//!   subscribed endpoint, inside the database transaction of the state change (a job published
//!   or dead-lettered, a connection's status changed, a plugin disabled): a change is never
//!   committed without its event, and no event exists for a change rolled back (an outbox).
//! - **At least once, with a stable id.** A delivery is retried until the endpoint answers 2xx,
//!   with exponential backoff for up to [`EventSettings::retry_window`] (a day by default), then
//!   marked `failed`. A host that dies mid-delivery leaves the delivery under a lease that ends
//!   after the request timeout; another worker (or the same host after its restart) sends it
//!   again. The `webhook-id` header is the event id on every attempt: receivers deduplicate by it.
//! - **Ordered per subject.** Events about one connection (its status changes), one post target
//!   (published, then deleted) or one plugin reach an endpoint one at a time, in the order they
//!   occurred: a later one waits until the earlier was delivered or failed for good. Events about
//!   different subjects are delivered concurrently and may arrive in any order.
//! - **Never in the pipeline's way.** Delivery runs in its own loop with its own HTTP client and
//!   concurrency ([`EventSettings::concurrency`]); the pipeline only writes rows.
//! - **Guarded egress.** Endpoint URLs pass the same private-address guard as plugin egress:
//!   loopback, private, link-local and the other special-purpose ranges are refused unless the
//!   operator allows a range (`event_allowed_ranges`). Names are resolved by the guard, which
//!   hands the HTTP client only the addresses it checked. Redirects are not followed; requests
//!   time out; at most [`RESPONSE_READ_LIMIT`] bytes of an answer are read.
//!
//! The event types and their data are [`EventType`]; the wire format is [`sign`].

mod deliver;
pub mod sign;
mod types;

use std::time::Duration;

pub use deliver::{DeliveryMetrics, EventDelivery, RESPONSE_READ_LIMIT};
pub use types::{Event, EventType};

use crate::capability::http::Cidr;

/// How events are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// Whether this process delivers events. Every process writes them; a fleet may leave
    /// delivery to some of its replicas.
    pub deliver: bool,
    /// Address ranges endpoints may resolve to although the guard refuses them (loopback or an
    /// internal network, for development or an in-cluster receiver).
    pub allowed_ranges: Vec<Cidr>,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The delay after the first failed attempt; each next one doubles, up to `retry_max`.
    pub retry_first: Duration,
    /// The longest delay between two attempts.
    pub retry_max: Duration,
    /// How long after the event (or its redelivery) attempts go on before it is `failed`.
    pub retry_window: Duration,
    /// How long the secret a rotation replaced still signs deliveries.
    pub secret_grace: Duration,
    /// Deliveries in flight at once in this process.
    pub concurrency: usize,
    /// How often the loop looks for due deliveries when it found none.
    pub poll: Duration,
    /// How long delivered and failed deliveries (and their attempts) are kept.
    pub retention: Duration,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            deliver: true,
            allowed_ranges: Vec::new(),
            timeout: Duration::from_secs(10),
            retry_first: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            retry_window: Duration::from_secs(24 * 3600),
            secret_grace: Duration::from_secs(24 * 3600),
            concurrency: 16,
            poll: Duration::from_millis(500),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl EventSettings {
    /// The delay before attempt `failed + 1`, after `failed` failed attempts (at least one):
    /// `retry_first` doubled per earlier failure, capped at `retry_max`, less up to a tenth at
    /// random so endpoints that failed together are not retried in lockstep.
    pub fn backoff(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(30);
        let delay = self
            .retry_first
            .saturating_mul(1u32 << doublings)
            .min(self.retry_max);
        delay.saturating_sub(delay.mul_f64(fastrand::f64() / 10.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_a_little_jitter() {
        let settings = EventSettings::default();
        for (failed, nominal) in [(1, 5), (2, 10), (3, 20), (8, 640), (12, 3600), (40, 3600)] {
            let delay = settings.backoff(failed).as_secs_f64();
            let nominal = nominal as f64;
            assert!(
                delay <= nominal && delay >= nominal * 0.9,
                "attempt {failed}: {delay} s, nominal {nominal} s"
            );
        }
    }
}

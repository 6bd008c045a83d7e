//! Which rate buckets a call's requests come from, and admission by them ahead of a call.
//!
//! A call's requests are taken from two buckets: its connection's under the plugin's budget
//! (`rate_limit` in `plugins.toml`, else the connector's declared budget) and its tenant's
//! ceiling across plugins (`tenant_egress_per_second`, or the tenant's own value set through
//! the admin API). The job pipeline asks [`Runtime::reserve_egress`] before it instantiates a
//! job's component: the first request is taken then, and when a bucket is empty the job is
//! held until that bucket's next free time instead of running only to be refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::Runtime;
use super::registry::{LoadedPlugin, SlotConfig};
use crate::capability::CallContext;
use crate::capability::http::{Budget, RateGate};

/// Which of a call's buckets refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldScope {
    /// The connection's bucket under the plugin's budget.
    Connection,
    /// The tenant's ceiling across plugins.
    Tenant,
}

/// A call its buckets cannot admit now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The bucket that refused.
    pub scope: HoldScope,
    /// How long until it admits one more request.
    pub wait: Duration,
    /// Its spacing at the steady rate: one more request fits every `interval` after `wait`.
    pub interval: Duration,
}

/// How long a connection's jobs stay out of claims after one found its plugin's calls all taken.
pub const SATURATED_WAIT: Duration = Duration::from_millis(100);
/// How far apart that connection's jobs come back after it: about one a permit frees for a
/// plugin whose calls take a second or two.
pub const SATURATED_SPACING: Duration = Duration::from_millis(20);

/// Egress ceilings of tenants that have their own (set through the admin API); the others
/// use the runtime's default.
#[derive(Debug, Default)]
pub struct TenantCeilings {
    own: RwLock<Arc<HashMap<String, u32>>>,
}

impl TenantCeilings {
    /// Replaces every tenant's own ceiling (requests per second; 0 means none).
    pub fn replace(&self, ceilings: HashMap<String, u32>) {
        *self.own.write().expect("tenant ceilings") = Arc::new(ceilings);
    }

    /// Sets (`Some`) or clears (`None`) one tenant's own ceiling.
    pub fn set(&self, tenant: &str, per_second: Option<u32>) {
        let mut own = self.own.write().expect("tenant ceilings");
        let mut next = HashMap::clone(&own);
        match per_second {
            Some(n) => next.insert(tenant.to_string(), n),
            None => next.remove(tenant),
        };
        *own = Arc::new(next);
    }

    /// The tenant's own ceiling, if it has one.
    pub fn get(&self, tenant: &str) -> Option<u32> {
        self.own
            .read()
            .expect("tenant ceilings")
            .get(tenant)
            .copied()
    }
}

impl Runtime {
    /// Tenants' own egress ceilings.
    pub fn tenant_ceilings(&self) -> &TenantCeilings {
        &self.ceilings
    }

    /// The ceiling on `tenant`'s egress across plugins: its own when set (0: none), else the
    /// default.
    pub fn tenant_ceiling(&self, tenant: &str) -> Option<Budget> {
        match self.ceilings.get(tenant) {
            Some(0) => None,
            Some(n) => Some(Budget::per_seconds(n, 1)),
            None => self.settings.tenant_rate,
        }
    }

    /// The budget of one connection's bucket for `plugin`: the configured one, else the
    /// connector's declared one.
    pub(super) fn connection_budget(config: &SlotConfig, plugin: &LoadedPlugin) -> Option<Budget> {
        config.entry.rate_limit.or_else(|| {
            let b = plugin.manifest.rate_budget.as_ref()?;
            Some(Budget::per_seconds(b.requests, b.per_seconds))
        })
    }

    /// The buckets a call's requests come from: its connection's (or, without one, the
    /// tenant's share of the plugin's) under `budget`, then the tenant's ceiling.
    pub(super) fn rate_gate(
        &self,
        plugin: &str,
        context: &CallContext,
        budget: Option<Budget>,
    ) -> RateGate {
        let connection = context.connection.as_deref().unwrap_or("-");
        let mut buckets = Vec::new();
        if let Some(budget) = budget {
            buckets.push((
                format!("plugin:{plugin}:{}:{connection}", context.tenant),
                budget,
            ));
        }
        if let Some(ceiling) = self.tenant_ceiling(&context.tenant) {
            buckets.push((format!("tenant:{}", context.tenant), ceiling));
        }
        RateGate {
            limiter: self.services.rate.clone(),
            buckets,
            prepaid: context.prepaid,
        }
    }

    /// Plugins that can start fewer than `below` calls now, with how many they can: a claim
    /// of `below` jobs takes no more of such a plugin's jobs than it can run.
    pub fn short_of_room(&self, below: usize) -> Vec<(String, u32)> {
        self.registry
            .all()
            .iter()
            .filter_map(|slot| {
                let max = slot
                    .max_concurrency
                    .load(std::sync::atomic::Ordering::Acquire);
                let room = max.saturating_sub(slot.running());
                (room < below).then(|| (slot.id.clone(), room as u32))
            })
            .collect()
    }

    /// [`Held`] when every call `plugin` may run at once is running: a job started now would
    /// wait for a permit holding a job slot, and jobs of other plugins queued behind it would
    /// wait too. The job goes back to the queue instead (its connection held for
    /// [`SATURATED_WAIT`], the scope's jobs then spaced [`SATURATED_SPACING`] apart), without
    /// an attempt. `None` for a plugin with room, or not configured (the call says why).
    pub fn saturated(&self, plugin: &str) -> Option<Held> {
        let slot = self.registry.get(plugin)?;
        let max = slot
            .max_concurrency
            .load(std::sync::atomic::Ordering::Acquire);
        (slot.running() >= max).then_some(Held {
            scope: HoldScope::Connection,
            wait: SATURATED_WAIT,
            interval: SATURATED_SPACING,
        })
    }

    /// Takes the first request of a call of `plugin` for `context` from its buckets now, before
    /// the call: `Ok` means the call may start, with that request already paid (pass
    /// `context.with_prepaid()` to [`Runtime::invoke`]); [`Held`] says which bucket is empty
    /// and when it admits one more. A plugin that is not configured or not serving is
    /// admitted: the call itself reports why it cannot run.
    pub async fn reserve_egress(&self, plugin: &str, context: &CallContext) -> Result<(), Held> {
        let Some(slot) = self.registry.get(plugin) else {
            return Ok(());
        };
        let Some(loaded) = slot.current() else {
            return Ok(());
        };
        let config = slot.config.load_full();
        let budget = Self::connection_budget(&config, &loaded);
        let gate = self.rate_gate(plugin, context, budget);
        match gate.limiter.acquire(&gate.buckets, Duration::ZERO).await {
            Ok(_) => Ok(()),
            Err(refusal) => {
                let (key, budget) = &gate.buckets[refusal.bucket];
                Err(Held {
                    scope: if key.starts_with("tenant:") {
                        HoldScope::Tenant
                    } else {
                        HoldScope::Connection
                    },
                    wait: refusal.wait,
                    interval: budget.interval(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_s_own_ceiling_replaces_the_default_and_zero_lifts_it() {
        let ceilings = TenantCeilings::default();
        ceilings.set("a", Some(500));
        ceilings.set("b", Some(0));
        assert_eq!(ceilings.get("a"), Some(500));
        assert_eq!(ceilings.get("b"), Some(0));
        ceilings.set("a", None);
        assert_eq!(ceilings.get("a"), None);
        ceilings.replace(HashMap::from([("c".to_string(), 7)]));
        assert_eq!((ceilings.get("b"), ceilings.get("c")), (None, Some(7)));
    }
}

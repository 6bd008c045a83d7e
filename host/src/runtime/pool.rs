//! Pooling instance allocation, sized from the plugin configuration: the service's default
//! (`instance_allocation = "pooling"`; `"on-demand"` turns it off). A pool reserves, once at
//! start, address space for a fixed number of instances of a fixed size, and a call takes a slot
//! instead of mapping and unmapping memory (p50 42 µs against 90 µs per call, see the README's
//! benchmarks). Its sizes are fixed, so they must cover the configuration:
//!
//! - **instances**: the sum over the plugins of `max_concurrency + 1`. Every call holds one of
//!   its plugin's `max_concurrency` permits, and a plugin validates at most one component at a
//!   time (its install lock) — that is the `+ 1`. Neither the job workers nor the tenant caps
//!   bound the total (API calls come on top of jobs; tenant caps are per tenant), so the plugin
//!   caps are the honest bound. Plugins added or given more concurrency live share the same
//!   slots: a call waits up to its `queue_wait` for one and then answers `busy` (scope
//!   `instance pool`), never failing inside wasmtime. A restart sizes the pool afresh.
//! - **memory and tables per instance**: [`POOL_MARGIN`] times the largest `memory_mb` and
//!   `table_elements` of any plugin (and of `[defaults]`), so limits can be raised live up to
//!   that; an entry over it is refused when it is applied ([`Allocation::admits`]: the plugin
//!   file is refused whole, `PUT /admin/plugins/{id}/config` answers 422), not at call time.
//!   Each call is still held to its own plugin's limits by the store's limiter.
//!
//! The reservation is address space, not memory: each linear memory slot spans wasmtime's 4 GiB
//! reservation plus a 32 MiB guard, whatever `memory_mb` is (that is what lets compiled code
//! skip bounds checks). A machine that cannot reserve it (an address-space limit such as
//! `ulimit -v`, or an absurd configuration) stops the host at start with an error naming what
//! to lower.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::engine::Allocation;
use super::error::CallError;
use super::{Runtime, RuntimeSettings};
use crate::config::{Limits, PluginEntry};

/// Memory and table slots are this many times the largest plugin limit.
pub const POOL_MARGIN: usize = 2;
/// The largest linear memory of a 32-bit wasm module.
const WASM32_MEMORY: usize = 4 << 30;
/// Address space one linear memory slot spans: wasmtime's default reservation and guard.
const MEMORY_SLOT_SPAN: u128 = (4 << 30) + (32 << 20);

impl Allocation {
    /// A pool for plugins with these limits: every entry of `plugins.toml` and of the admin
    /// API's configuration, and `[defaults]` (see the module documentation).
    pub fn pooling_for<'a>(limits: impl IntoIterator<Item = &'a Limits>) -> Allocation {
        let (mut instances, mut memory, mut tables) = (0u32, 0usize, 0usize);
        for limits in limits {
            let slots = u32::try_from(limits.max_concurrency.saturating_add(1)).unwrap_or(u32::MAX);
            instances = instances.saturating_add(slots);
            memory = memory.max(limits.memory_bytes);
            tables = tables.max(limits.table_elements);
        }
        let page = 64 << 10;
        Allocation::Pooling {
            // Four core instances and two memories per instance must stay countable in a u32.
            instances: instances.clamp(1, u32::MAX / 4),
            memory_bytes: memory
                .saturating_mul(POOL_MARGIN)
                .div_ceil(page)
                .saturating_mul(page)
                .clamp(page, WASM32_MEMORY),
            table_elements: tables.saturating_mul(POOL_MARGIN).max(1),
        }
    }

    /// Whether a plugin with `limits` fits this allocation's slots; the refusal names the
    /// limit, the slot and what to do.
    pub fn admits(&self, plugin: &str, limits: &Limits) -> Result<(), String> {
        let Allocation::Pooling {
            memory_bytes,
            table_elements,
            ..
        } = self
        else {
            return Ok(());
        };
        let restart = "restart the host to size the instance pool for it, or set \
                       instance_allocation = \"on-demand\" (POSTD_INSTANCE_ALLOCATION)";
        if limits.memory_bytes > *memory_bytes {
            return Err(format!(
                "plugin `{plugin}` asks for memory_mb = {} but the instance pool's slots hold \
                 {} MiB (sized at start from the largest memory_mb configured); lower its \
                 memory_mb, or {restart}",
                limits.memory_bytes.div_ceil(1 << 20),
                memory_bytes >> 20
            ));
        }
        if limits.table_elements > *table_elements {
            return Err(format!(
                "plugin `{plugin}` asks for table_elements = {} but the instance pool's tables \
                 hold {table_elements}; lower its table_elements, or {restart}",
                limits.table_elements
            ));
        }
        Ok(())
    }

    /// The pool in words (instances, slot sizes, address space), or "on demand".
    pub fn describe(&self) -> String {
        match self {
            Allocation::OnDemand => "on-demand instance allocation".into(),
            Allocation::Pooling {
                instances,
                memory_bytes,
                table_elements,
            } => {
                let span = u128::from(*instances) * 2 * MEMORY_SLOT_SPAN;
                let span = if span >> 40 >= 10 {
                    format!("{} TiB", span >> 40)
                } else {
                    format!("{} GiB", span >> 30)
                };
                format!(
                    "an instance pool of {instances} instances with memories of up to {} MiB and \
                     tables of up to {table_elements} elements (about {span} of address space)",
                    memory_bytes >> 20,
                )
            }
        }
    }
}

/// The slots calls take, one per instance, when the engine pools.
pub(crate) fn instance_slots(allocation: &Allocation) -> Option<(Arc<Semaphore>, usize)> {
    match allocation {
        Allocation::OnDemand => None,
        Allocation::Pooling { instances, .. } => {
            let n = *instances as usize;
            Some((Arc::new(Semaphore::new(n)), n))
        }
    }
}

/// The engine for `settings`, with an error that says what to change when the pool cannot be
/// reserved.
pub(crate) fn engine(settings: &RuntimeSettings) -> wasmtime::Result<wasmtime::Engine> {
    super::engine::build_engine(&settings.allocation, settings.fuel_metering).map_err(|e| {
        match &settings.allocation {
            Allocation::OnDemand => e,
            pool => wasmtime::format_err!(
                "cannot reserve {}: {e:#}. The pool is sized from plugins.toml: lower the \
                 plugins' max_concurrency or memory_mb, or set instance_allocation = \
                 \"on-demand\" (POSTD_INSTANCE_ALLOCATION=on-demand)",
                pool.describe()
            ),
        }
    })
}

impl Runtime {
    /// How this runtime allocates instances.
    pub fn allocation(&self) -> &Allocation {
        &self.settings.allocation
    }

    /// Whether `entry` can be served by this runtime's instance allocation (see
    /// [`Allocation::admits`]): checked before any configuration is applied.
    pub fn check_entry(&self, entry: &PluginEntry) -> Result<(), String> {
        self.settings.allocation.admits(&entry.id, &entry.limits)
    }

    /// A pool slot for one call of `entry`'s plugin, waiting up to its `queue_wait`; `None`
    /// when instances are allocated on demand.
    pub(crate) async fn instance_slot(
        &self,
        entry: &PluginEntry,
    ) -> Result<Option<OwnedSemaphorePermit>, CallError> {
        let Some((slots, size)) = &self.instance_slots else {
            return Ok(None);
        };
        let busy = || CallError::Busy {
            plugin: entry.id.clone(),
            scope: "instance pool",
            limit: *size,
        };
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Ok(Some(permit));
        }
        let wait: Duration = entry.limits.queue_wait;
        match tokio::time::timeout(wait, slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(busy()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(memory_mb: usize, max_concurrency: usize) -> Limits {
        Limits {
            memory_bytes: memory_mb << 20,
            max_concurrency,
            ..Limits::default()
        }
    }

    #[test]
    fn the_pool_covers_every_plugin_with_a_margin() {
        let plugins = [limits(64, 32), limits(256, 8), limits(16, 4)];
        let pool = Allocation::pooling_for(&plugins);
        assert_eq!(
            pool,
            Allocation::Pooling {
                instances: 33 + 9 + 5,
                memory_bytes: 512 << 20,
                table_elements: 40_000,
            }
        );
        for entry in &plugins {
            pool.admits("p", entry).unwrap();
        }
        let refused = pool.admits("big", &limits(600, 1)).unwrap_err();
        assert!(
            refused.contains("memory_mb = 600")
                && refused.contains("512 MiB")
                && refused.contains("instance_allocation"),
            "{refused}"
        );
        assert!(Allocation::OnDemand.admits("big", &limits(4096, 1)).is_ok());
    }

    #[test]
    fn absurd_configurations_stay_countable() {
        let pool = Allocation::pooling_for(&[limits(1 << 20, usize::MAX)]);
        let Allocation::Pooling {
            instances,
            memory_bytes,
            ..
        } = pool
        else {
            unreachable!()
        };
        assert_eq!((instances, memory_bytes), (u32::MAX / 4, WASM32_MEMORY));
        assert!(pool.describe().contains("TiB of address space"));
    }
}

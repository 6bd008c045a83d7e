//! Per-call resource limits and their `plugins.toml` overrides.

use std::time::Duration;

use serde::Deserialize;

/// What one connector call may use. Every call runs under all of these at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel units (roughly one per executed wasm instruction). Deterministic CPU bound.
    pub fuel: u64,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Table elements per table.
    pub table_elements: usize,
    /// Wall-clock time for the whole call, guest code and host I/O together.
    pub deadline: Duration,
    /// Calls of one plugin running at once, across tenants.
    pub max_concurrency: usize,
    /// How long a call waits for a concurrency slot before it is refused as busy.
    pub queue_wait: Duration,
}

impl Default for Limits {
    /// Defaults sized for a connector call: a few HTTP round trips and JSON handling.
    ///
    /// - 2e9 fuel is a few seconds of busy guest CPU; a real publish uses well under 1 %.
    /// - 64 MiB holds a JSON answer of several MiB plus one media chunk under construction.
    /// - 30 s covers slow platform answers; per-request timeouts never exceed what remains.
    /// - 32 concurrent calls per plugin keep one platform from starving the others on a
    ///   2-core machine, and the 5 s queue wait absorbs bursts without failing them.
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            deadline: Duration::from_secs(30),
            max_concurrency: 32,
            queue_wait: Duration::from_secs(5),
        }
    }
}

/// Optional overrides of [`Limits`] as written in `plugins.toml` (`[defaults]` or
/// `[plugins.<id>.limits]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    /// Fuel units per call.
    pub fuel: Option<u64>,
    /// Memory per instance in MiB.
    pub memory_mb: Option<usize>,
    /// Table elements per table.
    pub table_elements: Option<usize>,
    /// Deadline per call in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Concurrent calls per plugin.
    pub max_concurrency: Option<usize>,
    /// Wait for a concurrency slot, in milliseconds.
    pub queue_wait_ms: Option<u64>,
}

impl LimitsOverride {
    /// `base` with every value set here replacing its counterpart.
    pub fn apply(&self, base: &Limits) -> Limits {
        Limits {
            fuel: self.fuel.unwrap_or(base.fuel),
            memory_bytes: self
                .memory_mb
                .map(|mb| mb << 20)
                .unwrap_or(base.memory_bytes),
            table_elements: self.table_elements.unwrap_or(base.table_elements),
            deadline: self
                .deadline_ms
                .map(Duration::from_millis)
                .unwrap_or(base.deadline),
            max_concurrency: self.max_concurrency.unwrap_or(base.max_concurrency).max(1),
            queue_wait: self
                .queue_wait_ms
                .map(Duration::from_millis)
                .unwrap_or(base.queue_wait),
        }
    }
}

//! The one wasmtime `Engine` and the clock that drives epoch deadlines.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A deadline is a whole number of ticks, so it is honoured
/// within one tick; 10 ms keeps the ticker's cost negligible.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Guest code yields to the async executor after this much fuel (about 1 ms of busy guest
/// CPU), so one spinning guest cannot hold a worker thread and call timeouts stay responsive.
pub const FUEL_YIELD_INTERVAL: u64 = 1_000_000;

/// How the engine allocates instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    /// Allocate and free memory per instance: cheapest at rest, about twice the cost per call.
    /// What [`super::RuntimeSettings::default`] uses, having no configuration to size a pool
    /// from; the service pools unless `instance_allocation = "on-demand"`.
    OnDemand,
    /// Pre-reserve slots for this many concurrent instances, each of at most `memory_bytes`
    /// and with tables of at most `table_elements`; sized from the plugin configuration by
    /// [`Allocation::pooling_for`] (see `pool.rs`).
    Pooling {
        /// Concurrent instances (calls, each in a fresh instance).
        instances: u32,
        /// Largest linear memory.
        memory_bytes: usize,
        /// Largest table.
        table_elements: usize,
    },
}

/// Ended instances whose memory is given back together (see [`build_engine`]).
const DECOMMIT_BATCH: usize = 16;

/// Builds the engine: component model, async, epoch interruption, and fuel metering when
/// `fuel` is true (the production setting; off only to measure what metering costs).
pub fn build_engine(allocation: &Allocation, fuel: bool) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(fuel)
        .epoch_interruption(true)
        // The async fiber stack must hold the wasm stack plus host frames.
        .max_wasm_stack(512 << 10)
        .async_stack_size(2 << 20);
    if let Allocation::Pooling {
        instances,
        memory_bytes,
        table_elements,
    } = allocation
    {
        // A connector component instantiates 3 core modules with 1 memory and 2 tables
        // (wasm32-wasip2 with the Rust toolchain); one built with componentize-py (Python)
        // instantiates 14. Core instances cost a count, not a reservation, so each component
        // instance may have as many as a call's limiter allows (16); memories, which reserve
        // address space, keep a share of 2. Each call runs on one fiber stack.
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(*instances)
            .total_core_instances(instances.saturating_mul(16))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(4))
            .total_stacks(*instances)
            .max_memory_size(*memory_bytes)
            .table_elements(*table_elements)
            // Give back the memory of ended instances in batches: each batch is one flush of
            // every core's address translations instead of one per instance (about 5 % of the
            // host's CPU in a profile under load). Queued slots are reclaimed at once when the
            // pool runs short.
            .decommit_batch_size(DECOMMIT_BATCH.min(*instances as usize).max(1));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config)
}

/// A fingerprint of everything that makes compiled code valid for `engine` (wasmtime version,
/// target, settings). Cached artifacts are keyed by it.
pub fn compatibility_hash(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on its own thread until dropped. The epoch
/// follows the wall clock: a thread woken late (a loaded machine) catches up on the ticks it
/// missed, so an epoch deadline of N ticks is N ticks of real time, not N wake-ups.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("postd-epoch".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let mut ticked: u128 = 0;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    let due = started.elapsed().as_micros() / EPOCH_TICK.as_micros();
                    while ticked < due {
                        engine.increment_epoch();
                        ticked += 1;
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Ticks covering `deadline`, rounded up, at least one.
pub fn deadline_ticks(deadline: Duration) -> u64 {
    (deadline.as_micros().div_ceil(EPOCH_TICK.as_micros()) as u64).max(1)
}

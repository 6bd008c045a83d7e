//! What a call's `Store` holds: locked-down WASI, the four capabilities, and the limiter.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::capability::http::HttpState;
use crate::capability::log::LogState;
use crate::capability::queue::QueueState;
use crate::capability::vault::VaultState;
use crate::jobs::Clock;

/// Bytes of stdout and of stderr kept per call; a guest writing more has its stream closed.
pub const CAPTURED_OUTPUT_BYTES: usize = 16 << 10;

/// The data of one call's `Store`. Built fresh for every call, dropped after it.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    /// Memory and table limits, and whether the guest ran into them.
    pub limiter: CallLimiter,
    /// Egress.
    pub http: HttpState,
    /// Secrets and app configuration.
    pub vault: VaultState,
    /// Continuations and recovery points.
    pub queue: QueueState,
    /// Logging.
    pub log: LogState,
}

impl CallState {
    /// State with WASI locked down: no preopened directories, no sockets, no environment, no
    /// arguments, stdin closed, stdout and stderr captured for the log; the wall clock reads
    /// `clock` (WASI's monotonic clock stays the OS's).
    pub fn new(
        limiter: CallLimiter,
        http: HttpState,
        vault: VaultState,
        queue: QueueState,
        log: LogState,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let stdout = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        let stderr = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(GuestWallClock(clock))
            .build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            stdout,
            stderr,
            limiter,
            http,
            vault,
            queue,
            log,
        }
    }

    /// Writes what the guest printed into the log, redacted.
    pub fn flush_output(&mut self) {
        self.log.captured_output("stdout", &self.stdout.contents());
        self.log.captured_output("stderr", &self.stderr.contents());
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// WASI's wall clock for guests, read from the host's [`Clock`]: a connector stamping a token
/// with `now + expires_in` and the host deciding when to refresh it read the same time, also
/// under a test's hand-moved clock. Millisecond resolution, as the host keeps time.
struct GuestWallClock(Arc<dyn Clock>);

impl HostWallClock for GuestWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now()).unwrap_or(0))
    }
}

/// Enforces a call's memory and table limits, and remembers a refused growth so the runtime
/// can report "memory limit" rather than whatever trap the guest hit afterwards.
#[derive(Debug)]
pub struct CallLimiter {
    memory_bytes: usize,
    table_elements: usize,
    /// The size (bytes) the guest asked for when it was refused, if it was.
    pub memory_refused: Option<usize>,
    /// The largest size (bytes) a memory of the call grew to.
    pub memory_peak: usize,
}

impl CallLimiter {
    /// Limits of `memory_bytes` per memory and `table_elements` per table.
    pub fn new(memory_bytes: usize, table_elements: usize) -> Self {
        CallLimiter {
            memory_bytes,
            table_elements,
            memory_refused: None,
            memory_peak: 0,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_refused = Some(desired);
            return Ok(false);
        }
        self.memory_peak = self.memory_peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }

    fn instances(&self) -> usize {
        // A wasip2 component built by rustc instantiates a handful of core modules.
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

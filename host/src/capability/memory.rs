//! Host memory held on a call's behalf.
//!
//! A guest's own memory is bounded by the store's limiter; what the host keeps *for* the guest
//! is not, unless it is counted. Every capability that keeps something for the rest of a call —
//! buffered vault writes, secrets remembered for redaction, continuations, recovery points —
//! charges it to the call's [`CallMemory`]; request and response bodies in flight are charged as
//! a transient hold. A call has two caps, both following the plugin's `memory_mb`: the bytes it
//! may hold (as much as its guest memory may grow to) and the number of items (16 per MiB, at
//! least 256). Past either the charging host function traps and the call fails with
//! `memory-limit`.
//!
//! Every charge is also taken from the process-wide [`HostMemoryPool`], so concurrent calls
//! cannot add up past the host's ceiling (`host_memory_mb`); a charge the pool cannot give
//! traps too and the call answers `busy`, to be retried when other calls have ended. A call
//! gives back all it held when its store is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Fewest items a call may hold, whatever its memory limit.
pub const MIN_HELD_ITEMS: usize = 256;
/// Items a call may hold per MiB of its memory limit.
pub const HELD_ITEMS_PER_MIB: usize = 16;
/// The default host-wide ceiling on memory held for running calls.
pub const DEFAULT_HOST_MEMORY_BYTES: usize = 1 << 30;

/// What one call may hold in host memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryCaps {
    /// Bytes held and in flight at once.
    pub bytes: usize,
    /// Values held (each vault write, remembered secret, continuation, recovery point).
    pub items: usize,
}

impl MemoryCaps {
    /// The caps of a plugin whose guest memory is limited to `memory_bytes`.
    pub fn for_memory_limit(memory_bytes: usize) -> Self {
        MemoryCaps {
            bytes: memory_bytes,
            items: (memory_bytes >> 20)
                .saturating_mul(HELD_ITEMS_PER_MIB)
                .max(MIN_HELD_ITEMS),
        }
    }
}

/// Why a charge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryExceeded {
    /// The call would hold more than its caps.
    #[error(
        "the call would hold more host memory than its limit ({limit_bytes} bytes, {limit_items} values)"
    )]
    Call {
        /// The call's byte cap.
        limit_bytes: usize,
        /// The call's item cap.
        limit_items: usize,
    },
    /// Running calls already hold the host's whole budget.
    #[error("host memory for running calls is full ({ceiling_bytes} bytes)")]
    Host {
        /// The host-wide ceiling.
        ceiling_bytes: usize,
    },
}

/// The host-wide budget every call's charges are taken from.
#[derive(Debug)]
pub struct HostMemoryPool {
    used: AtomicUsize,
    ceiling: usize,
}

impl HostMemoryPool {
    /// A pool of `ceiling` bytes.
    pub fn new(ceiling: usize) -> Arc<Self> {
        Arc::new(HostMemoryPool {
            used: AtomicUsize::new(0),
            ceiling,
        })
    }

    /// Bytes held for running calls now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The ceiling.
    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    fn take(&self, bytes: usize) -> Result<(), MemoryExceeded> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|n| *n <= self.ceiling)
            })
            .map(drop)
            .map_err(|_| MemoryExceeded::Host {
                ceiling_bytes: self.ceiling,
            })
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// The ledger of one call, shared by its capabilities. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CallMemory(Arc<Mutex<Ledger>>);

#[derive(Debug)]
struct Ledger {
    caps: MemoryCaps,
    pool: Option<Arc<HostMemoryPool>>,
    held: usize,
    items: usize,
    transient: usize,
    exceeded: Option<MemoryExceeded>,
}

impl CallMemory {
    /// The ledger of a call with `caps`, drawing on `pool`.
    pub fn new(caps: MemoryCaps, pool: Arc<HostMemoryPool>) -> Self {
        Self::with(caps, Some(pool))
    }

    /// A ledger without caps or pool, for tools and tests that call capabilities directly.
    pub fn unlimited() -> Self {
        Self::with(
            MemoryCaps {
                bytes: usize::MAX,
                items: usize::MAX,
            },
            None,
        )
    }

    fn with(caps: MemoryCaps, pool: Option<Arc<HostMemoryPool>>) -> Self {
        CallMemory(Arc::new(Mutex::new(Ledger {
            caps,
            pool,
            held: 0,
            items: 0,
            transient: 0,
            exceeded: None,
        })))
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Charges one value of `bytes` held until the call ends.
    pub fn charge(&self, bytes: usize) -> Result<(), MemoryExceeded> {
        let mut ledger = self.ledger();
        let items = ledger.items.saturating_add(1);
        let held = ledger.held.saturating_add(bytes);
        let transient = ledger.transient;
        ledger.admit(held, items, transient, bytes)?;
        ledger.held = held;
        ledger.items = items;
        Ok(())
    }

    /// Sets the call's transient hold (a body in flight) to `bytes`, growing or shrinking the
    /// previous one.
    pub fn hold_transient(&self, bytes: usize) -> Result<(), MemoryExceeded> {
        let mut ledger = self.ledger();
        let previous = ledger.transient;
        if bytes <= previous {
            if let Some(pool) = &ledger.pool {
                pool.give_back(previous - bytes);
            }
            ledger.transient = bytes;
            return Ok(());
        }
        let (held, items) = (ledger.held, ledger.items);
        ledger.admit(held, items, bytes, bytes - previous)?;
        ledger.transient = bytes;
        Ok(())
    }

    /// Bytes and values the call holds now (the transient hold included in the bytes).
    pub fn held(&self) -> (usize, usize) {
        let ledger = self.ledger();
        (ledger.held.saturating_add(ledger.transient), ledger.items)
    }

    /// The first charge refused during the call, if any: the runtime reports the call's failure
    /// by it whatever trap the guest ended with.
    pub fn exceeded(&self) -> Option<MemoryExceeded> {
        self.ledger().exceeded
    }
}

impl Ledger {
    /// Admits a state of `held` bytes in `items` values plus `transient` bytes, taking `more`
    /// bytes from the pool; remembers a refusal.
    fn admit(
        &mut self,
        held: usize,
        items: usize,
        transient: usize,
        more: usize,
    ) -> Result<(), MemoryExceeded> {
        let result = if held.saturating_add(transient) > self.caps.bytes || items > self.caps.items
        {
            Err(MemoryExceeded::Call {
                limit_bytes: self.caps.bytes,
                limit_items: self.caps.items,
            })
        } else if let Some(pool) = &self.pool {
            pool.take(more)
        } else {
            Ok(())
        };
        if let Err(refused) = result {
            self.exceeded.get_or_insert(refused);
        }
        result
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.give_back(self.held.saturating_add(self.transient));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(bytes: usize, items: usize) -> MemoryCaps {
        MemoryCaps { bytes, items }
    }

    #[test]
    fn caps_follow_the_memory_limit() {
        assert_eq!(MemoryCaps::for_memory_limit(64 << 20), caps(64 << 20, 1024));
        assert_eq!(MemoryCaps::for_memory_limit(1 << 20), caps(1 << 20, 256));
    }

    #[test]
    fn a_call_is_refused_past_its_bytes_or_items_and_remembers_it() {
        let pool = HostMemoryPool::new(1 << 20);
        let call = CallMemory::new(caps(100, 3), pool.clone());
        call.charge(60).unwrap();
        assert!(matches!(call.charge(50), Err(MemoryExceeded::Call { .. })));
        call.charge(10).unwrap();
        call.charge(10).unwrap();
        assert!(matches!(call.charge(0), Err(MemoryExceeded::Call { .. })));
        assert_eq!(call.held(), (80, 3));
        assert_eq!(pool.used(), 80);
        assert!(call.exceeded().is_some());
        drop(call);
        assert_eq!(
            pool.used(),
            0,
            "everything is given back when the call ends"
        );
    }

    #[test]
    fn transient_holds_grow_and_shrink_within_the_caps() {
        let pool = HostMemoryPool::new(1 << 20);
        let call = CallMemory::new(caps(100, 10), pool.clone());
        call.charge(30).unwrap();
        call.hold_transient(70).unwrap();
        assert_eq!(pool.used(), 100);
        assert!(call.hold_transient(71).is_err());
        call.hold_transient(10).unwrap();
        assert_eq!(pool.used(), 40);
        assert_eq!(call.held(), (40, 1));
    }

    #[test]
    fn concurrent_calls_cannot_add_up_past_the_host_ceiling() {
        let pool = HostMemoryPool::new(100);
        let a = CallMemory::new(caps(80, 10), pool.clone());
        let b = CallMemory::new(caps(80, 10), pool.clone());
        a.charge(60).unwrap();
        assert_eq!(
            b.charge(60),
            Err(MemoryExceeded::Host { ceiling_bytes: 100 })
        );
        assert_eq!(
            b.exceeded(),
            Some(MemoryExceeded::Host { ceiling_bytes: 100 })
        );
        drop(a);
        b.charge(60).unwrap();
        assert_eq!(pool.used(), 60);
    }

    #[test]
    fn an_unlimited_ledger_never_refuses() {
        let call = CallMemory::unlimited();
        call.charge(usize::MAX).unwrap();
        call.hold_transient(usize::MAX).unwrap();
        assert!(call.exceeded().is_none());
    }
}

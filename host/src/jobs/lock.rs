//! One token refresh per connection at a time, across replicas. Waiters in one process queue
//! on an in-process lock; the process at the head then takes the connection's lease in the
//! database ([`Store::take_refresh_lease`]), which every replica sharing the database sees.
//!
//! Why the database and not Redis: a platform that rotates refresh tokens (TikTok) revokes
//! the grant when one refresh token is sent twice, so a lock that a Redis restart forgets
//! while a refresh runs would cost the user their connection. A lease row survives Redis
//! outages, is timed by the database's clock (host clocks may jump) and costs three
//! statements per refresh, which happens about once per connection per token lifetime. The
//! holder confirms the lease right before the platform call ([`RefreshLocks::confirm`]), so a
//! holder whose lease ended (a stalled process) does not send the token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

use crate::store::Store;
use crate::time::{Span, tokio_instant_after};

/// How long a lease lasts unless its holder confirms it for longer: long enough for the reads
/// before the call; [`RefreshLocks::confirm`] covers the call.
const LEASE: Duration = Duration::from_secs(30);

/// Keyed mutual exclusion for refreshes (see the module docs).
#[derive(Clone)]
pub struct RefreshLocks {
    store: Store,
    /// In this process, by key: only the head of each queue polls the database.
    local: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A held lock; release it with [`RefreshLocks::release`].
pub struct LockGuard {
    key: String,
    /// This acquisition's name in the lease row.
    holder: String,
    _local: OwnedMutexGuard<()>,
}

impl RefreshLocks {
    /// Locks kept in `store`'s database.
    pub fn new(store: Store) -> Self {
        RefreshLocks {
            store,
            local: Arc::default(),
        }
    }

    /// Waits until `key` is ours (up to `wait`).
    pub async fn acquire(&self, key: &str, wait: Duration) -> Result<LockGuard, String> {
        let busy = || format!("refresh lock `{key}` busy for {wait:?}");
        let deadline = tokio_instant_after(tokio::time::Instant::now(), wait);
        let queue = self
            .local
            .lock()
            .expect("refresh locks")
            .entry(key.to_string())
            .or_default()
            .clone();
        let local = tokio::time::timeout_at(deadline, queue.lock_owned())
            .await
            .map_err(|_| busy())?;
        let holder = uuid::Uuid::now_v7().simple().to_string();
        loop {
            let taken = self
                .store
                .take_refresh_lease(key, &holder, Span::from(LEASE).as_millis_i64())
                .await
                .map_err(|e| e.to_string())?;
            if taken {
                return Ok(LockGuard {
                    key: key.to_string(),
                    holder,
                    _local: local,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(busy());
            }
            tokio::time::sleep(Duration::from_millis(20 + fastrand::u64(0..30))).await;
        }
    }

    /// Makes `guard`'s lease last `hold` more, or fails if it is no longer held: the last step
    /// before sending a refresh token.
    pub async fn confirm(&self, guard: &LockGuard, hold: Duration) -> Result<(), String> {
        let held = self
            .store
            .extend_refresh_lease(&guard.key, &guard.holder, Span::from(hold).as_millis_i64())
            .await
            .map_err(|e| e.to_string())?;
        if held {
            Ok(())
        } else {
            Err("the refresh lease ended before the call; trying again later".into())
        }
    }

    /// Releases a held lock.
    pub async fn release(&self, guard: LockGuard) {
        if let Err(error) = self
            .store
            .release_refresh_lease(&guard.key, &guard.holder)
            .await
        {
            // It ends on its own.
            tracing::warn!(%error, lock = %guard.key, "releasing a refresh lease failed");
        }
        let key = guard.key.clone();
        drop(guard);
        let mut local = self.local.lock().expect("refresh locks");
        // Forget a key no one else waits for.
        if local.get(&key).is_some_and(|q| Arc::strong_count(q) == 1) {
            local.remove(&key);
        }
    }
}

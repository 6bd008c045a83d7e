//! One token refresh per connection at a time, across replicas: a Redis `SET NX PX` lock when
//! Redis is configured, a PostgreSQL session advisory lock when the replicas share PostgreSQL
//! without Redis, an in-process lock for the embedded default (one process on SQLite).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::OwnedMutexGuard;

use crate::time::{Span, tokio_instant_after};

/// Deletes the lock only if it still holds our token (it may have expired and been taken).
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Keyed mutual exclusion for refreshes.
#[derive(Clone)]
pub enum RefreshLocks {
    /// In this process.
    Local(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>),
    /// PostgreSQL advisory locks, shared by every replica on the database.
    Postgres(sqlx::AnyPool),
    /// In Redis, shared by every replica.
    Redis {
        /// Commands.
        conn: ConnectionManager,
        /// Key prefix.
        namespace: String,
        /// How long a lock lives if its holder dies; longer than a refresh call may take.
        ttl: Duration,
    },
}

/// A held lock; release it with [`RefreshLocks::release`].
pub enum LockGuard {
    /// In-process.
    Local(#[allow(dead_code)] OwnedMutexGuard<()>),
    /// Redis key and token.
    Redis(String, String),
    /// The session holding the advisory lock, and the lock's key.
    Postgres(sqlx::pool::PoolConnection<sqlx::Any>, String),
}

impl RefreshLocks {
    /// In-process locks.
    pub fn local() -> Self {
        RefreshLocks::Local(Arc::default())
    }

    /// Redis locks.
    pub async fn redis(url: &str, namespace: &str, ttl: Duration) -> Result<Self, String> {
        let conn = crate::redis_link::connect(url)
            .await
            .map_err(|e| format!("redis: {e}"))?;
        Ok(RefreshLocks::Redis {
            conn,
            namespace: namespace.to_string(),
            ttl,
        })
    }

    /// Waits until `key` is ours (up to `wait`).
    pub async fn acquire(&self, key: &str, wait: Duration) -> Result<LockGuard, String> {
        match self {
            RefreshLocks::Local(map) => {
                let lock = map
                    .lock()
                    .expect("refresh locks")
                    .entry(key.to_string())
                    .or_default()
                    .clone();
                tokio::time::timeout(wait, lock.lock_owned())
                    .await
                    .map(LockGuard::Local)
                    .map_err(|_| format!("refresh lock `{key}` busy for {wait:?}"))
            }
            RefreshLocks::Postgres(pool) => {
                let mut session = pool.acquire().await.map_err(|e| format!("database: {e}"))?;
                let deadline = tokio_instant_after(tokio::time::Instant::now(), wait);
                loop {
                    let held: bool =
                        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                            .bind(key)
                            .fetch_one(&mut *session)
                            .await
                            .map_err(|e| format!("database: {e}"))?;
                    if held {
                        return Ok(LockGuard::Postgres(session, key.to_string()));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(format!("refresh lock `{key}` busy for {wait:?}"));
                    }
                    tokio::time::sleep(Duration::from_millis(20 + fastrand::u64(0..30))).await;
                }
            }
            RefreshLocks::Redis {
                conn,
                namespace,
                ttl,
            } => {
                let name = format!("{namespace}refresh:{key}");
                let token = uuid::Uuid::now_v7().simple().to_string();
                let deadline = tokio_instant_after(tokio::time::Instant::now(), wait);
                let mut conn = conn.clone();
                loop {
                    let set: Option<String> = redis::cmd("SET")
                        .arg(&name)
                        .arg(&token)
                        .arg("NX")
                        .arg("PX")
                        .arg(Span::from(*ttl).as_millis().max(1))
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| format!("redis: {e}"))?;
                    if set.is_some() {
                        return Ok(LockGuard::Redis(name, token));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(format!("refresh lock `{key}` busy for {wait:?}"));
                    }
                    tokio::time::sleep(Duration::from_millis(20 + fastrand::u64(0..30))).await;
                }
            }
        }
    }

    /// Releases a held lock.
    pub async fn release(&self, guard: LockGuard) {
        if let LockGuard::Postgres(mut session, key) = guard {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(&key)
                .execute(&mut *session)
                .await;
            if let Err(error) = unlocked {
                // Closing the session releases its advisory locks.
                tracing::warn!(%error, lock = %key, "releasing a refresh lock failed; closing its session");
                let _ = session.detach();
            }
            return;
        }
        if let (RefreshLocks::Redis { conn, .. }, LockGuard::Redis(name, token)) = (self, guard) {
            let mut conn = conn.clone();
            let released: Result<i64, _> = redis::Script::new(RELEASE)
                .key(&name)
                .arg(&token)
                .invoke_async(&mut conn)
                .await;
            if let Err(error) = released {
                // It expires on its own after its TTL.
                tracing::warn!(%error, lock = %name, "releasing a refresh lock failed");
            }
        }
    }
}

//! How workers learn which jobs to run. The database row is the truth in both modes; dispatch
//! only says "look at this job now".
//!
//! - [`Dispatcher::Database`] (no Redis): workers claim due rows directly (PostgreSQL
//!   `FOR UPDATE SKIP LOCKED`, SQLite's single writer), woken early when this process accepts a
//!   job, otherwise polling.
//! - [`Dispatcher::Redis`]: a Streams consumer group shared by every replica, a sorted set for
//!   jobs due later, `XAUTOCLAIM` for messages of a crashed worker, and a database sweep that
//!   re-announces due jobs whose message was lost. A message only names a job; the claim in the
//!   database decides who runs it, so duplicate or stale messages are harmless.

mod redis;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use self::redis::RedisDispatch;
use crate::store::{Claimed, Millis, Store, StoreError};
use crate::time::{Span, UnixMs};

/// A batch of claimed jobs with what to acknowledge once each is finished.
#[derive(Debug, Default)]
pub struct Batch {
    /// The claimed jobs, each with its delivery handles (stream message ids).
    pub jobs: Vec<(Claimed, Vec<String>)>,
}

/// Tunables shared by both modes.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// How long a claim lasts; a worker that dies holding a job loses it after this (and the
    /// Redis visibility timeout is the same). Must exceed the longest plugin deadline.
    pub lease: Duration,
    /// Longest wait between polls when idle.
    pub poll: Duration,
    /// A due job still queued this long after it became due is re-announced (lost message).
    pub lost_after: Duration,
    /// How often the database is swept for such jobs (Redis mode).
    pub sweep_every: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            lease: Duration::from_secs(120),
            poll: Duration::from_millis(200),
            lost_after: Duration::from_secs(30),
            sweep_every: Duration::from_secs(5),
        }
    }
}

/// The dispatch mode.
#[derive(Clone)]
pub enum Dispatcher {
    /// Poll the database.
    Database(Arc<Notify>),
    /// Redis Streams.
    Redis(Arc<RedisDispatch>),
}

impl Dispatcher {
    /// Database polling.
    pub fn database() -> Self {
        Dispatcher::Database(Arc::new(Notify::new()))
    }

    /// Says jobs are due at the given times (now or later).
    pub async fn announce(&self, jobs: &[(String, Millis)], now: Millis) -> Result<(), String> {
        match self {
            Dispatcher::Database(wake) => {
                if jobs.iter().any(|(_, at)| *at <= now) {
                    wake.notify_waiters();
                }
                Ok(())
            }
            Dispatcher::Redis(redis) => redis.announce(jobs, now).await,
        }
    }

    /// Claims up to `max` jobs for `worker`, waiting up to the poll interval when none is due.
    pub async fn next(
        &self,
        store: &Store,
        worker: &str,
        now: impl Fn() -> Millis,
        settings: &DispatchSettings,
        max: u32,
    ) -> Result<Batch, String> {
        let lease = Span::from(settings.lease).as_millis_i64();
        match self {
            Dispatcher::Database(wake) => {
                let claimed = store
                    .claim_due(worker, now(), lease, max)
                    .await
                    .map_err(|e| e.to_string())?;
                if claimed.is_empty() {
                    let _ = tokio::time::timeout(settings.poll, wake.notified()).await;
                }
                Ok(Batch {
                    jobs: claimed.into_iter().map(|c| (c, Vec::new())).collect(),
                })
            }
            Dispatcher::Redis(redis) => redis.next(store, worker, now, settings, max).await,
        }
    }

    /// Acknowledges deliveries of finished jobs.
    pub async fn ack(&self, deliveries: &[String]) {
        if let Dispatcher::Redis(redis) = self
            && !deliveries.is_empty()
            && let Err(error) = redis.ack(deliveries).await
        {
            // The message comes back after the visibility timeout and finds the job finished.
            tracing::warn!(%error, "acknowledging stream messages failed");
        }
    }

    /// Periodic upkeep: moves due delayed jobs onto the stream and, with `sweep`, re-announces
    /// lost ones. Database polling needs none.
    pub async fn upkeep(
        &self,
        store: &Store,
        now: Millis,
        settings: &DispatchSettings,
        sweep: bool,
    ) -> Result<(), String> {
        let Dispatcher::Redis(redis) = self else {
            return Ok(());
        };
        redis.promote(now).await?;
        if !sweep {
            return Ok(());
        }
        let before = UnixMs::new(now)
            .saturating_sub(Span::from(settings.lost_after))
            .get();
        let found = store
            .reannounce(before, before, now, 500)
            .await
            .map_err(|e: StoreError| e.to_string())?;
        if !found.is_empty() {
            tracing::info!(
                jobs = found.len(),
                "re-announcing due jobs that no worker picked up"
            );
            self.announce(&found, now).await?;
        }
        Ok(())
    }
}

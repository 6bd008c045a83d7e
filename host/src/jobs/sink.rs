//! Recovery points go straight to the job's row, durably before the connector goes on. Each is
//! its own transaction by default; with [`StoreJobSink::with_max_batch`] above 1, concurrent
//! calls' points share one (group commit, as run outcomes can: see `finisher.rs`): one committer
//! task records whatever queued up while its last commit ran, and each caller returns only after
//! the commit that holds its point. Grouping is off by default: it did not measure faster (see
//! bench/RESULTS.md).

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::Clock;
use crate::capability::queue::JobSink;
use crate::store::{Store, StoreError};

/// Most recovery points (or run outcomes) one group commit records, when grouping is on.
pub const CHECKPOINT_BATCH: usize = 64;

struct Request {
    job: String,
    recovery_point: String,
    now: i64,
    done: oneshot::Sender<Result<(), String>>,
}

/// A [`JobSink`] writing to the store.
pub struct StoreJobSink {
    store: Store,
    clock: Arc<dyn Clock>,
    max_batch: usize,
    queue: OnceLock<mpsc::UnboundedSender<Request>>,
}

impl StoreJobSink {
    /// Writes recovery points to `store`, each in its own transaction.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        StoreJobSink {
            store,
            clock,
            max_batch: 1,
            queue: OnceLock::new(),
        }
    }

    /// At most `max_batch` points per transaction (1: each in its own).
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }
}

fn one(store_result: Result<(), StoreError>) -> Result<(), String> {
    store_result.map_err(|e| e.to_string())
}

#[async_trait::async_trait]
impl JobSink for StoreJobSink {
    async fn checkpoint(&self, job: &str, recovery_point: &str) -> Result<(), String> {
        let now = self.clock.now();
        if self.max_batch == 1 {
            return one(self.store.checkpoint(job, recovery_point, now).await);
        }
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(commit(self.store.clone(), rx, self.max_batch));
            tx
        });
        let (done, answer) = oneshot::channel();
        let request = Request {
            job: job.to_string(),
            recovery_point: recovery_point.to_string(),
            now,
            done,
        };
        if queue.send(request).is_ok()
            && let Ok(result) = answer.await
        {
            return result;
        }
        // The committer is gone (its runtime shut down): record the point here.
        one(self.store.checkpoint(job, recovery_point, now).await)
    }
}

/// The committer: one batch at a time, each batch whatever queued up while the last committed.
async fn commit(store: Store, mut queue: mpsc::UnboundedReceiver<Request>, max_batch: usize) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        if batch.len() == 1 {
            let r = batch.pop().expect("one request");
            let result = store.checkpoint(&r.job, &r.recovery_point, r.now).await;
            let _ = r.done.send(one(result));
            continue;
        }
        let points: Vec<_> = batch
            .iter()
            .map(|r| (r.job.as_str(), r.recovery_point.as_str(), r.now))
            .collect();
        let found = store.checkpoint_many(&points).await;
        drop(points);
        match found {
            Ok(found) => {
                for (r, found) in batch.into_iter().zip(found) {
                    let result = if found {
                        Ok(())
                    } else {
                        one(Err(StoreError::not_found("job", &r.job)))
                    };
                    let _ = r.done.send(result);
                }
            }
            Err(error) => {
                tracing::warn!(%error, points = batch.len(), "recording recovery points together failed; recording them one by one");
                for r in batch {
                    let result = store.checkpoint(&r.job, &r.recovery_point, r.now).await;
                    let _ = r.done.send(one(result));
                }
            }
        }
    }
}

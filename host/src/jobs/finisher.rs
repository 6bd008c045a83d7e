//! Group commit of run outcomes. Every finished run hands its outcome to one committer task;
//! the committer takes whatever has queued up meanwhile (up to a batch limit) and records it
//! with [`Store::finish_many`]: one transaction, one commit, each run still applied only while
//! its lease holds. Under load many runs share a commit; alone, a run is committed at once (no
//! waiting for company). A run's caller gets its answer only after the commit, so nothing is
//! acknowledged before it is durable.
//!
//! If a batch fails, its runs are recorded one by one ([`Store::finish`]), so one bad outcome
//! cannot take others down with it. If the committer is gone (its runtime shut down), the
//! caller records its run itself; recording twice is harmless because the second finds the
//! lease released and applies nothing.

use std::sync::OnceLock;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Claimed, Finish, Millis, Store, StoreError};

struct Request {
    claimed: Claimed,
    finish: Finish,
    now: Millis,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

/// Records run outcomes, grouping concurrent ones into one transaction.
pub(crate) struct Finisher {
    store: Store,
    max_batch: usize,
    queue: OnceLock<mpsc::UnboundedSender<Request>>,
}

impl Finisher {
    /// Group commit of up to `max_batch` outcomes per transaction (1: one commit each).
    pub(crate) fn new(store: Store, max_batch: usize) -> Self {
        Finisher {
            store,
            max_batch: max_batch.max(1),
            queue: OnceLock::new(),
        }
    }

    /// Records `finish` for `claimed` as [`Store::finish`] does; true when it was applied.
    pub(crate) async fn finish(
        &self,
        claimed: &Claimed,
        finish: &Finish,
        now: Millis,
    ) -> Result<bool, StoreError> {
        if self.max_batch == 1 {
            return self.store.finish(claimed, finish, now).await;
        }
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(commit(self.store.clone(), rx, self.max_batch));
            tx
        });
        let (done, answer) = oneshot::channel();
        let request = Request {
            claimed: claimed.clone(),
            finish: finish.clone(),
            now,
            done,
        };
        if queue.send(request).is_ok()
            && let Ok(result) = answer.await
        {
            return result;
        }
        self.store.finish(claimed, finish, now).await
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
            let result = store.finish(&r.claimed, &r.finish, r.now).await;
            let _ = r.done.send(result);
            continue;
        }
        let runs: Vec<_> = batch
            .iter()
            .map(|r| (&r.claimed, &r.finish, r.now))
            .collect();
        match store.finish_many(&runs).await {
            Ok(applied) => {
                drop(runs);
                for (r, applied) in batch.into_iter().zip(applied) {
                    let _ = r.done.send(Ok(applied));
                }
            }
            Err(error) => {
                drop(runs);
                tracing::warn!(%error, runs = batch.len(), "recording outcomes together failed; recording them one by one");
                for r in batch {
                    let result = store.finish(&r.claimed, &r.finish, r.now).await;
                    let _ = r.done.send(result);
                }
            }
        }
    }
}

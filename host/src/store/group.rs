//! Group commit: concurrent writes of one kind handed to one committer task, which takes
//! whatever has queued up meanwhile (up to a batch limit) and writes it together (one
//! statement or one transaction, so one commit for all). Under load many writes share a commit;
//! alone, a write goes at once (no waiting for company). A caller gets its answer only after
//! the commit, so nothing is acknowledged before it is durable.
//!
//! The committer starts with the first write, on the runtime of that write. If it is gone (its
//! runtime shut down) or drops a write, [`Group::submit`] answers `None` and the caller writes
//! by itself; both users (run outcomes under a lease, posts under an idempotency key) make a
//! second write of the same thing harmless.

use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

/// Writes a batch; one answer per item, in order.
pub(crate) type Work<T, R> = Arc<dyn Fn(Vec<T>) -> BoxFuture<'static, Vec<R>> + Send + Sync>;

/// Groups concurrent items of type `T` into batches for `work`.
pub(crate) struct Group<T, R> {
    max_batch: usize,
    work: Work<T, R>,
    queue: OnceLock<mpsc::UnboundedSender<(T, oneshot::Sender<R>)>>,
}

impl<T, R> std::fmt::Debug for Group<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("max_batch", &self.max_batch)
            .field("started", &self.queue.get().is_some())
            .finish()
    }
}

impl<T: Send + 'static, R: Send + 'static> Group<T, R> {
    /// Batches of at most `max_batch` items (at least 1) for `work`.
    pub(crate) fn new(max_batch: usize, work: Work<T, R>) -> Self {
        Group {
            max_batch: max_batch.max(1),
            work,
            queue: OnceLock::new(),
        }
    }

    /// Hands `item` to the committer and waits for its answer; `None` when the committer could
    /// not take it or dropped it (the caller then writes it by itself).
    pub(crate) async fn submit(&self, item: T) -> Option<R> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(commit(self.work.clone(), rx, self.max_batch));
            tx
        });
        let (done, answer) = oneshot::channel();
        queue.send((item, done)).ok()?;
        answer.await.ok()
    }

    /// Writes `items` as one batch in the caller's task, as the committer would: for a caller
    /// whose [`Group::submit`] was not taken, and for tests that need a particular batch
    /// (concurrent submits may or may not share one).
    pub(crate) async fn write_batch(&self, items: Vec<T>) -> Vec<R> {
        (self.work)(items).await
    }
}

/// The committer: one batch at a time, each batch whatever queued up while the last committed.
async fn commit<T, R>(
    work: Work<T, R>,
    mut queue: mpsc::UnboundedReceiver<(T, oneshot::Sender<R>)>,
    max_batch: usize,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let (items, answers): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
        for (answer, result) in answers.into_iter().zip(work(items).await) {
            let _ = answer.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_answer() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let group: Arc<Group<u32, u32>> = Arc::new(Group::new(
            8,
            Arc::new(move |items: Vec<u32>| {
                seen.lock().unwrap().push(items.len());
                Box::pin(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    items.into_iter().map(|i| i * 10).collect()
                })
            }),
        ));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let group = group.clone();
                tokio::spawn(async move { (i, group.submit(i).await) })
            })
            .collect();
        for task in tasks {
            let (i, answer) = task.await.unwrap();
            assert_eq!(answer, Some(i * 10));
        }
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(sizes.iter().all(|&n| n <= 8), "{sizes:?}");
        assert!(sizes.len() < 20, "no two items shared a batch: {sizes:?}");
    }

    #[tokio::test]
    async fn a_dropped_answer_tells_the_caller_to_write_by_itself() {
        let group: Group<u32, u32> =
            Group::new(4, Arc::new(|_items| Box::pin(async { Vec::new() })));
        assert_eq!(group.submit(1).await, None);
    }
}

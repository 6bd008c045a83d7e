//! Group commit of run outcomes: concurrent runs' outcomes are recorded together with
//! [`Store::finish_many`] (on PostgreSQL one statement, on SQLite one transaction), each run
//! still applied only while its lease holds (see `store/group.rs` for how batches form).
//!
//! If a batch fails, its runs are recorded one by one ([`Store::finish`]), so one bad outcome
//! cannot take others down with it. If the committer is gone, the caller records its run
//! itself; recording twice is harmless because the second finds the lease released and applies
//! nothing.

use std::sync::Arc;

use crate::store::group::Group;
use crate::store::{Claimed, Finish, Millis, Store, StoreError};

type Run = (Claimed, Finish, Millis);

/// Records run outcomes, grouping concurrent ones into one write.
pub(crate) struct Finisher {
    store: Store,
    group: Option<Group<Run, Result<bool, StoreError>>>,
}

impl Finisher {
    /// Group commit of up to `max_batch` outcomes per write (1: one write each).
    pub(crate) fn new(store: Store, max_batch: usize) -> Self {
        let group = (max_batch > 1).then(|| {
            let store = store.clone();
            Group::new(
                max_batch,
                Arc::new(move |runs: Vec<Run>| {
                    let store = store.clone();
                    Box::pin(async move { record(&store, runs).await }) as _
                }),
            )
        });
        Finisher { store, group }
    }

    /// Records `finish` for `claimed` as [`Store::finish`] does; true when it was applied.
    pub(crate) async fn finish(
        &self,
        claimed: &Claimed,
        finish: &Finish,
        now: Millis,
    ) -> Result<bool, StoreError> {
        if let Some(group) = &self.group
            && let Some(result) = group.submit((claimed.clone(), finish.clone(), now)).await
        {
            return result;
        }
        self.store.finish(claimed, finish, now).await
    }
}

/// One batch: together, or one by one when together failed.
async fn record(store: &Store, runs: Vec<Run>) -> Vec<Result<bool, StoreError>> {
    let together: Vec<_> = runs.iter().map(|(c, f, now)| (c, f, *now)).collect();
    match store.finish_many(&together).await {
        Ok(applied) => applied.into_iter().map(Ok).collect(),
        Err(error) => {
            tracing::warn!(%error, runs = runs.len(), "recording outcomes together failed; recording them one by one");
            let mut results = Vec::with_capacity(runs.len());
            for (claimed, finish, now) in &runs {
                results.push(store.finish(claimed, finish, *now).await);
            }
            results
        }
    }
}

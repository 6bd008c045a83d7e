//! Recovery points go straight to the job's row.

use std::sync::Arc;

use super::Clock;
use crate::capability::queue::JobSink;
use crate::store::Store;

/// A [`JobSink`] writing to the store.
pub struct StoreJobSink {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl StoreJobSink {
    /// Writes recovery points to `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        StoreJobSink { store, clock }
    }
}

#[async_trait::async_trait]
impl JobSink for StoreJobSink {
    async fn checkpoint(&self, job: &str, recovery_point: &str) -> Result<(), String> {
        self.store
            .checkpoint(job, recovery_point, self.clock.now())
            .await
            .map_err(|e| e.to_string())
    }
}

//! The WIT `queue` adapter.

use super::QueueState;
use crate::runtime::wit::queue::{self, QueueError};

/// A fault of the job store while recording a recovery point: the connector cannot fix it, so
/// the call ends (a trap) rather than going on without the recovery point it asked for.
#[derive(Debug, thiserror::Error)]
#[error("recording a recovery point failed: {0}")]
pub struct CheckpointFault(pub String);

impl queue::Host for QueueState {
    async fn checkpoint(
        &mut self,
        recovery_point: String,
    ) -> wasmtime::Result<Result<(), QueueError>> {
        let Some(job) = self.job.clone() else {
            return Ok(Err(QueueError::NoJob));
        };
        if recovery_point.len() > self.limits.max_payload {
            return Ok(Err(QueueError::TooLarge(self.limits.max_payload as u64)));
        }
        if self.checkpoints >= self.limits.max_checkpoints {
            return Ok(Err(QueueError::TooMany(self.limits.max_checkpoints)));
        }
        self.memory.charge(recovery_point.len())?;
        self.checkpoints += 1;
        if let Err(fault) = self.sink.checkpoint(&job, &recovery_point).await {
            tracing::error!(%job, %fault, "recording a recovery point failed");
            return Err(CheckpointFault(fault).into());
        }
        self.checkpoint = Some(recovery_point);
        Ok(Ok(()))
    }
}

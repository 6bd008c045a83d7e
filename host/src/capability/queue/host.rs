//! The WIT `queue` adapter.

use std::time::Duration;

use super::QueueState;
use crate::runtime::wit::queue::{self, QueueError, Task};

/// A fault of the job store while recording a recovery point: the connector cannot fix it, so
/// the call ends (a trap) rather than going on without the recovery point it asked for.
#[derive(Debug, thiserror::Error)]
#[error("recording a recovery point failed: {0}")]
pub struct CheckpointFault(pub String);

impl queue::Host for QueueState {
    async fn enqueue(
        &mut self,
        task: Task,
        delay_ms: u64,
    ) -> wasmtime::Result<Result<(), QueueError>> {
        if self.job.is_none() {
            return Ok(Err(QueueError::NoJob));
        }
        if self.enqueued.len() as u32 >= self.limits.max_pending {
            return Ok(Err(QueueError::TooManyPending(self.limits.max_pending)));
        }
        let delay = Duration::from_millis(delay_ms);
        if delay > self.limits.max_delay {
            return Ok(Err(QueueError::DelayTooLong(
                self.limits.max_delay.as_millis() as u64,
            )));
        }
        let size = task.payload.len().saturating_add(task.kind.len());
        if size > self.limits.max_payload {
            return Ok(Err(QueueError::TooLarge(self.limits.max_payload as u64)));
        }
        self.memory.charge(size)?;
        self.enqueued.push(Self::continuation(task, delay));
        Ok(Ok(()))
    }

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
            return Ok(Err(QueueError::TooManyPending(self.limits.max_checkpoints)));
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

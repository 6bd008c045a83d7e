//! The WIT `queue` adapter.

use std::time::Duration;

use super::QueueState;
use crate::runtime::wit::queue::{self, QueueError, Task};

impl queue::Host for QueueState {
    async fn enqueue(&mut self, task: Task, delay_ms: u64) -> Result<(), QueueError> {
        if self.job.is_none() {
            return Err(QueueError::NoJob);
        }
        if self.enqueued.len() as u32 >= self.limits.max_pending {
            return Err(QueueError::TooManyPending(self.limits.max_pending));
        }
        let delay = Duration::from_millis(delay_ms);
        if delay > self.limits.max_delay {
            return Err(QueueError::DelayTooLong(
                self.limits.max_delay.as_millis() as u64
            ));
        }
        if task.payload.len() + task.kind.len() > self.limits.max_payload {
            return Err(QueueError::TooLarge(self.limits.max_payload as u64));
        }
        self.enqueued.push(Self::continuation(task, delay));
        Ok(())
    }

    async fn checkpoint(&mut self, recovery_point: String) -> Result<(), QueueError> {
        let Some(job) = self.job.clone() else {
            return Err(QueueError::NoJob);
        };
        if recovery_point.len() > self.limits.max_payload {
            return Err(QueueError::TooLarge(self.limits.max_payload as u64));
        }
        if let Err(fault) = self.sink.checkpoint(&job, &recovery_point).await {
            // The connector cannot fix a storage fault; failing its next step is safer than
            // letting it continue without a recovery point.
            tracing::error!(%job, %fault, "recording a recovery point failed");
            return Err(QueueError::NoJob);
        }
        self.checkpoint = Some(recovery_point);
        Ok(())
    }
}

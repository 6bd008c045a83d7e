//! Continuations and recovery points of the current job.

use crate::bindings::postd::connector::queue as wit;
use crate::{Error, Result};

pub use wit::{QueueError, Task};

impl From<QueueError> for Error {
    fn from(error: QueueError) -> Self {
        Error::invalid_input(format!("queue: {error}"))
    }
}

impl Task {
    /// A task of `kind` carrying `payload` (usually JSON).
    pub fn new(kind: &str, payload: impl Into<String>) -> Self {
        Task {
            kind: kind.to_string(),
            payload: payload.into(),
        }
    }
}

/// Asks the host to call `handle-task` with `task` after `delay_ms`.
pub fn enqueue(task: &Task, delay_ms: u64) -> Result<()> {
    Ok(wit::enqueue(task, delay_ms)?)
}

/// Records the job's recovery point now, before the next risky step.
pub fn checkpoint(recovery_point: &str) -> Result<()> {
    Ok(wit::checkpoint(recovery_point)?)
}

//! Continuations and recovery points of the current job.
//!
//! A job that is not done answers [`continue_after`]: the host stores the continuation with the
//! attempt and runs [`crate::Connector::handle_task`] with it later. A recovery point recorded
//! with [`checkpoint`] is durable before the call goes on.

use crate::bindings::postd::connector::queue as wit;
use crate::export::{Continuation, Progress};
use crate::{Error, PublishOutcome, Result};

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

/// The job is not done: the host runs `handle-task` with `task` after `delay_ms`;
/// `waiting_for` tells the operator what the job waits for (`video processing`).
pub fn continue_after(delay_ms: u64, task: Task, waiting_for: impl Into<String>) -> PublishOutcome {
    PublishOutcome::InProgress(Progress {
        waiting_for: waiting_for.into(),
        continuations: vec![Continuation { task, delay_ms }],
    })
}

/// [`continue_after`] with a task of `kind` whose payload is `state` as JSON.
pub fn continue_with<T: serde::Serialize>(
    kind: &str,
    state: &T,
    delay_ms: u64,
    waiting_for: impl Into<String>,
) -> Result<PublishOutcome> {
    let payload = serde_json::to_string(state)
        .map_err(|e| Error::invalid_input(format!("the state of task `{kind}`: {e}")))?;
    Ok(continue_after(
        delay_ms,
        Task::new(kind, payload),
        waiting_for,
    ))
}

/// Records the job's recovery point now, before the next risky step.
pub fn checkpoint(recovery_point: &str) -> Result<()> {
    Ok(wit::checkpoint(recovery_point)?)
}

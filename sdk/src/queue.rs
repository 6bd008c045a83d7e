//! Continuations and recovery points of the current job.
//!
//! A job that is not done answers [`continue_after`]: the host stores the continuation with the
//! attempt and runs [`crate::Connector::handle_task`] with it later. A recovery point recorded
//! with [`checkpoint`] is durable before the call goes on.

use crate::bindings::postd::connector::queue as wit;
use crate::export::{Continuation, Progress};
use crate::{Error, JobContext, PublishOutcome, Result};

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

/// A kind of recovery point: a tag followed by the platform's id of what the job made
/// (`li-video:urn:li:video:1`), so a retry reads back which thing it holds, typed by its tag.
///
/// ```text
/// const VIDEO: queue::PointKind = queue::PointKind::new("li-video:");
/// if let Some(urn) = VIDEO.of(&job) { return follow(urn); }   // a retry: the video exists
/// let urn = upload(&post)?;
/// VIDEO.checkpoint(&urn)?;                                     // durable before going on
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointKind {
    tag: &'static str,
}

impl PointKind {
    /// Recovery points written `tag` then the id (`"li-video:"`).
    pub const fn new(tag: &'static str) -> Self {
        PointKind { tag }
    }

    /// The recovery point naming `id`.
    pub fn point(&self, id: &str) -> String {
        format!("{}{id}", self.tag)
    }

    /// Records `id` as the job's recovery point, durably, before the call goes on.
    pub fn checkpoint(&self, id: &str) -> Result<()> {
        checkpoint(&self.point(id))
    }

    /// The id `point` names, when it is of this kind.
    pub fn id_in<'a>(&self, point: &'a str) -> Option<&'a str> {
        point.strip_prefix(self.tag).filter(|id| !id.is_empty())
    }

    /// The id the job's recovery point names, when it is of this kind.
    pub fn of<'a>(&self, job: &'a JobContext) -> Option<&'a str> {
        self.id_in(job.recovery_point.as_deref()?)
    }
}

#[cfg(test)]
mod tests {
    use super::PointKind;

    #[test]
    fn points_carry_their_kind_and_id() {
        const VIDEO: PointKind = PointKind::new("li-video:");
        let point = VIDEO.point("urn:li:video:7");
        assert_eq!(point, "li-video:urn:li:video:7");
        assert_eq!(VIDEO.id_in(&point), Some("urn:li:video:7"));
        assert_eq!(PointKind::new("li-post:").id_in(&point), None);
        assert_eq!(VIDEO.id_in("li-video:"), None, "a tag alone names nothing");
    }
}

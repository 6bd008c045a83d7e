//! Continuations and recovery points of the job a call runs for.
//!
//! Continuations are accepted during the call (0.1's `enqueue`) or from its `in-progress`
//! answer (0.2); the runtime hands them to the caller with the call's result so the job pipeline
//! stores them together with the attempt. `checkpoint` goes to the [`JobSink`] at once: a
//! recovery point exists to survive a crash later in the same call.

mod host;
mod memory;

use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryJobSink;

use super::memory::{CallMemory, MemoryExceeded};
use crate::runtime::wit::queue::Task;

/// Where recovery points are recorded.
#[async_trait::async_trait]
pub trait JobSink: Send + Sync {
    /// Records `recovery_point` as job `job`'s latest, durably, before returning.
    async fn checkpoint(&self, job: &str, recovery_point: &str) -> Result<(), String>;
}

/// Why a continuation was refused: the connector asked for more than the caps allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContinuationRefused {
    /// The call does not run for a job.
    #[error("the call runs for no job")]
    NoJob,
    /// More continuations than one call may leave.
    #[error("more than {0} continuations")]
    TooMany(u32),
    /// A delay longer than the cap, in milliseconds.
    #[error("a delay longer than {0} ms")]
    DelayTooLong(u64),
    /// A task larger than the cap, in bytes.
    #[error("a task larger than {0} bytes")]
    TooLarge(u64),
}

/// Caps on continuations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLimits {
    /// Tasks one call may enqueue.
    pub max_pending: u32,
    /// Longest delay.
    pub max_delay: Duration,
    /// Largest task payload or recovery point, in bytes.
    pub max_payload: usize,
    /// Recovery points one call may record (each is a durable write).
    pub max_checkpoints: u32,
}

impl Default for QueueLimits {
    /// A multi-step publish needs one or two next steps; status polls wait minutes, never a day.
    fn default() -> Self {
        QueueLimits {
            max_pending: 16,
            max_delay: Duration::from_secs(24 * 3600),
            max_payload: 64 << 10,
            max_checkpoints: 64,
        }
    }
}

/// A task enqueued by a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    /// What to hand back to `handle-task`.
    pub kind: String,
    /// Its payload.
    pub payload: String,
    /// When, from the end of the call.
    pub delay: Duration,
}

/// The `queue` capability of one call.
pub struct QueueState {
    job: Option<String>,
    sink: Arc<dyn JobSink>,
    limits: QueueLimits,
    enqueued: Vec<Continuation>,
    checkpoint: Option<String>,
    checkpoints: u32,
    memory: CallMemory,
}

impl QueueState {
    /// The queue of one call; `job` is `None` for calls that run no job.
    pub fn new(job: Option<String>, sink: Arc<dyn JobSink>, limits: QueueLimits) -> Self {
        QueueState {
            job,
            sink,
            limits,
            enqueued: Vec::new(),
            checkpoint: None,
            checkpoints: 0,
            memory: CallMemory::unlimited(),
        }
    }

    /// Charges what the call enqueues and records to `memory`.
    pub fn with_memory(mut self, memory: CallMemory) -> Self {
        self.memory = memory;
        self
    }

    /// Takes the continuations the call enqueued.
    pub fn take_enqueued(&mut self) -> Vec<Continuation> {
        std::mem::take(&mut self.enqueued)
    }

    /// The last recovery point the call recorded.
    pub fn last_checkpoint(&self) -> Option<&str> {
        self.checkpoint.as_deref()
    }

    /// Accepts `task` as a continuation due `delay` after the call, within the caps; what it
    /// holds is charged to the call's host memory (the outer error: the call must end).
    pub fn accept(
        &mut self,
        task: Task,
        delay: Duration,
    ) -> Result<Result<(), ContinuationRefused>, MemoryExceeded> {
        if self.job.is_none() {
            return Ok(Err(ContinuationRefused::NoJob));
        }
        if self.enqueued.len() as u32 >= self.limits.max_pending {
            return Ok(Err(ContinuationRefused::TooMany(self.limits.max_pending)));
        }
        if delay > self.limits.max_delay {
            return Ok(Err(ContinuationRefused::DelayTooLong(
                self.limits.max_delay.as_millis() as u64,
            )));
        }
        let size = task.payload.len().saturating_add(task.kind.len());
        if size > self.limits.max_payload {
            return Ok(Err(ContinuationRefused::TooLarge(
                self.limits.max_payload as u64,
            )));
        }
        self.memory.charge(size)?;
        self.enqueued.push(Continuation {
            kind: task.kind,
            payload: task.payload,
            delay,
        });
        Ok(Ok(()))
    }
}

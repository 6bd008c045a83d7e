//! A batch of run outcomes as columns, one vector per written value: the jobs' updates, the
//! attempt records, continuations cleared, consumed and added, dead letters and outcome events.
//! Both databases write a batch from these (PostgreSQL binds each column as an array,
//! `postgres/finish.rs`; SQLite binds them as rows of `VALUES`, `sqlite/finish.rs`), so what a
//! run writes is decided once, here and in `finish.rs`.

use super::finish::{TaskChange, job_change, outcome_event, task_change};
use super::pipeline::{Claimed, Finish, FinishOutcome};
use super::{Millis, new_id};

/// The runs' jobs' rows (`postgres/finish.sql`'s `$1`–`$10`).
#[derive(Default)]
pub(super) struct Jobs {
    pub tenant: Vec<String>,
    pub id: Vec<String>,
    pub lease: Vec<String>,
    pub state: Vec<String>,
    pub next_run_at: Vec<Option<i64>>,
    pub delta: Vec<i64>,
    pub reason: Vec<Option<String>>,
    pub result: Vec<Option<String>>,
    pub error: Vec<Option<String>>,
    pub at: Vec<i64>,
}

/// Attempt records (`$11`–`$21`).
#[derive(Default)]
pub(super) struct Attempts {
    pub job: Vec<String>,
    pub id: Vec<String>,
    pub attempt: Vec<i64>,
    pub export: Vec<String>,
    pub worker: Vec<String>,
    pub started_at: Vec<i64>,
    pub latency_ms: Vec<i64>,
    pub fuel: Vec<i64>,
    pub outcome: Vec<String>,
    pub error_code: Vec<Option<String>>,
    pub trace_id: Vec<Option<String>>,
}

/// Continuations cleared (`$22`), consumed (`$23`, `$24`) and added (`$25`–`$29`).
#[derive(Default)]
pub(super) struct Tasks {
    pub cleared: Vec<String>,
    pub consumed_job: Vec<String>,
    pub consumed: Vec<String>,
    pub added_job: Vec<String>,
    pub added_id: Vec<String>,
    pub added_kind: Vec<String>,
    pub added_payload: Vec<String>,
    pub added_run_at: Vec<i64>,
}

/// Dead letters (`$30`–`$34`).
#[derive(Default)]
pub(super) struct Letters {
    pub job: Vec<String>,
    pub id: Vec<String>,
    pub reason_code: Vec<String>,
    pub last_error: Vec<String>,
    pub attempts: Vec<i64>,
}

/// Outcome events (`$35`–`$39`).
#[derive(Default)]
pub(super) struct Events {
    pub job: Vec<String>,
    pub id: Vec<String>,
    pub kind: Vec<String>,
    pub ordering_key: Vec<String>,
    pub body: Vec<String>,
}

/// Every column of a batch.
#[derive(Default)]
pub(super) struct OutcomeColumns {
    pub jobs: Jobs,
    pub attempts: Attempts,
    pub tasks: Tasks,
    pub letters: Letters,
    pub events: Events,
}

impl OutcomeColumns {
    /// The columns of `runs`, in order.
    pub(super) fn of(runs: &[(&Claimed, &Finish, Millis)]) -> OutcomeColumns {
        let mut c = OutcomeColumns::default();
        let OutcomeColumns {
            jobs,
            attempts,
            tasks,
            letters,
            events,
        } = &mut c;
        for (claimed, finish, now) in runs {
            let job = &claimed.job;
            let change = job_change(claimed, finish, *now);
            jobs.tenant.push(job.tenant_id.clone());
            jobs.id.push(job.id.clone());
            jobs.lease.push(claimed.lease.clone());
            jobs.state.push(change.state.to_string());
            jobs.next_run_at.push(change.next_run_at);
            jobs.delta.push(change.attempts_delta);
            jobs.reason.push(change.reason.map(str::to_string));
            jobs.result.push(change.result.map(str::to_string));
            jobs.error.push(finish.error.clone());
            jobs.at.push(*now);
            if !matches!(finish.outcome, FinishOutcome::Held { .. }) {
                attempts.job.push(job.id.clone());
                attempts.id.push(new_id("att"));
                attempts.attempt.push(i64::from(job.attempts));
                attempts.export.push(finish.export.to_string());
                attempts.worker.push(finish.worker.clone());
                attempts.started_at.push(finish.started_at);
                attempts.latency_ms.push(finish.latency_ms);
                attempts.fuel.push(finish.fuel.min(i64::MAX as u64) as i64);
                attempts.outcome.push(finish.outcome.word().to_string());
                attempts.error_code.push(finish.error_code.clone());
                attempts.trace_id.push(finish.trace_id.clone());
            }
            match task_change(claimed, finish) {
                TaskChange::ClearAll => tasks.cleared.push(job.id.clone()),
                TaskChange::Consume(task) => {
                    tasks.consumed_job.push(job.id.clone());
                    tasks.consumed.push(task.to_string());
                }
                TaskChange::Keep => {}
            }
            if let FinishOutcome::Continue { tasks: added, .. } = &finish.outcome {
                for (kind, payload, run_at) in added {
                    tasks.added_job.push(job.id.clone());
                    tasks.added_id.push(new_id("task"));
                    tasks.added_kind.push(kind.clone());
                    tasks.added_payload.push(payload.clone());
                    tasks.added_run_at.push(*run_at);
                }
            }
            if let FinishOutcome::Dead { reason_code } = &finish.outcome {
                letters.job.push(job.id.clone());
                letters.id.push(new_id("dlq"));
                letters.reason_code.push(reason_code.clone());
                letters
                    .last_error
                    .push(finish.error.clone().unwrap_or_default());
                letters.attempts.push(i64::from(job.attempts));
            }
            if let Some(event) = outcome_event(job, finish) {
                let id = new_id("evt");
                events.body.push(event.body(&id, &job.tenant_id, *now));
                events.job.push(job.id.clone());
                events.id.push(id);
                events.kind.push(event.kind.as_str().to_string());
                events.ordering_key.push(event.ordering_key.clone());
            }
        }
        c
    }
}

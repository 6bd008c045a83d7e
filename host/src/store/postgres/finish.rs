//! Run outcomes: one fixed statement (`finish.sql`) records any number of runs. Each run's
//! writes are rows of arrays bound as whole parameters: the job's update under its lease, its
//! attempt record, continuations consumed, cleared and added, its dead letter and the event
//! its tenant's endpoints are told. Every write but the update joins the updated rows
//! (`moved`), so a run whose lease no longer holds writes nothing at all. Alone, the statement
//! is its own transaction: one round trip and one commit for the whole batch.

use super::super::finish::{TaskChange, job_change, outcome_event, task_change};
use super::super::pipeline::{Claimed, Finish, FinishOutcome};
use super::super::{Millis, StoreError, new_id};

/// The runs' jobs' rows (`$1`–`$10`).
#[derive(Default)]
struct Jobs {
    tenant: Vec<String>,
    id: Vec<String>,
    lease: Vec<String>,
    state: Vec<String>,
    next_run_at: Vec<Option<i64>>,
    delta: Vec<i64>,
    reason: Vec<Option<String>>,
    result: Vec<Option<String>>,
    error: Vec<Option<String>>,
    at: Vec<i64>,
}

/// Attempt records (`$11`–`$21`).
#[derive(Default)]
struct Attempts {
    job: Vec<String>,
    id: Vec<String>,
    attempt: Vec<i64>,
    export: Vec<String>,
    worker: Vec<String>,
    started_at: Vec<i64>,
    latency_ms: Vec<i64>,
    fuel: Vec<i64>,
    outcome: Vec<String>,
    error_code: Vec<Option<String>>,
    trace_id: Vec<Option<String>>,
}

/// Continuations cleared (`$22`), consumed (`$23`, `$24`) and added (`$25`–`$29`).
#[derive(Default)]
struct Tasks {
    cleared: Vec<String>,
    consumed_job: Vec<String>,
    consumed: Vec<String>,
    added_job: Vec<String>,
    added_id: Vec<String>,
    added_kind: Vec<String>,
    added_payload: Vec<String>,
    added_run_at: Vec<i64>,
}

/// Dead letters (`$30`–`$34`).
#[derive(Default)]
struct Letters {
    job: Vec<String>,
    id: Vec<String>,
    reason_code: Vec<String>,
    last_error: Vec<String>,
    attempts: Vec<i64>,
}

/// Outcome events (`$35`–`$39`).
#[derive(Default)]
struct Events {
    job: Vec<String>,
    id: Vec<String>,
    kind: Vec<String>,
    ordering_key: Vec<String>,
    body: Vec<String>,
}

/// Records `runs`, each only while its lease holds; per run, in order, whether it was applied.
pub(in crate::store) async fn finish_runs(
    pool: &sqlx::PgPool,
    runs: &[(&Claimed, &Finish, Millis)],
) -> Result<Vec<bool>, StoreError> {
    let mut jobs = Jobs::default();
    let mut attempts = Attempts::default();
    let mut tasks = Tasks::default();
    let mut letters = Letters::default();
    let mut events = Events::default();
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
    let moved = sqlx::query_file_scalar!(
        "src/store/postgres/finish.sql",
        &jobs.tenant,
        &jobs.id,
        &jobs.lease,
        &jobs.state,
        &jobs.next_run_at as &[Option<i64>],
        &jobs.delta,
        &jobs.reason as &[Option<String>],
        &jobs.result as &[Option<String>],
        &jobs.error as &[Option<String>],
        &jobs.at,
        &attempts.job,
        &attempts.id,
        &attempts.attempt,
        &attempts.export,
        &attempts.worker,
        &attempts.started_at,
        &attempts.latency_ms,
        &attempts.fuel,
        &attempts.outcome,
        &attempts.error_code as &[Option<String>],
        &attempts.trace_id as &[Option<String>],
        &tasks.cleared,
        &tasks.consumed_job,
        &tasks.consumed,
        &tasks.added_job,
        &tasks.added_id,
        &tasks.added_kind,
        &tasks.added_payload,
        &tasks.added_run_at,
        &letters.job,
        &letters.id,
        &letters.reason_code,
        &letters.last_error,
        &letters.attempts,
        &events.job,
        &events.id,
        &events.kind,
        &events.ordering_key,
        &events.body,
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("recording job outcomes"))?;
    Ok(jobs.id.iter().map(|id| moved.contains(id)).collect())
}

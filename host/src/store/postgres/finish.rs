//! Run outcomes: one fixed statement (`finish.sql`) records any number of runs. Each run's
//! writes are rows of arrays bound as whole parameters: the job's update under its lease, its
//! attempt record, continuations consumed, cleared and added, its dead letter and the event
//! its tenant's endpoints are told. Every write but the update joins the updated rows
//! (`moved`), so a run whose lease no longer holds writes nothing at all. Alone, the statement
//! is its own transaction: one round trip and one commit for the whole batch.

use super::super::pipeline::{Claimed, Finish};
use super::super::{Millis, StoreError};

/// Records `runs`, each only while its lease holds; per run, in order, whether it was applied.
pub(in crate::store) async fn finish_runs(
    pool: &sqlx::PgPool,
    runs: &[(&Claimed, &Finish, Millis)],
) -> Result<Vec<bool>, StoreError> {
    let super::super::outcome_columns::OutcomeColumns {
        jobs,
        attempts,
        tasks,
        letters,
        events,
    } = super::super::outcome_columns::OutcomeColumns::of(runs);
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

//! Run outcomes on SQLite: a batch of runs written in a handful of statements inside the
//! caller's transaction on the write connection, however many runs it holds. The jobs are
//! updated first, each only while its lease holds (`UPDATE … FROM` a `VALUES` list,
//! `RETURNING` the jobs it moved); everything else is written only for those: attempt records,
//! continuations cleared, consumed and added, dead letters, and the outcome events the tenants'
//! endpoints take, each kind one multi-row statement. The one writer spends its time per
//! statement, so a batch of n runs costs at most seven statements instead of about four per
//! run. What a run writes is decided in `outcome_columns.rs`, shared with PostgreSQL.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::super::outbox::endpoints_taking;
use super::super::outcome_columns::OutcomeColumns;
use super::super::pipeline::{Claimed, Finish};
use super::super::{Millis, StoreError};
use super::{MAX_PARAMETERS, values, write_rows};

/// Runs that share one job update (10 parameters each).
const MAX_RUNS: usize = MAX_PARAMETERS / 10;

/// Records `runs` in `tx`, each only while its lease holds; per run, in order, whether it was
/// applied.
pub(in crate::store) async fn finish_runs(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    runs: &[(&Claimed, &Finish, Millis)],
) -> Result<Vec<bool>, StoreError> {
    if runs.len() > MAX_RUNS {
        let mut applied = Vec::with_capacity(runs.len());
        for chunk in runs.chunks(MAX_RUNS) {
            applied.extend(Box::pin(finish_runs(tx, chunk)).await?);
        }
        return Ok(applied);
    }
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let OutcomeColumns {
        jobs,
        attempts,
        tasks,
        letters,
        events,
    } = OutcomeColumns::of(runs);

    let sql = format!(
        "WITH f(tenant_id, id, lease, state, next_run_at, delta, reason, result, error, at) AS (VALUES {})
         UPDATE jobs SET state = f.state, next_run_at = COALESCE(f.next_run_at, jobs.next_run_at),
             attempts = jobs.attempts + f.delta, state_reason = f.reason,
             result = COALESCE(f.result, jobs.result), last_error = COALESCE(f.error, jobs.last_error),
             lease_owner = NULL, lease_until = NULL, updated_at = f.at
         FROM f
         WHERE jobs.tenant_id = f.tenant_id AND jobs.id = f.id AND jobs.state = 'running'
             AND jobs.lease_owner = f.lease
         RETURNING id",
        values(jobs.id.len(), 10)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
    for i in 0..jobs.id.len() {
        query = query
            .bind(&jobs.tenant[i])
            .bind(&jobs.id[i])
            .bind(&jobs.lease[i])
            .bind(&jobs.state[i])
            .bind(jobs.next_run_at[i])
            .bind(jobs.delta[i])
            .bind(jobs.reason[i].as_deref())
            .bind(jobs.result[i].as_deref())
            .bind(jobs.error[i].as_deref())
            .bind(jobs.at[i]);
    }
    let moved: HashSet<String> = query
        .fetch_all(&mut **tx)
        .await
        .map_err(StoreError::db("recording job outcomes"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let applied: Vec<bool> = jobs.id.iter().map(|id| moved.contains(id)).collect();
    if moved.is_empty() {
        return Ok(applied);
    }
    // Each moved job's row in `jobs` (its tenant, its error, its time).
    let of: HashMap<&str, usize> = jobs
        .id
        .iter()
        .enumerate()
        .filter(|(_, id)| moved.contains(*id))
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let moved_rows = |job_ids: &[String]| -> Vec<(usize, usize)> {
        job_ids
            .iter()
            .enumerate()
            .filter_map(|(k, id)| of.get(id.as_str()).map(|&i| (k, i)))
            .collect()
    };

    let rows = moved_rows(&attempts.job);
    write_rows(
        tx,
        &rows,
        13,
        |values| {
            format!(
                "INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker,
                     started_at, latency_ms, fuel, outcome, error_code, error, trace_id)
                 VALUES {values}"
            )
        },
        |query, (k, i)| {
            query
                .bind(&jobs.tenant[i])
                .bind(&attempts.id[k])
                .bind(&jobs.id[i])
                .bind(attempts.attempt[k])
                .bind(&attempts.export[k])
                .bind(&attempts.worker[k])
                .bind(attempts.started_at[k])
                .bind(attempts.latency_ms[k])
                .bind(attempts.fuel[k])
                .bind(&attempts.outcome[k])
                .bind(attempts.error_code[k].as_deref())
                .bind(jobs.error[i].as_deref())
                .bind(attempts.trace_id[k].as_deref())
        },
        "recording attempts",
    )
    .await?;

    let rows = moved_rows(&tasks.cleared);
    write_rows(
        tx,
        &rows,
        2,
        |values| format!("DELETE FROM job_tasks WHERE (tenant_id, job_id) IN (VALUES {values})"),
        |query, (_, i)| query.bind(&jobs.tenant[i]).bind(&jobs.id[i]),
        "clearing continuations",
    )
    .await?;

    let rows = moved_rows(&tasks.consumed_job);
    write_rows(
        tx,
        &rows,
        2,
        |values| format!("DELETE FROM job_tasks WHERE (tenant_id, id) IN (VALUES {values})"),
        |query, (k, i)| query.bind(&jobs.tenant[i]).bind(&tasks.consumed[k]),
        "consuming continuations",
    )
    .await?;

    let rows = moved_rows(&tasks.added_job);
    write_rows(
        tx,
        &rows,
        6,
        |values| {
            format!(
                "INSERT INTO job_tasks (tenant_id, id, job_id, kind, payload, run_at) VALUES {values}"
            )
        },
        |query, (k, i)| {
            query
                .bind(&jobs.tenant[i])
                .bind(&tasks.added_id[k])
                .bind(&jobs.id[i])
                .bind(&tasks.added_kind[k])
                .bind(&tasks.added_payload[k])
                .bind(tasks.added_run_at[k])
        },
        "storing continuations",
    )
    .await?;

    let rows = moved_rows(&letters.job);
    write_rows(
        tx,
        &rows,
        7,
        |values| {
            format!(
                "INSERT INTO dead_letters (tenant_id, id, job_id, reason_code, last_error,
                     attempts, created_at) VALUES {values}"
            )
        },
        |query, (k, i)| {
            query
                .bind(&jobs.tenant[i])
                .bind(&letters.id[k])
                .bind(&jobs.id[i])
                .bind(&letters.reason_code[k])
                .bind(&letters.last_error[k])
                .bind(letters.attempts[k])
                .bind(jobs.at[i])
        },
        "dead-lettering jobs",
    )
    .await?;

    let taking = endpoints_taking("v.kind");
    let rows = moved_rows(&events.job);
    write_rows(
        tx,
        &rows,
        6,
        |values| {
            format!(
                "WITH v(tenant_id, event_id, kind, ordering_key, body, at) AS (VALUES {values})
                 INSERT INTO event_deliveries (tenant_id, endpoint_id, event_id, event_type,
                     ordering_key, payload, state, attempts, next_attempt_at, window_start,
                     created_at)
                 SELECT e.tenant_id, e.id, v.event_id, v.kind, v.ordering_key, v.body, 'pending',
                     0, v.at, v.at, v.at
                 FROM v JOIN event_endpoints e ON e.tenant_id = v.tenant_id AND {taking}"
            )
        },
        |query, (k, i)| {
            query
                .bind(&jobs.tenant[i])
                .bind(&events.id[k])
                .bind(&events.kind[k])
                .bind(&events.ordering_key[k])
                .bind(&events.body[k])
                .bind(jobs.at[i])
        },
        "writing events",
    )
    .await?;
    Ok(applied)
}

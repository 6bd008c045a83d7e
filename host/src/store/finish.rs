//! Recording a run's outcome: one transaction per run ([`Store::finish`]) or several runs'
//! outcomes in one transaction ([`Store::finish_many`], group commit), each applied only while
//! its lease holds. On PostgreSQL either is one statement (`postgres/finish.rs`); on SQLite the
//! writes are statements of one transaction (cheap in process).

use super::outbox::emit;
use super::pipeline::{Claimed, Finish, FinishOutcome};
use super::{Job, Millis, Store, StoreError, new_id};
use crate::events::Event;

impl Store {
    /// Records a run and moves its job on, in one transaction, if the lease still holds.
    /// Returns false (and changes nothing) when the lease was lost: another worker took the job
    /// over after this one overran its lease.
    pub async fn finish(
        &self,
        claimed: &Claimed,
        finish: &Finish,
        now: Millis,
    ) -> Result<bool, StoreError> {
        if let Some(pool) = self.native() {
            // One statement: its own transaction, one round trip.
            let applied = super::postgres::finish_runs(pool, &[(claimed, finish, now)]).await?;
            return Ok(applied.first().copied().unwrap_or(false));
        }
        let mut tx = self.begin().await?;
        if !finish_in(&mut tx, claimed, finish, now).await? {
            return Ok(false);
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing a job's outcome"))?;
        Ok(true)
    }

    /// Records several runs in one transaction (one commit for all: the expensive part of a
    /// write), each exactly as [`Store::finish`] would: applied only while its lease holds.
    /// Returns, per run in order, whether it was applied. On an error nothing is applied (the
    /// transaction is rolled back), and the caller may record the runs one by one.
    pub async fn finish_many(
        &self,
        runs: &[(&Claimed, &Finish, Millis)],
    ) -> Result<Vec<bool>, StoreError> {
        if let Some(pool) = self.native() {
            return super::postgres::finish_runs(pool, runs).await;
        }
        let mut tx = self.begin().await?;
        let mut applied = Vec::with_capacity(runs.len());
        for (claimed, finish, now) in runs {
            applied.push(finish_in(&mut tx, claimed, finish, *now).await?);
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing job outcomes"))?;
        Ok(applied)
    }
}

/// What a run's outcome does to its job's row.
pub(super) struct JobChange<'a> {
    pub state: &'a str,
    pub next_run_at: Option<Millis>,
    pub attempts_delta: i64,
    pub reason: Option<&'a str>,
    pub result: Option<&'a str>,
}

/// The [`JobChange`] of `finish` for `claimed`.
pub(super) fn job_change<'a>(claimed: &Claimed, finish: &'a Finish, now: Millis) -> JobChange<'a> {
    let job = &claimed.job;
    let (state, next_run_at, attempts_delta, reason, result): (
        &str,
        Option<Millis>,
        i64,
        Option<&str>,
        Option<&str>,
    ) = match &finish.outcome {
        FinishOutcome::Published { result } => ("published", None, 0, None, Some(result)),
        FinishOutcome::Continue { tasks, .. } => (
            "queued",
            tasks.iter().map(|t| t.2).min().or(Some(now)),
            -(job.attempts as i64),
            None,
            None,
        ),
        FinishOutcome::Retry { at, spend_attempt } => (
            "queued",
            Some(*at),
            if *spend_attempt { 0 } else { -1 },
            None,
            None,
        ),
        FinishOutcome::Pause { reason } => ("paused", None, -1, Some(reason), None),
        FinishOutcome::Dead { reason_code } => ("dead", None, 0, Some(reason_code), None),
        FinishOutcome::Held { at } => ("queued", Some(*at), -1, None, None),
    };
    JobChange {
        state,
        next_run_at,
        attempts_delta,
        reason,
        result,
    }
}

/// [`Store::finish`]'s writes in `tx` (SQLite). When the lease no longer holds it writes
/// nothing and returns false.
async fn finish_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    claimed: &Claimed,
    finish: &Finish,
    now: Millis,
) -> Result<bool, StoreError> {
    let job = &claimed.job;
    let JobChange {
        state,
        next_run_at,
        attempts_delta,
        reason,
        result,
    } = job_change(claimed, finish, now);
    let updated = sqlx::query(
            "UPDATE jobs SET state = $3, next_run_at = COALESCE($4, next_run_at), attempts = attempts + $5,
                 state_reason = $6, result = COALESCE($7, result), last_error = COALESCE($8, last_error),
                 lease_owner = NULL, lease_until = NULL, updated_at = $9
             WHERE tenant_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $10",
        )
        .bind(&job.tenant_id)
        .bind(&job.id)
        .bind(state)
        .bind(next_run_at)
        .bind(attempts_delta)
        .bind(reason)
        .bind(result)
        .bind(finish.error.as_deref())
        .bind(now)
        .bind(&claimed.lease)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db("recording a job's outcome"))?
        .rows_affected();
    if updated != 1 {
        return Ok(false);
    }
    if matches!(finish.outcome, FinishOutcome::Held { .. }) {
        // Not run: nothing to record, its continuation (if any) still waits.
        return Ok(true);
    }
    sqlx::query(
            "INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker, started_at, latency_ms, fuel,
                 outcome, error_code, error, trace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&job.tenant_id)
        .bind(new_id("att"))
        .bind(&job.id)
        .bind(job.attempts as i64)
        .bind(finish.export)
        .bind(&finish.worker)
        .bind(finish.started_at)
        .bind(finish.latency_ms)
        .bind(finish.fuel.min(i64::MAX as u64) as i64)
        .bind(finish.outcome.word())
        .bind(finish.error_code.as_deref())
        .bind(finish.error.as_deref())
        .bind(finish.trace_id.as_deref())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db("recording an attempt"))?;
    match task_change(claimed, finish) {
        TaskChange::ClearAll => {
            sqlx::query("DELETE FROM job_tasks WHERE tenant_id = $1 AND job_id = $2")
                .bind(&job.tenant_id)
                .bind(&job.id)
                .execute(&mut **tx)
                .await
                .map_err(StoreError::db("clearing continuations"))?;
        }
        TaskChange::Consume(task) => {
            sqlx::query("DELETE FROM job_tasks WHERE tenant_id = $1 AND id = $2")
                .bind(&job.tenant_id)
                .bind(task)
                .execute(&mut **tx)
                .await
                .map_err(StoreError::db("consuming a continuation"))?;
        }
        TaskChange::Keep => {}
    }
    if let FinishOutcome::Continue { tasks, .. } = &finish.outcome {
        for (kind, payload, run_at) in tasks {
            sqlx::query(
                    "INSERT INTO job_tasks (tenant_id, id, job_id, kind, payload, run_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&job.tenant_id)
                .bind(new_id("task"))
                .bind(&job.id)
                .bind(kind)
                .bind(payload)
                .bind(*run_at)
                .execute(&mut **tx)
                .await
                .map_err(StoreError::db("storing a continuation"))?;
        }
    }
    if let FinishOutcome::Dead { reason_code } = &finish.outcome {
        sqlx::query(
                "INSERT INTO dead_letters (tenant_id, id, job_id, reason_code, last_error, attempts, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&job.tenant_id)
            .bind(new_id("dlq"))
            .bind(&job.id)
            .bind(reason_code)
            .bind(finish.error.as_deref().unwrap_or(""))
            .bind(job.attempts as i64)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::db("dead-lettering a job"))?;
    }
    if let Some(event) = outcome_event(job, finish) {
        emit(tx, &job.tenant_id, &event, now).await?;
    }
    Ok(true)
}

/// What a finish does to the job's continuations (on both databases).
pub(super) enum TaskChange<'a> {
    /// The job ended: every continuation goes.
    ClearAll,
    /// The due continuation ran: it goes.
    Consume(&'a str),
    /// Nothing ran to its end (a retry, a pause, a hold): they stay.
    Keep,
}

/// [`TaskChange`] of `finish` for `claimed`.
pub(super) fn task_change<'a>(claimed: &'a Claimed, finish: &Finish) -> TaskChange<'a> {
    match (&finish.outcome, &claimed.task) {
        (FinishOutcome::Published { .. } | FinishOutcome::Dead { .. }, _) => TaskChange::ClearAll,
        (
            FinishOutcome::Retry { .. } | FinishOutcome::Pause { .. } | FinishOutcome::Held { .. },
            _,
        )
        | (_, None) => TaskChange::Keep,
        (_, Some(task)) => TaskChange::Consume(&task.id),
    }
}

/// The event a finish tells the tenant's endpoints, if any: published or failed for good.
pub(super) fn outcome_event(job: &Job, finish: &Finish) -> Option<Event> {
    match &finish.outcome {
        FinishOutcome::Published { result } => Some(Event::published(job, result)),
        FinishOutcome::Dead { reason_code } => Some(Event::failed(
            job,
            reason_code,
            finish.error.as_deref().unwrap_or(""),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobState, NewConnection, NewPost, PostContent, Target};

    async fn store_with_jobs(dir: &std::path::Path, n: usize) -> Store {
        let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
        store.create_tenant("t", "t", 1).await.unwrap();
        let tenant = store.tenant("t");
        let connection = NewConnection {
            id: "c".into(),
            plugin: "p".into(),
            external_id: "x".into(),
            display_name: "x".into(),
            ..NewConnection::default()
        };
        tenant.upsert_connection(&connection, "t", 1).await.unwrap();
        for i in 0..n {
            let post = NewPost {
                idempotency_key: format!("k{i}"),
                content: PostContent {
                    text: format!("post {i}"),
                    ..PostContent::default()
                },
                targets: vec![Target {
                    connection_id: "c".into(),
                    account_id: "a".into(),
                }],
                scheduled_for: None,
            };
            tenant.accept(&post, &|_| true, 1).await.unwrap();
        }
        store
    }

    fn published(worker: &str) -> Finish {
        Finish {
            export: "publish",
            worker: worker.into(),
            started_at: 2,
            latency_ms: 1,
            fuel: 0,
            error_code: None,
            error: None,
            outcome: FinishOutcome::Published {
                result: "{}".into(),
            },
            trace_id: None,
        }
    }

    #[tokio::test]
    async fn many_outcomes_share_a_transaction_and_each_still_needs_its_lease() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_jobs(dir.path(), 3).await;
        let claimed = store.claim_due("w", 2, 60_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 3);
        // The third run's lease was lost: another worker holds the job now.
        let mut stale = claimed[2].clone();
        stale.lease = "someone-else".into();
        let finish = published("w");
        let applied = store
            .finish_many(&[
                (&claimed[0], &finish, 3),
                (&claimed[1], &finish, 3),
                (&stale, &finish, 3),
            ])
            .await
            .unwrap();
        assert_eq!(applied, vec![true, true, false]);
        let tenant = store.tenant("t");
        for (job, state) in [
            (&claimed[0], JobState::Published),
            (&claimed[1], JobState::Published),
            (&claimed[2], JobState::Running),
        ] {
            let stored = tenant.job(&job.job.id).await.unwrap();
            assert_eq!(stored.state, state);
            let attempts = tenant.attempts(&job.job.id).await.unwrap();
            assert_eq!(attempts.len(), usize::from(state == JobState::Published));
        }
        // Recording an applied outcome again changes nothing: the lease was released.
        assert_eq!(
            store
                .finish_many(&[(&claimed[0], &finish, 4)])
                .await
                .unwrap(),
            vec![false]
        );
        assert_eq!(tenant.attempts(&claimed[0].job.id).await.unwrap().len(), 1);
    }
}

//! Posts and their jobs as a tenant sees them: read, cancel, dead letters and replay (accepting
//! them is `accept.rs`).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::outbox::emit;
use super::tenants::audit;
use super::{
    Attempt, DeadLetter, Job, JobState, Millis, PostContent, PostRecord, StoreError, TenantStore,
};

pub(crate) const JOB_COLUMNS: &str = "j.tenant_id, j.id, j.post_id, j.connection_id, j.plugin, j.account_id, \
    j.content, p.scheduled_for, j.state, j.state_reason, j.attempts, j.next_run_at, j.recovery_point, j.result, \
    j.last_error, j.created_at, j.updated_at, j.deleted_at, p.traceparent";

/// Reads a job row selected with [`JOB_COLUMNS`].
pub(crate) fn job_from_row(row: &AnyRow) -> Job {
    let content: String = row.get("content");
    let state: String = row.get("state");
    Job {
        tenant_id: row.get("tenant_id"),
        id: row.get("id"),
        post_id: row.get("post_id"),
        connection_id: row.get("connection_id"),
        plugin: row.get("plugin"),
        account_id: row.get("account_id"),
        // Written by `accept` from the same type; a row that no longer parses runs as empty
        // text and fails the connector's validation visibly instead of vanishing.
        content: serde_json::from_str(&content).unwrap_or_default(),
        scheduled_for: row.get("scheduled_for"),
        state: JobState::parse(&state).unwrap_or(JobState::Paused),
        state_reason: row.get("state_reason"),
        attempts: row.get::<i64, _>("attempts") as u32,
        next_run_at: row.get("next_run_at"),
        recovery_point: row.get("recovery_point"),
        result: row.get("result"),
        last_error: row.get("last_error"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        deleted_at: row.get("deleted_at"),
        traceparent: row.get("traceparent"),
    }
}

impl TenantStore {
    /// A post and its jobs.
    pub async fn post(&self, id: &str) -> Result<PostRecord, StoreError> {
        let row = sqlx::query("SELECT id, idempotency_key, scheduled_for, created_at FROM posts WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await
            .map_err(StoreError::db("reading a post"))?
            .ok_or_else(|| StoreError::not_found("post", id))?;
        let jobs = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.tenant_id = $1 AND j.post_id = $2 ORDER BY j.id"
        )))
        .bind(&self.tenant)
        .bind(id)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("reading a post's jobs"))?;
        Ok(PostRecord {
            id: row.get("id"),
            idempotency_key: row.get("idempotency_key"),
            scheduled_for: row.get("scheduled_for"),
            created_at: row.get("created_at"),
            jobs: jobs.iter().map(job_from_row).collect(),
        })
    }

    /// One job.
    pub async fn job(&self, id: &str) -> Result<Job, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.tenant_id = $1 AND j.id = $2"
        )))
        .bind(&self.tenant)
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(StoreError::db("reading a job"))?;
        row.as_ref()
            .map(job_from_row)
            .ok_or_else(|| StoreError::not_found("job", id))
    }

    /// This tenant's jobs, optionally in one state, newest first.
    pub async fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, StoreError> {
        let filter = JobFilter {
            state,
            ..JobFilter::default()
        };
        self.jobs_before(&filter, limit, None).await
    }

    /// One page of jobs, newest first: those `filter` keeps whose id sorts before `before` (the
    /// last id of the previous page; ids are time-ordered), at most `limit`.
    pub async fn jobs_before(
        &self,
        filter: &JobFilter,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.tenant_id = $1 AND ($2 IS NULL OR j.state = $2) AND ($4 IS NULL OR j.id < $4)
               AND ($5 IS NULL OR j.plugin = $5) AND ($6 IS NULL OR j.created_at >= $6)
               AND ($7 IS NULL OR j.created_at < $7)
             ORDER BY j.id DESC LIMIT $3"
        )))
        .bind(&self.tenant)
        .bind(filter.state.map(JobState::as_str))
        .bind(limit as i64)
        .bind(before)
        .bind(filter.plugin.as_deref())
        .bind(filter.since)
        .bind(filter.until)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("listing jobs"))?;
        Ok(rows.iter().map(job_from_row).collect())
    }

    /// The attempts of a job, in order.
    pub async fn attempts(&self, job: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, export, worker, started_at, latency_ms, fuel, outcome, error_code, error, trace_id
             FROM job_attempts WHERE tenant_id = $1 AND job_id = $2 ORDER BY started_at, id",
        )
        .bind(&self.tenant)
        .bind(job)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("reading attempts"))?;
        Ok(rows
            .iter()
            .map(|r| Attempt {
                attempt: r.get::<i64, _>("attempt") as u32,
                export: r.get("export"),
                worker: r.get("worker"),
                started_at: r.get("started_at"),
                latency_ms: r.get("latency_ms"),
                fuel: r.get::<i64, _>("fuel") as u64,
                outcome: r.get("outcome"),
                error_code: r.get("error_code"),
                error: r.get("error"),
                trace_id: r.get("trace_id"),
            })
            .collect())
    }

    /// Cancels a job that has not run to completion (queued or paused). Returns false when it
    /// is past cancelling (running, published, dead or already cancelled).
    pub async fn cancel_job(&self, id: &str, actor: &str, now: Millis) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', state_reason = $3, updated_at = $4
             WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'paused')",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(format!("cancelled by {actor}"))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("cancelling a job"))?
        .rows_affected()
            == 1;
        if done {
            audit(&mut tx, &self.tenant, now, actor, "job.cancelled", id, "").await?;
        } else {
            self.job(id).await?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing a cancel"))?;
        Ok(done)
    }

    /// Records that `job`'s platform post was deleted by `actor` through `call` (the API request
    /// that did it): the job moves to `deleted` with when and that call, the change is audited
    /// and `post.deleted` told to the tenant's endpoints, in one transaction.
    pub async fn record_post_deleted(
        &self,
        job: &Job,
        actor: &str,
        call: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE jobs SET state = 'deleted', state_reason = $3, deleted_at = $4, updated_at = $4
             WHERE tenant_id = $1 AND id = $2 AND state = 'published'",
        )
        .bind(&self.tenant)
        .bind(&job.id)
        .bind(format!("deleted on the platform by {call}"))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("marking a job deleted"))?;
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "post.deleted",
            &job.id,
            "",
        )
        .await?;
        emit(
            &mut tx,
            &self.tenant,
            &crate::events::Event::deleted(job),
            now,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a post's deletion"))
    }

    /// Applies `changes` to the options of job `id` (a value sets, `None` removes).
    async fn change_options(
        &self,
        conn: &mut sqlx::AnyConnection,
        id: &str,
        changes: &BTreeMap<String, Option<String>>,
    ) -> Result<(), StoreError> {
        let stored: String =
            sqlx::query_scalar("SELECT content FROM jobs WHERE tenant_id = $1 AND id = $2")
                .bind(&self.tenant)
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .map_err(StoreError::db("reading a job's content"))?;
        let mut content: PostContent = serde_json::from_str(&stored)
            .map_err(|e| StoreError::Invalid(format!("job `{id}` has unreadable content: {e}")))?;
        for (name, value) in changes {
            match value {
                Some(value) => content.options.insert(name.clone(), value.clone()),
                None => content.options.remove(name),
            };
        }
        let written = serde_json::to_string(&content).expect("post content serializes");
        sqlx::query("UPDATE jobs SET content = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant)
            .bind(id)
            .bind(written)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("changing a job's options"))?;
        Ok(())
    }

    /// Dead letters not yet replayed, newest first.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, StoreError> {
        self.dead_letters_before(limit, None).await
    }

    /// One page of dead letters not yet replayed, newest first: those whose id sorts before
    /// `before` (ids are time-ordered), at most `limit`.
    pub async fn dead_letters_before(
        &self,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, job_id, reason_code, last_error, attempts, created_at, replayed_at FROM dead_letters
             WHERE tenant_id = $1 AND replayed_at IS NULL AND ($3 IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $2",
        )
        .bind(&self.tenant)
        .bind(limit as i64)
        .bind(before)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("listing dead letters"))?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter {
                id: r.get("id"),
                job_id: r.get("job_id"),
                reason_code: r.get("reason_code"),
                last_error: r.get("last_error"),
                attempts: r.get::<i64, _>("attempts") as u32,
                created_at: r.get("created_at"),
                replayed_at: r.get("replayed_at"),
            })
            .collect())
    }

    /// Replays a dead letter: its job is queued again now, with fresh attempts, the same post
    /// and idempotency key and its recovery point. Returns the job.
    pub async fn replay(
        &self,
        dead_letter: &str,
        actor: &str,
        option_changes: &BTreeMap<String, Option<String>>,
        now: Millis,
    ) -> Result<Job, StoreError> {
        let mut tx = self.store.begin().await?;
        let job_id: String = sqlx::query_scalar(
            "UPDATE dead_letters SET replayed_at = $3 WHERE tenant_id = $1 AND id = $2 AND replayed_at IS NULL RETURNING job_id",
        )
        .bind(&self.tenant)
        .bind(dead_letter)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("replaying a dead letter"))?
        .ok_or_else(|| StoreError::not_found("dead letter", dead_letter))?;
        sqlx::query(
            "UPDATE jobs SET state = 'queued', state_reason = NULL, attempts = 0, next_run_at = $3, updated_at = $3,
                 lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = $1 AND id = $2 AND state = 'dead'",
        )
        .bind(&self.tenant)
        .bind(&job_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("re-queuing a job"))?;
        let mut detail = dead_letter.to_string();
        if !option_changes.is_empty() {
            self.change_options(&mut tx, &job_id, option_changes)
                .await?;
            let names: Vec<&str> = option_changes.keys().map(String::as_str).collect();
            detail.push_str(&format!(" options_changed={}", names.join(",")));
        }
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "job.replayed",
            &job_id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a replay"))?;
        self.job(&job_id).await
    }
}

/// Which jobs a list keeps; every field set narrows it.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this plugin.
    pub plugin: Option<String>,
    /// Only jobs created at or after this (Unix ms).
    pub since: Option<Millis>,
    /// Only jobs created before this (Unix ms).
    pub until: Option<Millis>,
}

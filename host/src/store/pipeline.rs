//! The pipeline's side of the store: claiming due jobs under a lease, what a run ended in
//! (recorded by `finish.rs`), recovery points, and the sweep that re-announces jobs a lost
//! dispatch message left behind. Cross-tenant by nature; not reachable from the tenant API.

use sqlx::{AssertSqlSafe, Row};

use super::jobs::{JOB_COLUMNS, job_from_row};
use super::{Backend, Job, JobTask, Millis, Store, StoreError};
use crate::time::{Span, UnixMs};

/// A job a worker holds until `lease_until`, with the continuation due now, if any.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The job (its `attempts` already counts this run).
    pub job: Job,
    /// The lease token; [`Store::finish`] only applies while it still holds.
    pub lease: String,
    /// The continuation to hand to `handle-task`; `None` runs `publish`.
    pub task: Option<JobTask>,
}

/// What a run ended in.
#[derive(Debug, Clone, PartialEq)]
pub enum FinishOutcome {
    /// Done: the platform's answer (JSON).
    Published {
        /// Stored as the job's result.
        result: String,
    },
    /// A step is done; the job continues with these tasks `(kind, payload, run_at)`.
    Continue {
        /// New continuations.
        tasks: Vec<(String, String, Millis)>,
        /// What the connector says it waits for.
        waiting_for: String,
    },
    /// Run again at `at`.
    Retry {
        /// When.
        at: Millis,
        /// False for a rate-limited answer: the attempt is given back.
        spend_attempt: bool,
    },
    /// Hold the job until its connection or plugin is usable again.
    Pause {
        /// Why (`connection-needs-attention`, `plugin-disabled`).
        reason: String,
    },
    /// Failed for good: dead-letter it.
    Dead {
        /// The reason code.
        reason_code: String,
    },
}

impl FinishOutcome {
    /// The outcome as an attempt records it: `published`, `in-progress`, `retry`,
    /// `rate-limited`, `paused` or `dead`.
    pub fn word(&self) -> &'static str {
        match self {
            FinishOutcome::Published { .. } => "published",
            FinishOutcome::Continue { .. } => "in-progress",
            FinishOutcome::Retry {
                spend_attempt: true,
                ..
            } => "retry",
            FinishOutcome::Retry {
                spend_attempt: false,
                ..
            } => "rate-limited",
            FinishOutcome::Pause { .. } => "paused",
            FinishOutcome::Dead { .. } => "dead",
        }
    }
}

/// One run's record and its outcome.
#[derive(Debug, Clone)]
pub struct Finish {
    /// `publish` or `handle-task`.
    pub export: &'static str,
    /// The worker.
    pub worker: String,
    /// When the run started.
    pub started_at: Millis,
    /// How long it took.
    pub latency_ms: i64,
    /// Fuel used.
    pub fuel: u64,
    /// The error's code, when the run failed.
    pub error_code: Option<String>,
    /// The error, when the run failed.
    pub error: Option<String>,
    /// What happens to the job.
    pub outcome: FinishOutcome,
    /// The run's OpenTelemetry trace id, when traces are exported.
    pub trace_id: Option<String>,
}

/// When a lease taken at `now` for `lease_ms` ends; saturating, so a huge lease (a setting in
/// seconds turned into milliseconds) is a long one, never one that ended in the past.
fn lease_until(now: Millis, lease_ms: i64) -> Millis {
    UnixMs::new(now)
        .saturating_add(Span::from_millis_i64(lease_ms))
        .get()
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Claims up to `limit` due jobs (queued and due, or running with an expired lease: their
    /// worker died) for `worker` until `now + lease_ms`.
    pub async fn claim_due(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // One writer at a time: the UPDATE below is atomic as it stands.
            Backend::Sqlite => "",
        };
        let lease = format!("{worker}/{}", uuid::Uuid::now_v7().simple());
        let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM jobs
                 WHERE (state = 'queued' AND next_run_at <= $3) OR (state = 'running' AND lease_until < $3)
                 ORDER BY next_run_at LIMIT $4 {lock})
             RETURNING id"
        )))
        .bind(&lease)
        .bind(lease_until(now, lease_ms))
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("claiming due jobs"))?;
        self.load_claimed(ids, lease, now).await
    }

    /// Claims those of `ids` that are still due (a dispatch message may be stale: the job ran,
    /// was cancelled, or another worker holds it).
    pub async fn claim_ids(
        &self,
        ids: &[String],
        worker: &str,
        now: Millis,
        lease_ms: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let lease = format!("{worker}/{}", uuid::Uuid::now_v7().simple());
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id IN ({}) AND ((state = 'queued' AND next_run_at <= $3) OR (state = 'running' AND lease_until < $3))
             RETURNING id",
            placeholders(4, ids.len())
        );
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql.as_str()))
            .bind(&lease)
            .bind(lease_until(now, lease_ms))
            .bind(now);
        for id in ids {
            query = query.bind(id);
        }
        let claimed: Vec<String> = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("claiming jobs"))?;
        self.load_claimed(claimed, lease, now).await
    }

    async fn load_claimed(
        &self,
        ids: Vec<String>,
        lease: String,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
        for id in &ids {
            query = query.bind(id);
        }
        let jobs = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("reading claimed jobs"))?;
        let sql = format!(
            "SELECT id, job_id, kind, payload, run_at FROM job_tasks WHERE job_id IN ({}) AND run_at <= ${}
             ORDER BY run_at, id",
            placeholders(1, ids.len()),
            ids.len() + 1
        );
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
        for id in &ids {
            query = query.bind(id);
        }
        let tasks = query
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("reading continuations"))?;
        Ok(jobs
            .iter()
            .map(|row| {
                let job = job_from_row(row);
                let task = tasks
                    .iter()
                    .find(|t| t.get::<String, _>("job_id") == job.id)
                    .map(|t| JobTask {
                        id: t.get("id"),
                        job_id: t.get("job_id"),
                        kind: t.get("kind"),
                        payload: t.get("payload"),
                        run_at: t.get("run_at"),
                    });
                Claimed {
                    job,
                    lease: lease.clone(),
                    task,
                }
            })
            .collect())
    }

    /// Records `recovery_point` as job `job`'s latest, durably, at once.
    pub async fn checkpoint(
        &self,
        job: &str,
        recovery_point: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE jobs SET recovery_point = $2, updated_at = $3 WHERE id = $1")
                .bind(job)
                .bind(recovery_point)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(StoreError::db("recording a recovery point"))?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::not_found("job", job))
        }
    }

    /// Records several recovery points in one transaction (one commit for all), each as
    /// [`Store::checkpoint`] would; per point, whether its job was found. On an error nothing is
    /// recorded and the caller may record them one by one.
    pub async fn checkpoint_many(
        &self,
        points: &[(&str, &str, Millis)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.begin().await?;
        let mut found = Vec::with_capacity(points.len());
        for (job, recovery_point, now) in points {
            let done =
                sqlx::query("UPDATE jobs SET recovery_point = $2, updated_at = $3 WHERE id = $1")
                    .bind(*job)
                    .bind(*recovery_point)
                    .bind(*now)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("recording a recovery point"))?;
            found.push(done.rows_affected() == 1);
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing recovery points"))?;
        Ok(found)
    }

    /// Queued jobs due before `due_before` that no dispatch message announced since
    /// `announced_before`: their message was lost (or never sent). Marks them announced at
    /// `now` and returns `(id, next_run_at)` for the dispatcher to announce again.
    pub async fn reannounce(
        &self,
        due_before: Millis,
        announced_before: Millis,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<(String, Millis)>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET announced_at = $3 WHERE id IN (SELECT id FROM jobs
                 WHERE ((state = 'queued' AND next_run_at <= $1) OR (state = 'running' AND lease_until < $1))
                 AND (announced_at IS NULL OR announced_at <= $2)
                 ORDER BY next_run_at LIMIT $4 {lock})
             RETURNING id, next_run_at"
        )))
        .bind(due_before)
        .bind(announced_before)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("finding unannounced jobs"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get("id"), r.get("next_run_at")))
            .collect())
    }

    /// Marks jobs as announced at `now` (the dispatcher sent their message).
    pub async fn mark_announced(&self, ids: &[String], now: Millis) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE jobs SET announced_at = $1 WHERE id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str())).bind(now);
        for id in ids {
            query = query.bind(id);
        }
        query
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("marking jobs announced"))?;
        Ok(())
    }

    /// Dead letters not yet replayed, across tenants.
    pub async fn dead_letter_count(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::db("counting dead letters"))?;
        Ok(n as u64)
    }

    /// Counts jobs per state, across tenants (for health and metrics).
    pub async fn job_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::db("counting jobs"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get("state"), r.get::<i64, _>("n") as u64))
            .collect())
    }
}

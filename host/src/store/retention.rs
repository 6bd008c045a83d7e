//! Retention of finished jobs: what the pipeline no longer needs is deleted in batches by the
//! maintenance loop, so the tables (and the plans over them) stay the size of the retention
//! window rather than of the host's whole history.
//!
//! - **What goes**: jobs that finished — `published`, `cancelled`, or `deleted` on the
//!   platform — longer than the retention ago (created and last changed before the cutoff),
//!   with their attempts, continuations and (replayed) dead letters; then each post of theirs
//!   once none of its jobs remain. A deleted post's idempotency key can be used again.
//! - **What stays**: jobs that are queued, running or paused, whatever their age, and
//!   dead-lettered jobs: a dead letter waits for an operator to replay it (a replayed job runs
//!   again and is kept or deleted by the rules of its new outcome), so a dead job is never
//!   deleted by age. A post stays while any of its jobs does.
//! - **Batches**: at most [`RETENTION_BATCH`] jobs per transaction, oldest first, at most
//!   [`RETENTION_BATCHES`] transactions per pass; a backlog (retention switched on over a large
//!   history) drains over several passes without holding locks for long. On PostgreSQL one
//!   replica at a time deletes (a transaction-scoped advisory lock; the others skip the pass),
//!   so two replicas never split the jobs of one post and each leave the post behind; SQLite
//!   has one writer anyway.
//! - **Statistics**: each pass begins with [`Store::analyze_stale_tables`], so its deletes and
//!   their foreign-key checks are planned on fresh statistics (a batch's delete planned before
//!   the jobs table had any scanned all of it: 20 s for one batch at 1,000,000 jobs in
//!   host/benches/plans.rs, against 20 ms planned with statistics); the next pass notices the
//!   rows this one deleted.

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Millis, Store, StoreError};
use crate::time::{Span, UnixMs};

/// Jobs deleted per transaction.
pub const RETENTION_BATCH: usize = 500;
/// Transactions per pass at most (a pass deletes at most `RETENTION_BATCH * RETENTION_BATCHES`
/// jobs).
pub const RETENTION_BATCHES: usize = 20;
/// The states retention deletes; `jobs_finished` (migration 0012) indexes exactly these.
const FINISHED: &str = "'published', 'cancelled', 'deleted'";

/// What one retention pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPass {
    /// Jobs deleted.
    pub jobs: u64,
    /// Their attempts deleted.
    pub attempts: u64,
    /// Posts deleted (none of their jobs remained).
    pub posts: u64,
    /// Tables whose statistics were refreshed.
    pub analyzed: Vec<String>,
}

impl Store {
    /// One maintenance pass: refreshes the statistics of the tables that changed a lot, then
    /// deletes the jobs that finished longer than `retention` before `now` (see the module
    /// documentation; `None` keeps every job).
    pub async fn retain_jobs(
        &self,
        now: Millis,
        retention: Option<Duration>,
    ) -> Result<RetentionPass, StoreError> {
        let mut pass = RetentionPass {
            analyzed: self.analyze_stale_tables().await?,
            ..RetentionPass::default()
        };
        if let Some(retention) = retention {
            let before = UnixMs::new(now).saturating_sub(Span::from(retention)).get();
            for _ in 0..RETENTION_BATCHES {
                let batch = self.delete_finished_batch(before).await?;
                pass.jobs += batch.jobs;
                pass.attempts += batch.attempts;
                pass.posts += batch.posts;
                if batch.jobs < RETENTION_BATCH as u64 {
                    break;
                }
            }
        }
        Ok(pass)
    }

    /// Deletes up to [`RETENTION_BATCH`] finished jobs last changed before `before`, in one
    /// transaction.
    async fn delete_finished_batch(&self, before: Millis) -> Result<RetentionPass, StoreError> {
        let mut tx = self.begin().await?;
        let lock = match self.backend {
            Backend::Postgres => {
                let ours: bool = sqlx::query_scalar(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended('postd:job-retention', 0))",
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::db("taking the retention lock"))?;
                if !ours {
                    // Another replica is deleting; this pass leaves it to that one.
                    return Ok(RetentionPass::default());
                }
                "FOR UPDATE SKIP LOCKED"
            }
            Backend::Sqlite => "",
        };
        // Finished states are final, so a row selected here stays deletable; the lock keeps
        // a concurrent change (a published post deleted on the platform) from interleaving.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT tenant_id, id, post_id FROM jobs
             WHERE state IN ({FINISHED}) AND created_at < $1 AND updated_at < $1
             ORDER BY created_at LIMIT $2 {lock}"
        )))
        .bind(before)
        .bind(RETENTION_BATCH as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db("finding finished jobs"))?;
        if rows.is_empty() {
            return Ok(RetentionPass::default());
        }
        let jobs: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
        let posts: BTreeSet<(String, String)> = rows
            .iter()
            .map(|r| (r.get("tenant_id"), r.get("post_id")))
            .collect();
        // Job ids are unique across tenants (`jobs_by_id`), so the children go by job id.
        let mut deleted = RetentionPass::default();
        for (table, operation) in [
            ("job_attempts", "deleting old attempts"),
            ("job_tasks", "deleting old continuations"),
            ("dead_letters", "deleting replayed dead letters"),
        ] {
            let n = delete_by_ids(&mut tx, table, "job_id", &jobs, operation).await?;
            if table == "job_attempts" {
                deleted.attempts = n;
            }
        }
        deleted.jobs = delete_by_ids(&mut tx, "jobs", "id", &jobs, "deleting old jobs").await?;
        // The pair list alone is exact; the two plain lists before it let SQLite search the
        // primary key (it scans the table for a row-value list alone).
        let tenants: BTreeSet<&String> = posts.iter().map(|(tenant, _)| tenant).collect();
        let mut next = 1;
        let mut list = |n: usize, per: usize| {
            let items = (0..n)
                .map(|i| {
                    let group = (0..per)
                        .map(|k| format!("${}", next + i * per + k))
                        .collect::<Vec<_>>()
                        .join(", ");
                    if per == 1 {
                        group
                    } else {
                        format!("({group})")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            next += n * per;
            items
        };
        let (tenant_list, post_list, pair_list) = (
            list(tenants.len(), 1),
            list(posts.len(), 1),
            list(posts.len(), 2),
        );
        let sql = format!(
            "DELETE FROM posts WHERE tenant_id IN ({tenant_list}) AND id IN ({post_list})
             AND (tenant_id, id) IN (VALUES {pair_list})
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.post_id = posts.id AND j.tenant_id = posts.tenant_id)"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
        for tenant in &tenants {
            query = query.bind(*tenant);
        }
        for (_, post) in &posts {
            query = query.bind(post);
        }
        for (tenant, post) in &posts {
            query = query.bind(tenant).bind(post);
        }
        deleted.posts = query
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("deleting posts without jobs"))?
            .rows_affected();
        tx.commit()
            .await
            .map_err(StoreError::db("committing a retention batch"))?;
        Ok(deleted)
    }
}

/// `DELETE FROM table WHERE column IN (ids…)`; returns the rows deleted.
async fn delete_by_ids(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &str,
    column: &str,
    ids: &[String],
    operation: &'static str,
) -> Result<u64, StoreError> {
    let list = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("DELETE FROM {table} WHERE {column} IN ({list})");
    let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
    for id in ids {
        query = query.bind(id);
    }
    Ok(query
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db(operation))?
        .rows_affected())
}

//! Accepting a post: the post and one job per target, written together, answered from what
//! was written (no read-back). On PostgreSQL the post and its jobs are one statement (its own
//! transaction: one round trip, one commit); on SQLite one `BEGIN IMMEDIATE` transaction.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::connections::PAUSED_FOR_CONNECTION;
use super::{
    Accepted, Job, JobState, Millis, NewPost, PostRecord, StoreError, TenantStore, new_id,
};

/// One target of a post with what its connection says: the plugin and whether it is usable
/// (read by the caller, who needs the plugin's manifest anyway).
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    /// The connection's plugin.
    pub plugin: String,
    /// The connection can publish now; otherwise the job is stored paused.
    pub usable: bool,
}

fn payload_hash(post: &NewPost) -> String {
    let canonical = serde_json::json!({
        "content": post.content,
        "targets": post.targets,
        "scheduled_for": post.scheduled_for,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

impl TenantStore {
    /// Accepts a post: one job per target, in one transaction. The same idempotency key with the
    /// same payload returns the stored post ([`Accepted::Existing`]); with another payload it is
    /// a [`StoreError::Conflict`]. `host_schedules` says, per plugin, whether the host holds the
    /// job until `scheduled_for` (`true`) or hands the time to the platform's native scheduling.
    pub async fn accept(
        &self,
        post: &NewPost,
        host_schedules: &(dyn Fn(&str) -> bool + Sync),
        now: Millis,
    ) -> Result<Accepted, StoreError> {
        let resolved = self.resolve_targets(post).await?;
        self.accept_resolved(post, &resolved, host_schedules, &|_, at| at, now, None)
            .await
    }

    /// Reads each target's connection (not deleted): its plugin and whether it is usable.
    pub async fn resolve_targets(&self, post: &NewPost) -> Result<Vec<ResolvedTarget>, StoreError> {
        let mut resolved = Vec::with_capacity(post.targets.len());
        for target in &post.targets {
            resolved.push(self.resolve_target(&target.connection_id).await?);
        }
        Ok(resolved)
    }

    /// Connection `id`'s plugin and whether it is usable: from the moment-long cache of usable
    /// connections when it is there (`target_cache.rs` says why that is safe), else read.
    pub async fn resolve_target(&self, id: &str) -> Result<ResolvedTarget, StoreError> {
        let targets = &self.store.targets;
        if let Some(plugin) = targets.usable(&self.tenant, id) {
            return Ok(ResolvedTarget {
                plugin,
                usable: true,
            });
        }
        let connection = self.connection(id).await?;
        let usable = connection.status.usable();
        if usable {
            targets.remember(&self.tenant, id, &connection.plugin);
        }
        Ok(ResolvedTarget {
            plugin: connection.plugin,
            usable,
        })
    }

    /// [`Self::accept`] with each target's connection already read (`resolved`, in the order of
    /// `post.targets`), storing with a new post the W3C `traceparent` of the request that
    /// accepted it (its jobs' runs link to that trace). `run_at` may put a queued job's first
    /// run later than it would be (given its connection and that time): the pipeline spaces
    /// the jobs of a scope held by its rate bucket at the bucket's rate.
    #[allow(clippy::too_many_arguments)]
    pub async fn accept_resolved(
        &self,
        post: &NewPost,
        resolved: &[ResolvedTarget],
        host_schedules: &(dyn Fn(&str) -> bool + Sync),
        run_at: &(dyn Fn(&str, Millis) -> Millis + Sync),
        now: Millis,
        traceparent: Option<&str>,
    ) -> Result<Accepted, StoreError> {
        if post.idempotency_key.is_empty() || post.idempotency_key.len() > 255 {
            return Err(StoreError::Invalid(
                "idempotency keys are 1-255 characters".into(),
            ));
        }
        if post.targets.is_empty() {
            return Err(StoreError::Invalid(
                "a post needs at least one target".into(),
            ));
        }
        if resolved.len() != post.targets.len() {
            return Err(StoreError::Invalid(
                "every target needs its connection resolved".into(),
            ));
        }
        let hash = payload_hash(post);
        let content = serde_json::to_string(&post.content)
            .map_err(|e| StoreError::Invalid(format!("content: {e}")))?;
        let post_id = new_id("post");
        let record = PostRecord {
            id: post_id.clone(),
            idempotency_key: post.idempotency_key.clone(),
            scheduled_for: post.scheduled_for,
            created_at: now,
            jobs: post
                .targets
                .iter()
                .zip(resolved)
                .map(|(target, connection)| Job {
                    tenant_id: self.tenant.clone(),
                    id: new_id("job"),
                    post_id: post_id.clone(),
                    connection_id: target.connection_id.clone(),
                    plugin: connection.plugin.clone(),
                    account_id: target.account_id.clone(),
                    content: post.content.clone(),
                    scheduled_for: post.scheduled_for,
                    state: if connection.usable {
                        JobState::Queued
                    } else {
                        JobState::Paused
                    },
                    state_reason: (!connection.usable).then(|| PAUSED_FOR_CONNECTION.to_string()),
                    attempts: 0,
                    next_run_at: run_at(
                        &target.connection_id,
                        match post.scheduled_for {
                            Some(at) if host_schedules(&connection.plugin) => at.max(now),
                            _ => now,
                        },
                    ),
                    recovery_point: None,
                    result: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                    traceparent: traceparent.map(str::to_string),
                })
                .collect(),
        };
        let stored = match (&self.store.accepts, self.store.native()) {
            (Some(group), Some(pool)) => {
                let row = super::postgres::NewPostRow {
                    tenant: self.tenant.clone(),
                    record: record.clone(),
                    hash: hash.clone(),
                    content,
                };
                match group.submit(row.clone()).await {
                    Some(stored) => stored?,
                    None => super::postgres::insert_post(pool, &row).await?,
                }
            }
            _ => self.insert_in_transaction(&record, &hash, &content).await?,
        };
        if stored {
            return Ok(Accepted::Created(record));
        }
        let row = sqlx::query(
            "SELECT id, payload_sha256 FROM posts WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(&self.tenant)
        .bind(&post.idempotency_key)
        .fetch_one(&self.store.pool)
        .await
        .map_err(StoreError::db("reading a post"))?;
        let stored: String = row.get("payload_sha256");
        if stored != hash {
            return Err(StoreError::Conflict(format!(
                "idempotency key `{}` was used for a different post",
                post.idempotency_key
            )));
        }
        Ok(Accepted::Existing(
            self.post(&row.get::<String, _>("id")).await?,
        ))
    }

    /// The post, then its jobs in one statement, in one transaction (SQLite); false when the
    /// idempotency key was taken (nothing written).
    async fn insert_in_transaction(
        &self,
        record: &PostRecord,
        hash: &str,
        content: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, scheduled_for, created_at, traceparent)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        )
        .bind(&self.tenant)
        .bind(&record.id)
        .bind(&record.idempotency_key)
        .bind(hash)
        .bind(record.scheduled_for)
        .bind(record.created_at)
        .bind(record.jobs.first().and_then(|j| j.traceparent.clone()))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("storing a post"))?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(false);
        }
        let values = job_rows(
            5,
            record.jobs.len(),
            |[id, connection, plugin, account, state, reason, run_at]| {
                format!(
                    "($1, {id}, $2, {connection}, {plugin}, {account}, $3, {state}, {reason}, 0, {run_at}, $4, $4)"
                )
            },
        );
        let sql = format!(
            "INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content, state,
                 state_reason, attempts, next_run_at, created_at, updated_at) VALUES {values}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&self.tenant)
            .bind(&record.id)
            .bind(content)
            .bind(record.created_at);
        bind_jobs(query, &record.jobs)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("storing a post's jobs"))?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a post"))?;
        Ok(true)
    }
}

/// The `VALUES` rows of `jobs` jobs, each job's seven parameters numbered from `first` in the
/// order [`bind_jobs`] binds them (id, connection, plugin, account, state, reason, due time),
/// written out by `row`.
fn job_rows(first: usize, jobs: usize, row: impl Fn([String; 7]) -> String) -> String {
    (0..jobs)
        .map(|i| row(std::array::from_fn(|k| format!("${}", first + 7 * i + k))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds each job's seven values after what `query` already binds (see [`job_rows`]).
fn bind_jobs<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    jobs: &'q [Job],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for job in jobs {
        query = query
            .bind(&job.id)
            .bind(&job.connection_id)
            .bind(&job.plugin)
            .bind(&job.account_id)
            .bind(job.state.as_str())
            .bind(job.state_reason.as_deref())
            .bind(job.next_run_at);
    }
    query
}

//! The pipeline's side of the store: claiming due jobs under a lease, what a run ended in
//! (recorded by `finish.rs`) and recovery points. Cross-tenant by nature; not reachable from
//! the tenant API.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::jobs::{JOB_COLUMNS, job_from_row};
use super::{ConnectionStatus, Job, JobTask, Millis, RunGate, Store, StoreError};
use crate::time::{Span, UnixMs};

/// A job a worker holds until `lease_until`, with the continuation due now, if any, and what
/// decides whether it may run, read with the claim.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The job (its `attempts` already counts this run).
    pub job: Job,
    /// The lease token; [`Store::finish`] only applies while it still holds.
    pub lease: String,
    /// The continuation to hand to `handle-task`; `None` runs `publish`.
    pub task: Option<JobTask>,
    /// Whether the tenant and plugin let it run.
    pub gate: RunGate,
    /// Its connection's status and token expiry; `None` when the connection is gone.
    pub connection: Option<(ConnectionStatus, Option<Millis>)>,
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
    /// Not run: its rate buckets had no room. Queued again for `at`, when they admit it; not
    /// an attempt (none is recorded and the attempt is given back).
    Held {
        /// When.
        at: Millis,
    },
}

impl FinishOutcome {
    /// The outcome as an attempt records it: `published`, `in-progress`, `retry`,
    /// `rate-limited`, `paused` or `dead` (`held` is never recorded as an attempt).
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
            FinishOutcome::Held { .. } => "held",
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

/// What a claim reads beside a job (`j`) to decide whether it may run: the tenant's standing,
/// its override for the plugin, the connection's status and expiry.
const FACT_COLUMNS: &str = "t.id AS fact_tenant, t.disabled_at AS fact_disabled_at, \
    tp.enabled AS fact_plugin_enabled, c.status AS fact_status, c.expires_at AS fact_expires_at";
const FACT_JOINS: &str = "LEFT JOIN tenants t ON t.id = j.tenant_id
    LEFT JOIN tenant_plugins tp ON tp.tenant_id = j.tenant_id AND tp.plugin = j.plugin
    LEFT JOIN connections c ON c.tenant_id = j.tenant_id AND c.id = j.connection_id AND c.deleted_at IS NULL";

/// Reads [`FACT_COLUMNS`]: as [`TenantStore::run_gate`](super::TenantStore::run_gate) and
/// [`TenantStore::connection`](super::TenantStore::connection) would answer.
fn facts_from_row(row: &AnyRow) -> (RunGate, Option<(ConnectionStatus, Option<Millis>)>) {
    let gate = RunGate {
        tenant_disabled: row.get::<Option<String>, _>("fact_tenant").is_none()
            || row.get::<Option<Millis>, _>("fact_disabled_at").is_some(),
        plugin_enabled: row
            .get::<Option<i64>, _>("fact_plugin_enabled")
            .map(|e| e != 0),
    };
    let connection = row.get::<Option<String>, _>("fact_status").map(|status| {
        // An unknown word is not usable: the job pauses rather than runs.
        let status = ConnectionStatus::parse(&status).unwrap_or(ConnectionStatus::Revoked);
        (status, row.get::<Option<Millis>, _>("fact_expires_at"))
    });
    (gate, connection)
}

/// Tenants and connections whose queued jobs a claim leaves alone for now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldScopes {
    /// Tenants whose egress ceiling has no room.
    pub tenants: Vec<String>,
    /// (tenant, connection) pairs whose bucket has no room.
    pub connections: Vec<(String, String)>,
    /// Plugins that can start only so many more calls in this process: a claim takes at most
    /// that many of their queued jobs (none at 0), so a busy plugin's backlog does not fill
    /// job slots only to be handed back.
    pub plugins: Vec<(String, u32)>,
    /// Scopes whose hold has just ended: their bucket admits about `room` runs now, so a claim
    /// takes at most that many of their queued jobs rather than a claim's worth only to hand
    /// the rest back. `(tenant, connection, room)`; no connection for the tenant's ceiling.
    pub limited: Vec<(String, Option<String>, u32)>,
}

impl HeldScopes {
    /// The limited scopes of tenants' ceilings, then those of connections, each with its room
    /// (the order [`due_jobs`] numbers and [`bind_held`] binds them in).
    fn limited_in_order(&self) -> impl Iterator<Item = (&str, Option<&str>, u32)> {
        let tenants = self.limited.iter().filter(|l| l.1.is_none());
        let connections = self.limited.iter().filter(|l| l.1.is_some());
        tenants
            .chain(connections)
            .map(|(t, c, room)| (t.as_str(), c.as_deref(), *room))
    }
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

/// A claimed job from a row of [`JOB_COLUMNS`] and [`FACT_COLUMNS`], with its due continuation.
fn claimed_from_row(row: &AnyRow, lease: &str, task: Option<JobTask>) -> Claimed {
    let (gate, connection) = facts_from_row(row);
    Claimed {
        job: job_from_row(row),
        lease: lease.to_string(),
        task,
        gate,
        connection,
    }
}

/// ` AND tenant_id NOT IN (…)` for `tenants` tenants and ` AND (tenant_id, connection_id) NOT
/// IN (VALUES …)` for `pairs` pairs, numbered from `*next` (advanced past them); with each
/// tenant's and each pair's placeholders.
fn exclusion(tenants: usize, pairs: usize, next: &mut usize) -> (String, Vec<String>) {
    let mut clause = String::new();
    let mut names: Vec<String> = (*next..*next + tenants).map(|i| format!("${i}")).collect();
    if tenants > 0 {
        clause.push_str(&format!(" AND tenant_id NOT IN ({})", names.join(", ")));
    }
    *next += tenants;
    if pairs > 0 {
        let rows: Vec<String> = (0..pairs)
            .map(|i| format!("(${}, ${})", *next + 2 * i, *next + 2 * i + 1))
            .collect();
        clause.push_str(&format!(
            " AND (tenant_id, connection_id) NOT IN (VALUES {})",
            rows.join(", ")
        ));
        names.extend(rows);
    }
    *next += 2 * pairs;
    (clause, names)
}

/// The ids of up to `$4` jobs due at `$3`, earliest first: queued ones (except those of the
/// `held` scopes, bound from `$5` on; at most its room of a plugin short of room and of a scope
/// whose hold just ended) and running ones whose lease ended (their worker died). Each kind is
/// an ordered scan of its own partial index (`jobs_queued`, `jobs_leases`, a limited scope's
/// `jobs_queued_by_tenant`) that stops at its limit, so a claim reads about `2 x limit` rows
/// however many are due, plus the queued jobs of held and limited scopes and of plugins short
/// of room that are older than what it takes (the scan walks past them). SQLite's: its one
/// writer makes the claim atomic without row locks (PostgreSQL's claim is `postgres/claim.sql`).
fn due_jobs(held: &HeldScopes) -> String {
    let mut next = 5;
    let (held_except, _) = exclusion(held.tenants.len(), held.connections.len(), &mut next);
    let limited_tenants = held.limited.iter().filter(|l| l.1.is_none()).count();
    let (limited_except, limited) = exclusion(
        limited_tenants,
        held.limited.len() - limited_tenants,
        &mut next,
    );
    let queued = |except: &str, only: &str, limit: &str, name: &str| {
        format!(
            "SELECT id, next_run_at FROM (SELECT id, next_run_at FROM jobs
                 WHERE state = 'queued' AND next_run_at <= $3{except}{only}
                 ORDER BY next_run_at LIMIT {limit}) AS {name}"
        )
    };
    // A plugin short of room or a limited scope: left out of the main scan, and scanned on its
    // own up to its room (bound after the plugins' names).
    let except = format!("{held_except}{limited_except}");
    let plugins = held.plugins.len();
    let mut scans = vec![if plugins == 0 {
        queued(&except, "", "$4", "queued")
    } else {
        queued(
            &except,
            &format!(" AND plugin NOT IN ({})", placeholders(next, plugins)),
            "$4",
            "queued",
        )
    }];
    for i in 0..plugins {
        scans.push(queued(
            &except,
            &format!(" AND plugin = ${}", next + i),
            &format!("${}", next + plugins + i),
            &format!("room_{i}"),
        ));
    }
    next += 2 * plugins;
    for (i, scope) in limited.iter().enumerate() {
        let only = match i < limited_tenants {
            true => format!(" AND tenant_id = {scope}"),
            false => format!(" AND (tenant_id, connection_id) = {scope}"),
        };
        scans.push(queued(
            &held_except,
            &only,
            &format!("${}", next + i),
            &format!("limited_{i}"),
        ));
    }
    format!(
        "SELECT id FROM (
             {queued}
             UNION ALL
             SELECT id, next_run_at FROM (SELECT id, next_run_at FROM jobs
                 WHERE state = 'running' AND lease_until < $3
                 ORDER BY lease_until LIMIT $4) AS abandoned) AS due
         ORDER BY next_run_at LIMIT $4",
        queued = scans.join("\n             UNION ALL\n             "),
    )
}

/// Binds the `held` scopes as [`due_jobs`] numbers them, after the claim's first four values.
fn bind_held<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    held: &'q HeldScopes,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for tenant in &held.tenants {
        query = query.bind(tenant);
    }
    for (tenant, connection) in &held.connections {
        query = query.bind(tenant).bind(connection);
    }
    for (tenant, connection, _) in held.limited_in_order() {
        query = query.bind(tenant);
        if let Some(connection) = connection {
            query = query.bind(connection);
        }
    }
    for (plugin, _) in &held.plugins {
        query = query.bind(plugin);
    }
    for (_, room) in &held.plugins {
        query = query.bind(i64::from(*room));
    }
    for (_, _, room) in held.limited_in_order() {
        query = query.bind(i64::from(room));
    }
    query
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
        self.claim_due_except(worker, now, lease_ms, limit, &HeldScopes::default())
            .await
    }

    /// [`Store::claim_due`], leaving queued jobs of the `held` tenants and connections where
    /// they are (their rate buckets have no room: running them now would be futile).
    pub async fn claim_due_except(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        limit: u32,
        held: &HeldScopes,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lease = format!("{worker}/{}", uuid::Uuid::now_v7().simple());
        if let Some(pool) = self.native() {
            // One round trip: the claim returns everything a run needs.
            let until = lease_until(now, lease_ms);
            return super::postgres::claim(pool, &lease, until, now, limit, held).await;
        }
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id IN ({})
             RETURNING id",
            due_jobs(held)
        );
        let query = sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(&lease)
            .bind(lease_until(now, lease_ms))
            .bind(now)
            .bind(limit as i64);
        let ids = bind_held(query, held)
            .fetch_all(&self.writer)
            .await
            .map_err(StoreError::db("claiming due jobs"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        self.load_claimed(ids, lease, now).await
    }

    /// Claims those of `ids` that are still due (the job ran, was cancelled, or another worker
    /// holds it otherwise): for tools and tests that need particular jobs running.
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
            .fetch_all(&self.writer)
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
            "SELECT {JOB_COLUMNS}, {FACT_COLUMNS} FROM jobs j
             JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id {FACT_JOINS}
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
                let id: String = row.get("id");
                let task = tasks
                    .iter()
                    .find(|t| t.get::<String, _>("job_id") == id)
                    .map(|t| JobTask {
                        id: t.get("id"),
                        job_id: t.get("job_id"),
                        kind: t.get("kind"),
                        payload: t.get("payload"),
                        run_at: t.get("run_at"),
                    });
                claimed_from_row(row, &lease, task)
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
        let found = match self.native() {
            Some(pool) => super::postgres::checkpoint(pool, job, recovery_point, now).await?,
            None => {
                sqlx::query("UPDATE jobs SET recovery_point = $2, updated_at = $3 WHERE id = $1")
                    .bind(job)
                    .bind(recovery_point)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map_err(StoreError::db("recording a recovery point"))?
                    .rows_affected()
                    == 1
            }
        };
        if found {
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
        if let Some(pool) = self.native() {
            return super::postgres::checkpoint_many(pool, points).await;
        }
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

//! The hot statements as the host issues them (the SQL of `store/pipeline.rs`, `finish.rs`,
//! `accept.rs`, `jobs.rs` and `retention.rs`, with the parameter types sqlx binds: `String` as text, `i64`
//! as bigint), each with the arguments one run of it would have on the data of `fill.rs`, and
//! the foreign-key checks PostgreSQL runs for them (the query text of its `ri_triggers.c`).

use super::fill::{DAY, NOW, due_job, job, post, running_job, tenant_of};

/// One statement: `PREPARE name(types) AS sql`, then `EXECUTE name(args)`.
pub struct Statement {
    pub name: &'static str,
    pub types: Vec<&'static str>,
    pub sql: String,
    pub args: Vec<String>,
    /// Also checked on plans cached before the tables had statistics: a lookup by key that the
    /// indexes alone must keep selective (the others need statistics, which the host refreshes).
    pub without_statistics: bool,
    /// Most buffers (shared, hit or read) one run may touch.
    pub bound: i64,
    /// A statement (by name) run first in the same transaction, unmeasured.
    pub after: Option<&'static str>,
}

fn text(value: &str) -> String {
    format!("'{value}'")
}

fn ids(n: usize, from: usize) -> (Vec<&'static str>, String) {
    let list = (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    (vec!["text"; n], list)
}

const JOB_COLUMNS: &str = "j.tenant_id, j.id, j.post_id, j.connection_id, j.plugin, j.account_id, \
    j.content, p.scheduled_for, j.state, j.state_reason, j.attempts, j.next_run_at, j.recovery_point, j.result, \
    j.last_error, j.created_at, j.updated_at, j.deleted_at, p.traceparent";

/// The statements for the data of `fill.rs` spread over `tenants` tenants.
pub fn all(tenants: u64) -> Vec<Statement> {
    let t = |i: u64| tenant_of(i, tenants);
    let running = running_job();
    let due: Vec<u64> = (0..8).map(due_job).collect();
    let due_ids: Vec<String> = due.iter().map(|&i| text(&job(i))).collect();
    let batch = postd_host::store::RETENTION_BATCH;
    // Published jobs (with one attempt each, and no continuation or dead letter), as many as a
    // retention batch deletes.
    let old: Vec<String> = (0..batch as u64).map(|k| text(&job(20_500 + k))).collect();
    let (load_types, load_list) = ids(8, 1);
    let (old_types, old_list) = ids(batch, 1);
    let statements = vec![
        Statement {
            name: "claim due jobs",
            types: vec!["text", "bigint", "bigint", "bigint"],
            sql: "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM jobs
                 WHERE (state = 'queued' AND next_run_at <= $3) OR (state = 'running' AND lease_until < $3)
                 ORDER BY next_run_at LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id".into(),
            args: vec![text("w2/l"), (NOW + 120_000).to_string(), NOW.to_string(), "32".into()],
            without_statistics: false,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "claim due jobs, one tenant held (its egress ceiling is full)",
            types: vec!["text", "bigint", "bigint", "bigint", "text"],
            sql: "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM jobs
                 WHERE (state = 'queued' AND next_run_at <= $3 AND tenant_id NOT IN ($5)) OR (state = 'running' AND lease_until < $3)
                 ORDER BY next_run_at LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id".into(),
            args: vec![text("w2/l"), (NOW + 120_000).to_string(), NOW.to_string(), "32".into(), text("t0")],
            without_statistics: false,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "read claimed jobs",
            types: load_types.clone(),
            sql: format!("SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.id IN ({load_list})"),
            args: due_ids.clone(),
            without_statistics: false,
            bound: 200,
            after: None,
        },
        Statement {
            name: "read claimed jobs' continuations",
            types: [load_types, vec!["bigint"]].concat(),
            sql: format!("SELECT id, job_id, kind, payload, run_at FROM job_tasks WHERE job_id IN ({load_list}) AND run_at <= $9
             ORDER BY run_at, id"),
            args: [due_ids, vec![NOW.to_string()]].concat(),
            without_statistics: false,
            bound: 100,
            after: None,
        },
        Statement {
            name: "finish: the job's outcome",
            types: vec!["text", "text", "text", "bigint", "bigint", "text", "text", "text", "bigint", "text"],
            sql: "UPDATE jobs SET state = $3, next_run_at = COALESCE($4, next_run_at), attempts = attempts + $5,
                 state_reason = $6, result = COALESCE($7, result), last_error = COALESCE($8, last_error),
                 lease_owner = NULL, lease_until = NULL, announced_at = NULL, updated_at = $9
             WHERE tenant_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $10".into(),
            args: vec![text(&t(running)), text(&job(running)), text("published"), "NULL".into(), "0".into(),
                "NULL".into(), text("{}"), "NULL".into(), NOW.to_string(), text("w/lease")],
            without_statistics: true,
            bound: 100,
            after: None,
        },
        Statement {
            name: "finish: the attempt",
            types: vec!["text", "text", "text", "bigint", "text", "text", "bigint", "bigint", "bigint", "text", "text", "text", "text"],
            sql: "INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker, started_at, latency_ms, fuel,
                 outcome, error_code, error, trace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)".into(),
            args: vec![text(&t(running)), text("att_bench"), text(&job(running)), "1".into(), text("publish"), text("w"),
                NOW.to_string(), "5".into(), "1000".into(), text("published"), "NULL".into(), "NULL".into(), "NULL".into()],
            without_statistics: true,
            bound: 100,
            after: None,
        },
        Statement {
            name: "finish: the attempt's foreign-key check on jobs",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"jobs\" x WHERE \"tenant_id\" OPERATOR(pg_catalog.=) $1 AND \"id\" OPERATOR(pg_catalog.=) $2 FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "finish: clearing continuations",
            types: vec!["text", "text"],
            sql: "DELETE FROM job_tasks WHERE tenant_id = $1 AND job_id = $2".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "recovery point",
            types: vec!["text", "text", "bigint"],
            sql: "UPDATE jobs SET recovery_point = $2, updated_at = $3 WHERE id = $1".into(),
            args: vec![text(&job(running)), text("step-2"), NOW.to_string()],
            without_statistics: true,
            bound: 100,
            after: None,
        },
        Statement {
            name: "accept: the post and its job, one statement",
            types: vec!["text", "text", "text", "text", "bigint", "bigint", "text", "text", "text", "text", "text",
                "text", "text", "bigint", "text"],
            sql: "WITH post AS (
                 INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, scheduled_for, created_at, traceparent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
                 RETURNING id),
             jobs AS (
                 INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content, state,
                     state_reason, attempts, next_run_at, created_at, updated_at)
                 SELECT $1, v.id, post.id, v.connection_id, v.plugin, v.account_id, $15, v.state,
                     v.reason, 0, v.run_at, $6, $6
                 FROM post CROSS JOIN (VALUES ($8, $9, $10, $11, $12, $13, $14::BIGINT))
                     AS v (id, connection_id, plugin, account_id, state, reason, run_at))
             SELECT COUNT(*) FROM post".into(),
            args: vec![text(&t(running)), text("post_bench"), text("bench-key"), text("x"), "NULL".into(),
                NOW.to_string(), "NULL".into(), text("job_bench"), text(&format!("conn_{}", t(running))),
                text("pipeline"), text("acct"), text("queued"), "NULL".into(), NOW.to_string(), text("{}")],
            without_statistics: true,
            bound: 100,
            after: None,
        },
        Statement {
            name: "accept: the target connection",
            types: vec!["text", "text"],
            sql: "SELECT tenant_id, id, plugin, status FROM connections WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL".into(),
            args: vec![text(&t(running)), text(&format!("conn_{}", t(running)))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "accept: the job's foreign-key check on posts",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"posts\" x WHERE \"tenant_id\" OPERATOR(pg_catalog.=) $1 AND \"id\" OPERATOR(pg_catalog.=) $2 FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&post(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "accept again (same key): reading the post",
            types: vec!["text", "text"],
            sql: "SELECT id, idempotency_key, scheduled_for, created_at FROM posts WHERE tenant_id = $1 AND id = $2".into(),
            args: vec![text(&t(running)), text(&post(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "accept again (same key): reading the post's jobs",
            types: vec!["text", "text"],
            sql: format!("SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.tenant_id = $1 AND j.post_id = $2 ORDER BY j.id"),
            args: vec![text(&t(running)), text(&post(running))],
            without_statistics: false,
            bound: 50,
            after: None,
        },
        Statement {
            name: "retention: a batch of finished jobs",
            types: vec!["bigint", "bigint"],
            sql: "SELECT tenant_id, id, post_id FROM jobs
             WHERE state IN ('published', 'cancelled', 'deleted') AND created_at < $1 AND updated_at < $1
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED".into(),
            args: vec![(NOW - 30 * DAY).to_string(), batch.to_string()],
            without_statistics: false,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "retention: their attempts",
            types: old_types.clone(),
            sql: format!("DELETE FROM job_attempts WHERE job_id IN ({old_list})"),
            args: old.clone(),
            without_statistics: false,
            bound: 6_000,
            after: None,
        },
        Statement {
            name: "retention: the jobs",
            types: old_types,
            sql: format!("DELETE FROM jobs WHERE id IN ({old_list})"),
            args: old,
            without_statistics: false,
            bound: 10_000,
            after: Some("retention: their attempts"),
        },
        Statement {
            name: "retention: a deleted job's foreign-key check on attempts",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"job_attempts\" x WHERE $1 OPERATOR(pg_catalog.=) \"tenant_id\" AND $2 OPERATOR(pg_catalog.=) \"job_id\" FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "retention: a deleted job's foreign-key check on continuations",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"job_tasks\" x WHERE $1 OPERATOR(pg_catalog.=) \"tenant_id\" AND $2 OPERATOR(pg_catalog.=) \"job_id\" FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "retention: a deleted job's foreign-key check on dead letters",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"dead_letters\" x WHERE $1 OPERATOR(pg_catalog.=) \"tenant_id\" AND $2 OPERATOR(pg_catalog.=) \"job_id\" FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: true,
            bound: 20,
            after: None,
        },
        Statement {
            name: "API: a page of a tenant's jobs",
            types: vec!["text", "text", "bigint", "text"],
            sql: format!("SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.tenant_id = $1 AND ($2 IS NULL OR j.state = $2) AND ($4 IS NULL OR j.id < $4)
             ORDER BY j.id DESC LIMIT $3"),
            args: vec![text(&t(running)), "NULL".into(), "100".into(), "NULL".into()],
            without_statistics: false,
            bound: 2_000,
            after: None,
        },
    ];
    for statement in &statements {
        assert_eq!(
            statement.types.len(),
            statement.args.len(),
            "{}",
            statement.name
        );
    }
    statements
}

//! The hot statements as the host issues them on PostgreSQL (the claim from the store itself;
//! the SQL of `finish_statement.rs`, `accept.rs`, `jobs.rs` and `retention.rs` copied: keep
//! them in step;
//! with the parameter types sqlx binds: `String` as text, `i64` as bigint), each with the
//! arguments one run of it would have on the data of `fill.rs`, and the foreign-key checks
//! PostgreSQL runs for them (the query text of its `ri_triggers.c`).

use super::fill::{DAY, NOW, job, post, running_job, tenant_of};

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

/// The claim on PostgreSQL as the store issues it, leaving the queued jobs of `held` tenants
/// alone.
fn claim(held: &[&str]) -> String {
    postd_host::store::postgres_claim_sql(&postd_host::store::HeldScopes {
        tenants: held.iter().map(|t| t.to_string()).collect(),
        ..postd_host::store::HeldScopes::default()
    })
}

/// A published run's outcome on PostgreSQL (`store/finish_statement.rs`): the job's update under
/// its lease, the attempt, its continuations cleared and the `post.published` event for the
/// tenant's endpoints, in one statement.
const FINISH: &str = "WITH moved AS (UPDATE jobs SET state = $5, next_run_at = COALESCE($6::BIGINT, next_run_at),
         attempts = attempts + $7::BIGINT, state_reason = $8, result = COALESCE($9, result),
         last_error = COALESCE($4, last_error), lease_owner = NULL, lease_until = NULL,
         updated_at = $3::BIGINT
     WHERE tenant_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $10
     RETURNING id),
 attempt AS (INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker,
         started_at, latency_ms, fuel, outcome, error_code, error, trace_id)
     SELECT $1, $11, id, $12::BIGINT, $13, $14, $15::BIGINT, $16::BIGINT, $17::BIGINT, $18, $19, $4, $20 FROM moved),
 cleared AS (DELETE FROM job_tasks WHERE tenant_id = $1 AND job_id = $2 AND EXISTS (SELECT 1 FROM moved)),
 told AS (INSERT INTO event_deliveries (tenant_id, endpoint_id, event_id, event_type,
         ordering_key, payload, state, attempts, next_attempt_at, window_start, created_at)
     SELECT tenant_id, id, $22, $21, $23, $24, 'pending', 0, $3::BIGINT, $3::BIGINT, $3::BIGINT
     FROM event_endpoints WHERE tenant_id = $1
         AND enabled = 1 AND (event_types = ' * ' OR event_types LIKE '% ' || $21 || ' %')
         AND EXISTS (SELECT 1 FROM moved))
 SELECT COUNT(*) FROM moved";

/// The statements for the data of `fill.rs` spread over `tenants` tenants.
pub fn all(tenants: u64) -> Vec<Statement> {
    let t = |i: u64| tenant_of(i, tenants);
    let running = running_job();
    let batch = postd_host::store::RETENTION_BATCH;
    // Published jobs (with one attempt each, and no continuation or dead letter), as many as a
    // retention batch deletes.
    let old: Vec<String> = (0..batch as u64).map(|k| text(&job(20_500 + k))).collect();
    let (old_types, old_list) = ids(batch, 1);
    let statements = vec![
        Statement {
            name: "claim due jobs, one statement",
            types: vec!["text", "bigint", "bigint", "bigint"],
            sql: claim(&[]),
            args: vec![
                text("w2/l"),
                (NOW + 120_000).to_string(),
                NOW.to_string(),
                "32".into(),
            ],
            without_statistics: false,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "claim due jobs, one tenant held (its egress ceiling is full)",
            types: vec!["text", "bigint", "bigint", "bigint", "text"],
            sql: claim(&["t0"]),
            args: vec![
                text("w2/l"),
                (NOW + 120_000).to_string(),
                NOW.to_string(),
                "32".into(),
                text("t0"),
            ],
            without_statistics: false,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "finish (published), one statement",
            types: vec![
                "text", "text", "bigint", "text", "text", "bigint", "bigint", "text", "text", "text",
                "text", "bigint", "text", "text", "bigint", "bigint", "bigint", "text", "text", "text",
                "text", "text", "text", "text",
            ],
            sql: FINISH.into(),
            args: [
                vec![text(&t(running)), text(&job(running)), NOW.to_string(), "NULL".into()],
                vec![text("published"), "NULL".into(), "0".into(), "NULL".into(), text("{}")],
                vec![text("w/lease"), text("att_bench"), "1".into(), text("publish"), text("w")],
                vec![NOW.to_string(), "5".into(), "1000".into(), text("published"), "NULL".into()],
                vec!["NULL".into(), text("post.published"), text("evt_bench"), text(&post(running))],
                vec![text("{}")],
            ]
            .concat(),
            without_statistics: true,
            bound: 150,
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

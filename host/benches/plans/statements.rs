//! The hot statements as the host issues them on PostgreSQL (the claim, the outcome and the
//! accept from the store itself; the SQL of `jobs.rs` and `retention.rs` copied: keep them in
//! step;
//! with the parameter types sqlx binds: `String` as text, `i64` as bigint), each with the
//! arguments one run of it would have on the data of `fill.rs`, and the foreign-key checks
//! PostgreSQL runs for them (the query text of its `ri_triggers.c`).

use super::fill::{DAY, NOW, RUNNING, job, post, running_job, tenant_of};

/// One statement: `PREPARE name(types) AS sql`, then `EXECUTE name(args)`.
pub struct Statement {
    pub name: &'static str,
    pub types: Vec<&'static str>,
    pub sql: String,
    pub args: Vec<String>,
    /// Also checked on plans cached before the tables had statistics, with this bound: a lookup
    /// by key that the indexes alone must keep selective (the others need statistics, which the
    /// host refreshes).
    pub without_statistics: Option<i64>,
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

/// An array parameter of `kind` (`text`, `bigint`) holding `values` (SQL literals).
fn array(kind: &str, values: &[String]) -> String {
    format!("ARRAY[{}]::{kind}[]", values.join(", "))
}

/// The claim's arguments after the first four: `held` tenants, no held connection, no plugin
/// short of room, no limited scope.
fn claim_scopes(held: &[&str]) -> Vec<String> {
    let none = || array("text", &[]);
    vec![
        array("text", &held.iter().map(|t| text(t)).collect::<Vec<_>>()),
        none(),
        none(),
        none(),
        array("bigint", &[]),
        none(),
        none(),
        array("bigint", &[]),
    ]
}

const CLAIM_TYPES: [&str; 12] = [
    "text", "bigint", "bigint", "bigint", "text[]", "text[]", "text[]", "text[]", "bigint[]",
    "text[]", "text[]", "bigint[]",
];

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
            types: CLAIM_TYPES.to_vec(),
            sql: postd_host::store::POSTGRES_CLAIM_SQL.into(),
            args: [
                vec![text("w2/l"), (NOW + 120_000).to_string(), NOW.to_string(), "32".into()],
                claim_scopes(&[]),
            ]
            .concat(),
            without_statistics: None,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "claim due jobs, one tenant held (its egress ceiling is full)",
            types: CLAIM_TYPES.to_vec(),
            sql: postd_host::store::POSTGRES_CLAIM_SQL.into(),
            args: [
                vec![text("w2/l"), (NOW + 120_000).to_string(), NOW.to_string(), "32".into()],
                claim_scopes(&["t0"]),
            ]
            .concat(),
            without_statistics: None,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "finish (published), one statement",
            types: [
                ["text[]"; 4].as_slice(),
                &["bigint[]"; 2],
                &["text[]"; 3],
                &["bigint[]"],
                &["text[]"; 2],
                &["bigint[]"],
                &["text[]"; 2],
                &["bigint[]"; 3],
                &["text[]"; 3],
                &["text[]"; 3],
                &["text[]"; 4],
                &["bigint[]"],
                &["text[]"; 4],
                &["bigint[]"],
                &["text[]"; 5],
            ]
            .concat(),
            sql: postd_host::store::POSTGRES_FINISH_SQL.into(),
            args: {
                let texts = |v: String| array("text", &[v]);
                let ints = |v: String| array("bigint", &[v]);
                let none = |kind: &str| array(kind, &[]);
                let j = text(&job(running));
                [
                    vec![texts(text(&t(running))), texts(j.clone()), texts(text("w/lease"))],
                    vec![texts(text("published")), ints("NULL".into()), ints("0".into())],
                    vec![texts("NULL".into()), texts(text("{}")), texts("NULL".into())],
                    vec![ints(NOW.to_string())],
                    vec![texts(j.clone()), texts(text("att_bench")), ints("1".into())],
                    vec![texts(text("publish")), texts(text("w")), ints(NOW.to_string())],
                    vec![ints("5".into()), ints("1000".into()), texts(text("published"))],
                    vec![texts("NULL".into()), texts("NULL".into())],
                    vec![texts(j.clone()), none("text"), none("text")],
                    vec![none("text"), none("text"), none("text"), none("text"), none("bigint")],
                    vec![none("text"), none("text"), none("text"), none("text"), none("bigint")],
                    vec![texts(j), texts(text("evt_bench")), texts(text("post.published"))],
                    vec![texts(text(&post(running))), texts(text("{}"))],
                ]
                .concat()
            },
            // Before statistics no plan of a batch can tell a key from a scan (the planner
            // costs an array as ten rows against a table it takes for ten pages), so the
            // update reads the running jobs whole (`jobs_running`, migration 0019): what a
            // cached plan costs grows with the work in flight, never with the table. About a
            // buffer per running job, and the index's pages.
            without_statistics: Some(2 * RUNNING as i64 + 50),
            bound: 150,
            after: None,
        },
        Statement {
            name: "finish: the attempt's foreign-key check on jobs",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"jobs\" x WHERE \"tenant_id\" OPERATOR(pg_catalog.=) $1 AND \"id\" OPERATOR(pg_catalog.=) $2 FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: Some(20),
            bound: 20,
            after: None,
        },
        Statement {
            name: "recovery point",
            types: vec!["text", "text", "bigint"],
            sql: "UPDATE jobs SET recovery_point = $2, updated_at = $3 WHERE id = $1".into(),
            args: vec![text(&job(running)), text("step-2"), NOW.to_string()],
            without_statistics: Some(100),
            bound: 100,
            after: None,
        },
        Statement {
            name: "accept: the post and its job, one statement",
            types: [
                ["text[]"; 4].as_slice(),
                &["bigint[]"; 2],
                &["text[]"; 9],
                &["bigint[]"],
            ]
            .concat(),
            sql: postd_host::store::POSTGRES_ACCEPT_SQL.into(),
            args: {
                let texts = |v: String| array("text", &[v]);
                let ints = |v: String| array("bigint", &[v]);
                vec![texts(text(&t(running))), texts(text("post_bench")), texts(text("bench-key")),
                    texts(text("x")), ints("NULL".into()), ints(NOW.to_string()), texts("NULL".into()),
                    texts(text("{}")), texts(text("post_bench")), texts(text("job_bench")),
                    texts(text(&format!("conn_{}", t(running)))), texts(text("pipeline")),
                    texts(text("acct")), texts(text("queued")), texts("NULL".into()),
                    ints(NOW.to_string())]
            },
            without_statistics: Some(100),
            bound: 100,
            after: None,
        },
        Statement {
            name: "accept: the target connection",
            types: vec!["text", "text"],
            sql: "SELECT tenant_id, id, plugin, status FROM connections WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL".into(),
            args: vec![text(&t(running)), text(&format!("conn_{}", t(running)))],
            without_statistics: Some(20),
            bound: 20,
            after: None,
        },
        Statement {
            name: "accept: the job's foreign-key check on posts",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"posts\" x WHERE \"tenant_id\" OPERATOR(pg_catalog.=) $1 AND \"id\" OPERATOR(pg_catalog.=) $2 FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&post(running))],
            without_statistics: Some(20),
            bound: 20,
            after: None,
        },
        Statement {
            name: "accept again (same key): reading the post",
            types: vec!["text", "text"],
            sql: "SELECT id, idempotency_key, scheduled_for, created_at FROM posts WHERE tenant_id = $1 AND id = $2".into(),
            args: vec![text(&t(running)), text(&post(running))],
            without_statistics: Some(20),
            bound: 20,
            after: None,
        },
        Statement {
            name: "accept again (same key): reading the post's jobs",
            types: vec!["text", "text"],
            sql: format!("SELECT {JOB_COLUMNS} FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
             WHERE j.tenant_id = $1 AND j.post_id = $2 ORDER BY j.id"),
            args: vec![text(&t(running)), text(&post(running))],
            without_statistics: None,
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
            without_statistics: None,
            bound: 3_000,
            after: None,
        },
        Statement {
            name: "retention: their attempts",
            types: old_types.clone(),
            sql: format!("DELETE FROM job_attempts WHERE job_id IN ({old_list})"),
            args: old.clone(),
            without_statistics: None,
            bound: 6_000,
            after: None,
        },
        Statement {
            name: "retention: the jobs",
            types: old_types,
            sql: format!("DELETE FROM jobs WHERE id IN ({old_list})"),
            args: old,
            without_statistics: None,
            bound: 10_000,
            after: Some("retention: their attempts"),
        },
        Statement {
            name: "retention: a deleted job's foreign-key check on attempts",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"job_attempts\" x WHERE $1 OPERATOR(pg_catalog.=) \"tenant_id\" AND $2 OPERATOR(pg_catalog.=) \"job_id\" FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: Some(20),
            bound: 20,
            after: None,
        },
        Statement {
            name: "retention: a deleted job's foreign-key check on continuations",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"job_tasks\" x WHERE $1 OPERATOR(pg_catalog.=) \"tenant_id\" AND $2 OPERATOR(pg_catalog.=) \"job_id\" FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: Some(20),
            bound: 20,
            after: None,
        },
        Statement {
            name: "retention: a deleted job's foreign-key check on dead letters",
            types: vec!["text", "text"],
            sql: "SELECT 1 FROM ONLY \"public\".\"dead_letters\" x WHERE $1 OPERATOR(pg_catalog.=) \"tenant_id\" AND $2 OPERATOR(pg_catalog.=) \"job_id\" FOR KEY SHARE OF x".into(),
            args: vec![text(&t(running)), text(&job(running))],
            without_statistics: Some(20),
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
            without_statistics: None,
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

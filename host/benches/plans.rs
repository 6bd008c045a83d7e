//! Plans at scale: the hot statements' PostgreSQL plans at 1,000,000 jobs, held by one tenant
//! and spread over 1,000 tenants. Each statement is prepared as the host issues it and run
//! under `plan_cache_mode = force_generic_plan` (the generic plan a connection caches after a
//! few executions, and what foreign-key checks use), with `EXPLAIN (ANALYZE, BUFFERS, FORMAT
//! JSON)` inside a transaction that is rolled back.
//!
//! Two states per distribution:
//! - **cached on empty tables**: the plans were made right after migrating, before any row
//!   existed, and kept while the tables filled (nothing invalidates them: PostgreSQL's
//!   autovacuum is off for these tables). The lookups by key must stay selective from the
//!   indexes alone, since no statistics tell `tenant_id = $1` from a key;
//! - **after the statistics refresh**: the maintenance pass's `Store::analyze_stale_tables`
//!   analyzed the tables that filled, which re-plans everything. Every statement must be
//!   selective.
//!
//! A checked statement that scans a large table sequentially or touches more buffers than its
//! bound fails the run (after `bench/out/plans.json` is written). `PLANS_MIGRATIONS_UP_TO=11`
//! measures the schema before migration 0012, for comparison. Needs PostgreSQL at
//! 127.0.0.1:5432 (`make services`); creates and drops its own `postd_bench_plans_*` database.
//! The large tables are unlogged and autovacuum is off for the bench's tables (see below).

#[path = "plans/fill.rs"]
mod fill;
#[path = "plans/statements.rs"]
mod statements;

use std::time::Instant;

use postd_host::store::Store;
use serde_json::{Value, json};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};
use statements::Statement;

/// PostgreSQL's administrative URL on this machine.
const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// (label, tenants) of the distributions.
const DISTRIBUTIONS: &[(&str, u64)] = &[("one tenant", 1), ("1,000 tenants", 1_000)];
/// The large tables, referencing ones first: a sequential scan of one fails a check (tenants
/// and connections hold one row per tenant here, where scanning may be the best plan).
const LARGE: &[&str] = &["job_attempts", "job_tasks", "dead_letters", "jobs", "posts"];
/// The tables the data fills.
const TABLES: &[&str] = &[
    "tenants",
    "connections",
    "posts",
    "jobs",
    "job_attempts",
    "job_tasks",
    "dead_letters",
];

/// Creates database `name` afresh (dropping a leftover of the same name) and returns its URL;
/// with `drop_only`, only drops it.
async fn database(name: &str, drop_only: bool) -> String {
    let mut admin = PgConnection::connect(POSTGRES_ADMIN)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (make services)");
    // Leftovers of runs that ended without dropping theirs (a panic), by their process id.
    let leftovers: Vec<String> = sqlx::query_scalar(
        "SELECT datname::TEXT FROM pg_database WHERE datname LIKE 'postd_bench_plans_%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    for leftover in leftovers {
        let pid = leftover.trim_start_matches("postd_bench_plans_");
        if leftover == name || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            sql(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS {leftover} WITH (FORCE)"),
            )
            .await;
        }
    }
    if !drop_only {
        sql(&mut admin, &format!("CREATE DATABASE {name}")).await;
    }
    format!("postgres://postgres@127.0.0.1:5432/{name}")
}

async fn sql(conn: &mut PgConnection, statement: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{e}: {statement}"));
}

fn execute(k: usize, statement: &Statement) -> String {
    format!("EXECUTE s{k}({})", statement.args.join(", "))
}

/// Applies the migrations numbered up to `last` (the "before" schema) from the files.
async fn migrate_up_to(conn: &mut PgConnection, last: u32) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let number: u32 = name[..4].parse().unwrap();
        if number <= last {
            sql(conn, &std::fs::read_to_string(&file).unwrap()).await;
        }
    }
}

/// One statement's run: its figures as JSON, and why it failed its check, if it did.
async fn measure(
    conn: &mut PgConnection,
    all: &[Statement],
    k: usize,
    bound: Option<i64>,
) -> (Value, Option<String>) {
    let statement = &all[k];
    sql(conn, "BEGIN").await;
    if let Some(after) = statement.after {
        let j = all.iter().position(|s| s.name == after).unwrap();
        sql(conn, &execute(j, &all[j])).await;
    }
    let explain = format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
        execute(k, statement)
    );
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(explain.clone()))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{e}: {}", statement.name));
    sql(conn, "ROLLBACK").await;
    let text: String = row.try_get_unchecked(0).unwrap();
    let explained: Value = serde_json::from_str(&text).unwrap();
    let top = &explained[0];
    let plan = &top["Plan"];
    let buffers = plan["Shared Hit Blocks"].as_i64().unwrap_or(0)
        + plan["Shared Read Blocks"].as_i64().unwrap_or(0);
    let (mut indexes, mut seq_scans) = (Vec::new(), Vec::new());
    walk(plan, &mut indexes, &mut seq_scans);
    let triggers: Vec<Value> = top["Triggers"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| json!({ "trigger": t["Trigger Name"], "ms": t["Time"], "calls": t["Calls"] }))
                .collect()
        })
        .unwrap_or_default();
    let large_scans = seq_scans.iter().any(|t| LARGE.contains(&t.as_str()));
    let failure = bound
        .filter(|&bound| buffers > bound || large_scans)
        .map(|bound| {
            format!(
                "{}: {buffers} buffers (bound {bound}), sequential scans of {seq_scans:?}",
                statement.name
            )
        });
    let figures = json!({
        "statement": statement.name,
        "buffers": buffers,
        "execution_ms": top["Execution Time"],
        "indexes": indexes,
        "seq_scans": seq_scans,
        "triggers": triggers,
        "bound": bound,
        "checked": bound.is_some(),
        "ok": failure.is_none(),
    });
    (figures, failure)
}

fn walk(node: &Value, indexes: &mut Vec<String>, seq_scans: &mut Vec<String>) {
    if let Some(index) = node["Index Name"].as_str() {
        indexes.push(index.to_string());
    }
    if node["Node Type"] == "Seq Scan" {
        seq_scans.push(node["Relation Name"].as_str().unwrap_or("?").to_string());
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        walk(child, indexes, seq_scans);
    }
}

/// Every statement in one state; `bound` says which the state holds to a bound, and to which.
async fn scenario(
    conn: &mut PgConnection,
    all: &[Statement],
    label: &str,
    bound: impl Fn(&Statement) -> Option<i64>,
    failures: &mut Vec<String>,
) -> Value {
    let mut rows = Vec::new();
    for k in 0..all.len() {
        let (figures, failure) = measure(conn, all, k, bound(&all[k])).await;
        eprintln!(
            "  {label:<30} {:<62} {:>7} buffers {:>9.3} ms {}",
            all[k].name,
            figures["buffers"],
            figures["execution_ms"].as_f64().unwrap_or(0.0),
            if failure.is_some() { "FAILED" } else { "" }
        );
        failures.extend(failure.map(|f| format!("{label}: {f}")));
        rows.push(figures);
    }
    json!({ "state": label, "statements": rows })
}

async fn distribution(
    label: &str,
    tenants: u64,
    up_to: Option<u32>,
    failures: &mut Vec<String>,
) -> Value {
    let name = format!("postd_bench_plans_{}", std::process::id());
    let url = database(&name, false).await;
    let store = Store::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    match up_to {
        Some(last) => migrate_up_to(&mut conn, last).await,
        None => {
            store.migrate().await.unwrap();
        }
    }
    for table in TABLES {
        sql(
            &mut conn,
            &format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"),
        )
        .await;
    }
    // The large tables skip the write-ahead log, which halves the fill on a small machine and
    // changes no plan or buffer count (referencing tables first: a logged table may not
    // reference an unlogged one). Before any plan is made: this invalidates plans.
    for table in LARGE {
        sql(&mut conn, &format!("ALTER TABLE {table} SET UNLOGGED")).await;
    }
    sql(&mut conn, "SET plan_cache_mode = force_generic_plan").await;
    sql(&mut conn, "SET statement_timeout = '120s'").await;
    let all = statements::all(tenants);
    for (k, statement) in all.iter().enumerate() {
        let prepare = format!(
            "PREPARE s{k}({}) AS {}",
            statement.types.join(", "),
            statement.sql
        );
        sql(&mut conn, &prepare).await;
    }
    // The plans are made now, on the empty tables, and cached. A statement may fail here (an
    // attempt for a job that does not exist yet fails its foreign-key check): its plan, and
    // the check's, were made before it failed and stay cached.
    for (k, statement) in all.iter().enumerate() {
        sql(&mut conn, "BEGIN").await;
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(execute(k, statement)))
            .execute(&mut conn)
            .await;
        sql(&mut conn, "ROLLBACK").await;
    }

    let started = Instant::now();
    let mut filler = PgConnection::connect(&url).await.unwrap();
    sql(&mut filler, "SET session_replication_role = replica").await;
    sql(&mut filler, "SET synchronous_commit = off").await;
    for statement in fill::sql(tenants) {
        sql(&mut filler, &statement).await;
    }
    filler.close().await.unwrap();
    let fill_s = started.elapsed().as_secs_f64();
    eprintln!("{label}: {} jobs in {fill_s:.1} s", fill::JOBS);

    let cached = scenario(
        &mut conn,
        &all,
        "cached on empty tables",
        |s| s.without_statistics,
        failures,
    )
    .await;

    // What the maintenance pass does; the filling session's counts reach the statistics
    // collector within a second or so of its end.
    let started = Instant::now();
    let analyzed = loop {
        let analyzed = store.analyze_stale_tables().await.unwrap();
        if analyzed.iter().any(|t| t == "jobs") {
            break analyzed;
        }
        assert!(started.elapsed().as_secs() < 60, "jobs never read as stale");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let analyze_s = started.elapsed().as_secs_f64();
    let refreshed = scenario(
        &mut conn,
        &all,
        "after the statistics refresh",
        |s| Some(s.bound),
        failures,
    )
    .await;
    conn.close().await.unwrap();
    store.pool().close().await;
    database(&name, true).await;
    json!({
        "distribution": label,
        "tenants": tenants,
        "jobs": fill::JOBS,
        "fill_s": fill_s,
        "analyzed": analyzed,
        "analyze_s": analyze_s,
        "states": [cached, refreshed],
    })
}

fn main() {
    let up_to: Option<u32> = std::env::var("PLANS_MIGRATIONS_UP_TO").ok().map(|v| {
        v.parse()
            .expect("PLANS_MIGRATIONS_UP_TO is a migration number")
    });
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut failures = Vec::new();
    let results: Vec<Value> = tokio.block_on(async {
        let mut results = Vec::new();
        for (label, tenants) in DISTRIBUTIONS {
            results.push(distribution(label, *tenants, up_to, &mut failures).await);
        }
        results
    });
    let name = match up_to {
        Some(last) => format!("plans-up-to-{last:04}"),
        None => "plans".to_string(),
    };
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/out");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join(format!("{name}.json"));
    let value = json!({
            "migrations_up_to": up_to,
            "plan_cache_mode": "force_generic_plan",
            "elapsed_s": started.elapsed().as_secs_f64(),
            "distributions": results,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    eprintln!("wrote {}", path.display());
    assert!(
        failures.is_empty(),
        "hot statements over their bounds or scanning tables:\n{}",
        failures.join("\n")
    );
}

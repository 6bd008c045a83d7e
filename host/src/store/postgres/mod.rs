//! The pipeline's hot statements on PostgreSQL's own driver: claiming due jobs, recording run
//! outcomes (one statement for any number of runs), recovery points and accepting posts.
//!
//! Everything else in the store runs on sqlx's `Any` driver, shared with SQLite. These do not:
//! they run once or more per publish, and the native driver keeps the prepared statements'
//! parameter types, decodes rows into structs without a name lookup per column, binds whole
//! arrays (`unnest`, `= ANY`) so one fixed statement serves a batch of any size, and lets sqlx
//! check each statement against the schema when the host is compiled (`sqlx::query!`). The
//! offline descriptions of these statements are committed in `host/.sqlx`, so building needs no
//! database; `scripts/sqlx-prepare.sh` regenerates them after a statement or migration changes
//! (`--check` verifies them, `make sqlx-check`).
//!
//! SQLite's side of the same operations runs on the shared `Any` driver, on its one write
//! connection, in the same shape (`sqlite/`; its claim is in `pipeline.rs`).

mod accept;
mod claim;
mod finish;

pub(super) use accept::accept_group;
pub use claim::CLAIM_SQL;
pub(super) use claim::claim;

/// The outcome statement's SQL (`finish.sql`, run by `finish.rs`), for the plans benchmark.
pub const FINISH_SQL: &str = include_str!("finish.sql");

/// The accept statement's SQL (`accept.sql`, run by `accept.rs`), for the plans benchmark.
pub const ACCEPT_SQL: &str = include_str!("accept.sql");
pub(super) use finish::finish_runs;

use super::{Millis, StoreError};

/// Records `recovery_point` as job `job`'s latest; false when there is no such job.
pub(super) async fn checkpoint(
    pool: &sqlx::PgPool,
    job: &str,
    recovery_point: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE jobs SET recovery_point = $2, updated_at = $3 WHERE id = $1",
        job,
        recovery_point,
        now
    )
    .execute(pool)
    .await
    .map_err(StoreError::db("recording a recovery point"))?;
    Ok(done.rows_affected() == 1)
}

/// Records several recovery points in one statement; per point, whether its job was found.
pub(super) async fn checkpoint_many(
    pool: &sqlx::PgPool,
    points: &[(&str, &str, Millis)],
) -> Result<Vec<bool>, StoreError> {
    let jobs: Vec<String> = points.iter().map(|p| p.0.to_string()).collect();
    let recovery_points: Vec<String> = points.iter().map(|p| p.1.to_string()).collect();
    let times: Vec<i64> = points.iter().map(|p| p.2).collect();
    let found = sqlx::query_scalar!(
        r#"UPDATE jobs SET recovery_point = p.recovery_point, updated_at = p.at
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS p(id, recovery_point, at)
           WHERE jobs.id = p.id
           RETURNING jobs.id AS "id!""#,
        &jobs,
        &recovery_points,
        &times
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("recording recovery points"))?;
    Ok(jobs.iter().map(|job| found.contains(job)).collect())
}

//! The planner's statistics: refreshed after migrations and after bulk changes, so the plans of
//! the hot statements hold as the tables grow from empty to millions of rows.
//!
//! PostgreSQL keeps the plans of prepared statements (sqlx prepares every statement, per
//! connection) and of foreign-key checks; a generic plan lives until something invalidates it,
//! and `ANALYZE` does. A plan made while the tables had no statistics cannot tell `tenant_id =
//! $1` (all of one large tenant's jobs) from a key, and one made when they were known to be
//! empty scans them; either way it stays until the next `ANALYZE`. So:
//!
//! - after migrations, every table that holds rows is analyzed (new indexes and columns get
//!   statistics at once). Empty tables are left alone: analyzed empty, a table reads as *known
//!   empty* and plans made then scan it sequentially (measured while building
//!   host/benches/plans.rs: 2 million buffers for one claim at 200,000 jobs, planned when the
//!   jobs table had been analyzed empty), where a never-analyzed one is assumed to have ten
//!   pages and gets index plans;
//! - every maintenance pass (every 30 s; [`Store::analyze_stale_tables`], at the start of the
//!   retention pass, one replica at a time) analyzes the tables that changed by more than
//!   [`STALE_ROWS`] plus 1/[`STALE_FRACTION`] of their rows since their last analysis (the
//!   first time a table fills, as it grows, and after retention deleted many rows), which
//!   re-plans what was planned on smaller tables: a plan cached at one size is made again once
//!   the table has changed by a fifth (seen within a pass). PostgreSQL's own autovacuum does
//!   the same when it runs; this does not depend on it (it is off on some installations). Until
//!   the first pass after a fresh database fills, plans made on the empty tables serve: the
//!   lookups by key stay selective from the indexes alone (migration 0012), statements over
//!   lists of ids scan the (still small) tables.
//!
//! SQLite plans each statement when it is prepared and has no generic plans; `PRAGMA optimize`
//! (its documented upkeep, which analyzes only what it judges stale) runs at the same points.

use sqlx::AssertSqlSafe;

use super::{Backend, Store, StoreError};

/// Rows changed since the last analysis that make a table stale whatever its size.
pub const STALE_ROWS: i64 = 500;
/// The share of a table's rows (as of its last analysis) whose change makes it stale: 1/5.
pub const STALE_FRACTION: i64 = 5;

impl Store {
    /// Analyzes every table of the schema that holds at least one row (PostgreSQL), or runs
    /// `PRAGMA optimize` (SQLite). Returns the tables analyzed. Run after migrations.
    pub async fn analyze_tables(&self) -> Result<Vec<String>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.optimize_sqlite().await,
            Backend::Postgres => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT c.relname::TEXT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::db("listing tables"))?;
                let mut analyzed = Vec::new();
                for table in tables {
                    let quoted = quote_ident(&table);
                    let holds_rows: bool = sqlx::query_scalar(AssertSqlSafe(format!(
                        "SELECT EXISTS (SELECT 1 FROM {quoted})"
                    )))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(StoreError::db("looking for rows"))?;
                    if holds_rows {
                        self.analyze(&quoted).await?;
                        analyzed.push(table);
                    }
                }
                Ok(analyzed)
            }
        }
    }

    /// Analyzes the tables that changed a lot since their last analysis (see the module
    /// documentation); on SQLite runs `PRAGMA optimize`. Returns the tables analyzed. Cheap
    /// when nothing changed: one read of PostgreSQL's activity statistics. On PostgreSQL one
    /// replica at a time does it (a transaction-scoped advisory lock; the others return none).
    pub async fn analyze_stale_tables(&self) -> Result<Vec<String>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.optimize_sqlite().await,
            Backend::Postgres => {
                // One replica at a time (the others skip this pass): ANALYZE runs inside the
                // transaction that holds the lock, its statistics visible at the commit.
                let mut tx = self.begin().await?;
                let ours: bool = sqlx::query_scalar(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended('postd:statistics', 0))",
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::db("taking the statistics lock"))?;
                if !ours {
                    return Ok(Vec::new());
                }
                // `n_mod_since_analyze` counts inserted, updated and deleted rows (reported by
                // each session within about a second); `reltuples` is -1 before a first analysis.
                let stale: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT s.relname::TEXT FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
                     WHERE s.schemaname = current_schema()
                       AND s.n_mod_since_analyze >= {STALE_ROWS} + GREATEST(c.reltuples, 0)::BIGINT / {STALE_FRACTION}
                     ORDER BY s.relname"
                )))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("reading table activity"))?;
                for table in &stale {
                    sqlx::query(AssertSqlSafe(format!("ANALYZE {}", quote_ident(table))))
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::db("refreshing planner statistics"))?;
                }
                tx.commit()
                    .await
                    .map_err(StoreError::db("committing planner statistics"))?;
                Ok(stale)
            }
        }
    }

    async fn analyze(&self, quoted: &str) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!("ANALYZE {quoted}")))
            .execute(&self.writer)
            .await
            .map_err(StoreError::db("refreshing planner statistics"))?;
        Ok(())
    }

    async fn optimize_sqlite(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query("PRAGMA optimize")
            .execute(&self.writer)
            .await
            .map_err(StoreError::db("refreshing planner statistics"))?;
        Ok(Vec::new())
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

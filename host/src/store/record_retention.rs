//! Retention of what the host records beside jobs: verified webhook events, the connections'
//! health checks and the audit log. Each table keeps what is younger than its setting
//! (`webhook_retention_days`, `health_retention_days`, `audit_retention_days`); the maintenance
//! loop deletes the rest, oldest first, [`RECORD_BATCH`] rows a statement and at most
//! [`RECORD_BATCHES`] statements a table per pass, so a backlog drains over several passes
//! without long transactions. Replicas of one PostgreSQL database may delete at once: each skips
//! the rows another is deleting.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::{Backend, Millis, Store, StoreError};
use crate::time::{Span, UnixMs};

/// Rows deleted per statement.
pub const RECORD_BATCH: i64 = 1_000;
/// Statements per table and pass at most.
pub const RECORD_BATCHES: usize = 20;

/// A table of records kept for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// `webhook_events`: verified deliveries, kept for de-duplication and reading.
    WebhookEvents,
    /// `connection_health`: the health log of connections.
    HealthChecks,
    /// `audit_log`: who changed what.
    Audit,
}

impl Recorded {
    /// (table, key columns, time column).
    fn shape(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Recorded::WebhookEvents => ("webhook_events", "plugin, event_id", "received_at"),
            Recorded::HealthChecks => ("connection_health", "tenant_id, id", "checked_at"),
            Recorded::Audit => ("audit_log", "tenant_id, id", "at"),
        }
    }
}

impl Store {
    /// Deletes the rows of `table` recorded longer than `retention` before `now` (see the module
    /// documentation; `None` keeps them); returns how many went.
    pub async fn retain_recorded(
        &self,
        table: Recorded,
        now: Millis,
        retention: Option<Duration>,
    ) -> Result<u64, StoreError> {
        let Some(retention) = retention else {
            return Ok(0);
        };
        let before = UnixMs::new(now).saturating_sub(Span::from(retention)).get();
        let (name, key, time) = table.shape();
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "DELETE FROM {name} WHERE ({key}) IN
                (SELECT {key} FROM {name} WHERE {time} < $1 ORDER BY {time} LIMIT $2 {lock})"
        );
        let mut deleted = 0;
        for _ in 0..RECORD_BATCHES {
            let n = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(before)
                .bind(RECORD_BATCH)
                .execute(&self.writer)
                .await
                .map_err(StoreError::db("deleting records past their retention"))?
                .rows_affected();
            deleted += n;
            if n < RECORD_BATCH as u64 {
                break;
            }
        }
        Ok(deleted)
    }
}

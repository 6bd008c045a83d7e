//! Durable storage. The database is the source of truth.
//!
//! For now: the vault's records on SQLite (the embedded default). The job pipeline's tables and
//! the PostgreSQL backend join here behind the same repository traits.

mod sqlite;

pub use sqlite::SqliteStore;

/// A storage fault, naming the operation (never carrying a secret).
#[derive(Debug, thiserror::Error)]
#[error("database: {operation}: {source}")]
pub struct StoreError {
    /// What was being done.
    pub operation: &'static str,
    /// The driver's error.
    #[source]
    pub source: sqlx::Error,
}

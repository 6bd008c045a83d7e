//! Refresh leases: which replica may exchange a connection's refresh token now. A lease is a
//! row with a holder and an end, timed by the database's own clock, so neither a host's clock
//! jumping nor Redis restarting empty can let two replicas send one refresh token (a platform
//! that rotates refresh tokens, like TikTok, treats the second use as reuse).

use sqlx::AssertSqlSafe;

use super::{Backend, Store, StoreError};

/// The database's clock in Unix milliseconds, per backend (a constant: safe to splice).
fn database_now(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

impl Store {
    /// Takes the lease `key` for `holder` for `ttl_ms` of the database's clock, if no one
    /// holds it or its last holder's lease ended. Whether it is `holder`'s now.
    pub async fn take_refresh_lease(
        &self,
        key: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = database_now(self.backend());
        let taken = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO refresh_leases (lock_key, holder, expires_ms) VALUES ($1, $2, {now} + $3)
             ON CONFLICT (lock_key) DO UPDATE
                SET holder = excluded.holder, expires_ms = excluded.expires_ms
                WHERE refresh_leases.expires_ms < {now}
             RETURNING holder"
        )))
        .bind(key)
        .bind(holder)
        .bind(ttl_ms)
        .fetch_optional(&self.writer)
        .await
        .map_err(StoreError::db("taking a refresh lease"))?;
        Ok(taken.is_some())
    }

    /// Makes `holder`'s lease `key` last `ttl_ms` from now, if it still holds it: whether it
    /// does (a lease that ended may have been taken by another holder since).
    pub async fn extend_refresh_lease(
        &self,
        key: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = database_now(self.backend());
        let extended = sqlx::query(AssertSqlSafe(format!(
            "UPDATE refresh_leases SET expires_ms = {now} + $3
             WHERE lock_key = $1 AND holder = $2 AND expires_ms >= {now}"
        )))
        .bind(key)
        .bind(holder)
        .bind(ttl_ms)
        .execute(&self.writer)
        .await
        .map_err(StoreError::db("extending a refresh lease"))?;
        Ok(extended.rows_affected() == 1)
    }

    /// Ends `holder`'s lease `key` (a lease taken over since, after it ended, stays).
    pub async fn release_refresh_lease(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM refresh_leases WHERE lock_key = $1 AND holder = $2")
            .bind(key)
            .bind(holder)
            .execute(&self.writer)
            .await
            .map_err(StoreError::db("releasing a refresh lease"))?;
        Ok(())
    }
}

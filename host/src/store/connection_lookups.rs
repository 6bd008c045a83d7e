//! Connections across tenants, for the refresh and health schedulers, webhook routing and
//! vault clean-up: tokens about to expire, connections of a platform account, the next expiry,
//! connections due for a health check, and secrets left by connections that were never stored.

use sqlx::AssertSqlSafe;

use super::connections::{COLUMNS, from_row};
use super::{Connection, Millis, Store, StoreError};

impl Store {
    /// Usable connections of `plugin` whose token expires before `horizon`: due for refresh.
    pub async fn connections_expiring(
        &self,
        plugin: &str,
        horizon: Millis,
        limit: u32,
    ) -> Result<Vec<Connection>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM connections WHERE plugin = $1 AND expires_at IS NOT NULL AND expires_at <= $2
             AND status IN ('healthy', 'expiring_soon') AND deleted_at IS NULL ORDER BY expires_at LIMIT $3"
        )))
        .bind(plugin)
        .bind(horizon)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("finding connections to refresh"))?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// The live connections of `plugin` that `account` names, across tenants: the authorizing
    /// user's id, or an account (page, organization, location) the connection posts to.
    /// Webhooks name the platform's accounts, not ours.
    pub async fn connections_by_external(
        &self,
        plugin: &str,
        account: &str,
    ) -> Result<Vec<Connection>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM connections c WHERE plugin = $1 AND deleted_at IS NULL AND (external_id = $2
                 OR EXISTS (SELECT 1 FROM connection_accounts a WHERE a.tenant_id = c.tenant_id
                     AND a.connection_id = c.id AND a.account_id = $2))"
        )))
        .bind(plugin)
        .bind(account)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("finding connections by platform account"))?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// Seconds until the nearest expiry of a usable connection's token, if any expires.
    pub async fn nearest_token_expiry(&self) -> Result<Option<Millis>, StoreError> {
        sqlx::query_scalar(
            "SELECT MIN(expires_at) FROM connections WHERE expires_at IS NOT NULL AND deleted_at IS NULL
             AND status IN ('healthy', 'expiring_soon')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::db("finding the nearest token expiry"))
    }

    /// Erases what `plugin` wrote in the vault for `connection` unless that connection exists
    /// and is `plugin`'s (a failed authorization leaves nothing behind).
    pub async fn erase_orphan_secrets(
        &self,
        tenant: &str,
        connection: &str,
        plugin: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM vault_secrets WHERE tenant = $1 AND connection = $2 AND plugin = $3
             AND NOT EXISTS (SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2 AND plugin = $3
                 AND deleted_at IS NULL)",
        )
        .bind(tenant)
        .bind(connection)
        .bind(plugin)
        .execute(&self.writer)
        .await
        .map_err(StoreError::db("erasing orphan secrets"))?;
        Ok(())
    }

    /// Connections whose health check is due.
    pub async fn connections_due_for_health(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<Connection>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM connections WHERE next_health_at <= $1 AND status <> 'revoked' AND deleted_at IS NULL
             ORDER BY next_health_at LIMIT $2"
        )))
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("finding connections to check"))?;
        Ok(rows.iter().map(from_row).collect())
    }
}

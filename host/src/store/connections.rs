//! Connections: create or re-authorize, status transitions (which pause and resume their jobs),
//! refresh bookkeeping. The cross-tenant lookups the schedulers use: `connection_lookups.rs`.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::access::use_oauth_state;
use super::outbox::emit;
use super::tenants::audit;
use super::{
    Connection, ConnectionStatus, JobState, Millis, NewConnection, StoreError, TenantStore,
};
use crate::events::Event;

/// Why jobs of a connection are paused (the `state_reason` of paused jobs).
pub const PAUSED_FOR_CONNECTION: &str = "connection-needs-attention";

pub(super) const COLUMNS: &str = "tenant_id, id, plugin, external_id, display_name, status, status_reason, scopes, \
    expires_at, refresh_expires_at, refreshed_at, token_version, next_health_at, created_at, updated_at";

pub(super) fn from_row(row: &AnyRow) -> Connection {
    let scopes: String = row.get("scopes");
    let status: String = row.get("status");
    Connection {
        tenant_id: row.get("tenant_id"),
        id: row.get("id"),
        plugin: row.get("plugin"),
        external_id: row.get("external_id"),
        display_name: row.get("display_name"),
        status: ConnectionStatus::parse(&status).unwrap_or(ConnectionStatus::Attention),
        status_reason: row.get("status_reason"),
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        expires_at: row.get("expires_at"),
        refresh_expires_at: row.get("refresh_expires_at"),
        refreshed_at: row.get("refreshed_at"),
        token_version: row.get("token_version"),
        next_health_at: row.get("next_health_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// A connection's status before a change, read in the changing transaction.
struct StatusBefore {
    plugin: String,
    status: ConnectionStatus,
    deleted: bool,
}

impl TenantStore {
    /// Reads `id`'s plugin, status and whether it is deleted, in `tx`; `None` when absent.
    async fn status_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: &str,
    ) -> Result<Option<StatusBefore>, StoreError> {
        let row = sqlx::query(
            "SELECT plugin, status, deleted_at FROM connections WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(id)
        .fetch_optional(tx)
        .await
        .map_err(StoreError::db("reading a connection"))?;
        Ok(row.map(|row| StatusBefore {
            plugin: row.get("plugin"),
            status: ConnectionStatus::parse(&row.get::<String, _>("status"))
                .unwrap_or(ConnectionStatus::Attention),
            deleted: row.get::<Option<i64>, _>("deleted_at").is_some(),
        }))
    }

    /// Stores a new connection, or re-authorizes an existing one with the same id: status back
    /// to healthy and every job it paused queued again. Returns the connection and how many
    /// jobs resumed. Audited.
    pub async fn upsert_connection(
        &self,
        new: &NewConnection,
        actor: &str,
        now: Millis,
    ) -> Result<(Connection, u64), StoreError> {
        let mut tx = self.store.begin().await?;
        let stored = self.upsert_in(&mut tx, new, actor, now).await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a connection"))?;
        Ok(stored)
    }

    /// Stores the connection an OAuth callback completed and uses up its `state` in the same
    /// transaction: either both happen or neither, so a failure leaves the state usable for a
    /// retry and a state raced by a second callback stores nothing twice. As
    /// [`TenantStore::upsert_connection`] otherwise.
    pub async fn complete_oauth(
        &self,
        state: &str,
        new: &NewConnection,
        actor: &str,
        now: Millis,
    ) -> Result<(Connection, u64), StoreError> {
        let mut tx = self.store.begin().await?;
        use_oauth_state(&mut tx, state).await?;
        let stored = self.upsert_in(&mut tx, new, actor, now).await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a connection"))?;
        Ok(stored)
    }

    async fn upsert_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        new: &NewConnection,
        actor: &str,
        now: Millis,
    ) -> Result<(Connection, u64), StoreError> {
        let before = self.status_in(conn, &new.id).await?;
        let existed = before.is_some();
        sqlx::query(
            "INSERT INTO connections (tenant_id, id, plugin, external_id, display_name, status, status_reason, scopes,
                 expires_at, refresh_expires_at, refreshed_at, next_health_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'healthy', NULL, $6, $7, $8, $9, $9, $9, $9)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
                 external_id = excluded.external_id, display_name = excluded.display_name,
                 status = 'healthy', status_reason = NULL, scopes = excluded.scopes,
                 expires_at = excluded.expires_at, refresh_expires_at = excluded.refresh_expires_at,
                 refreshed_at = excluded.refreshed_at, next_health_at = excluded.next_health_at,
                 token_version = connections.token_version + 1, deleted_at = NULL,
                 updated_at = excluded.updated_at
             WHERE connections.plugin = excluded.plugin",
        )
        .bind(&self.tenant)
        .bind(&new.id)
        .bind(&new.plugin)
        .bind(&new.external_id)
        .bind(&new.display_name)
        .bind(new.scopes.join(" "))
        .bind(new.expires_at)
        .bind(new.refresh_expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("storing a connection"))?;
        let resumed = sqlx::query(
            "UPDATE jobs SET state = 'queued', state_reason = NULL, next_run_at = $3, updated_at = $3
             WHERE tenant_id = $1 AND connection_id = $2 AND state = 'paused' AND state_reason = $4",
        )
        .bind(&self.tenant)
        .bind(&new.id)
        .bind(now)
        .bind(PAUSED_FOR_CONNECTION)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("resuming paused jobs"))?
        .rows_affected();
        let action = if existed {
            "connection.reconnected"
        } else {
            "connection.created"
        };
        let detail = format!(
            "plugin={} external_id={} resumed_jobs={resumed}",
            new.plugin, new.external_id
        );
        audit(conn, &self.tenant, now, actor, action, &new.id, &detail).await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"
        )))
        .bind(&self.tenant)
        .bind(&new.id)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::db("reading a connection"))?;
        let connection = from_row(&row);
        if connection.plugin != new.plugin {
            return Err(StoreError::Conflict(format!(
                "connection `{}` belongs to plugin `{}`",
                new.id, connection.plugin
            )));
        }
        // New, reconnected after a problem, or restored after deletion: usable now.
        let previous = before.and_then(|b| (!b.deleted).then_some(b.status));
        if previous != Some(ConnectionStatus::Healthy) {
            let event = Event::connection(
                &new.id,
                &new.plugin,
                ConnectionStatus::Healthy,
                previous,
                None,
            );
            emit(conn, &self.tenant, &event, now).await?;
        }
        Ok((connection, resumed))
    }

    /// The plugin connection `id` belongs to, if this tenant ever had it. Deleted connections
    /// count: their row stays for their jobs' history, and the id stays their plugin's.
    pub async fn connection_plugin(&self, id: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT plugin FROM connections WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await
            .map_err(StoreError::db("reading a connection's plugin"))
    }

    /// One connection of this tenant.
    pub async fn connection(&self, id: &str) -> Result<Connection, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"
        )))
        .bind(&self.tenant)
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(StoreError::db("reading a connection"))?;
        row.as_ref()
            .map(from_row)
            .ok_or_else(|| StoreError::not_found("connection", id))
    }

    /// Every connection of this tenant.
    pub async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        self.connections_after(None, i64::from(u32::MAX)).await
    }

    /// One page of this tenant's connections, oldest first: at most `limit`, those after
    /// `after` (the previous page's last `(created_at, id)`).
    pub async fn connections_after(
        &self,
        after: Option<(Millis, &str)>,
        limit: i64,
    ) -> Result<Vec<Connection>, StoreError> {
        let (at, id) = after.unzip();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND deleted_at IS NULL
                 AND ($2 IS NULL OR created_at > $2 OR (created_at = $2 AND id > $3))
             ORDER BY created_at, id LIMIT $4"
        )))
        .bind(&self.tenant)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("listing connections"))?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// Moves a connection to `status`. Leaving the usable states pauses its queued jobs (kept,
    /// not dropped). Audited. Returns false when it already had that status and reason.
    pub async fn set_connection_status(
        &self,
        id: &str,
        status: ConnectionStatus,
        reason: Option<&str>,
        actor: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let before = self.status_in(&mut tx, id).await?;
        let changed = sqlx::query(
            "UPDATE connections SET status = $3, status_reason = $4, updated_at = $5
             WHERE tenant_id = $1 AND id = $2 AND (status <> $3 OR COALESCE(status_reason, '') <> COALESCE($4, ''))",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("changing a connection's status"))?
        .rows_affected()
            == 1;
        let Some(before) = before else {
            return Err(StoreError::not_found("connection", id));
        };
        if !changed {
            return Ok(false);
        }
        self.store.targets.forget(&self.tenant, Some(id));
        if before.status != status {
            let event = Event::connection(id, &before.plugin, status, Some(before.status), reason);
            emit(&mut tx, &self.tenant, &event, now).await?;
        }
        let mut paused = 0;
        if !status.usable() {
            paused = sqlx::query(
                "UPDATE jobs SET state = 'paused', state_reason = $3, updated_at = $4
                 WHERE tenant_id = $1 AND connection_id = $2 AND state = 'queued'",
            )
            .bind(&self.tenant)
            .bind(id)
            .bind(PAUSED_FOR_CONNECTION)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("pausing a connection's jobs"))?
            .rows_affected();
        }
        let detail = format!(
            "status={status} reason={} paused_jobs={paused}",
            reason.unwrap_or("-")
        );
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "connection.status",
            id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a status change"))?;
        Ok(true)
    }

    /// Records a successful token refresh: new expiries, `refreshed_at`, healthy again. Audited.
    pub async fn record_refresh(
        &self,
        id: &str,
        expires_at: Option<Millis>,
        refresh_expires_at: Option<Millis>,
        actor: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let before = self.status_in(&mut tx, id).await?;
        let done = sqlx::query(
            "UPDATE connections SET expires_at = $3, refresh_expires_at = COALESCE($4, refresh_expires_at),
                 refreshed_at = $5, updated_at = $5, token_version = token_version + 1,
                 status = CASE WHEN status = 'revoked' THEN status ELSE 'healthy' END,
                 status_reason = CASE WHEN status = 'revoked' THEN status_reason ELSE NULL END
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(expires_at)
        .bind(refresh_expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("recording a refresh"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("connection", id));
        }
        if let Some(before) = before.filter(|b| {
            !matches!(
                b.status,
                ConnectionStatus::Healthy | ConnectionStatus::Revoked
            )
        }) {
            let event = Event::connection(
                id,
                &before.plugin,
                ConnectionStatus::Healthy,
                Some(before.status),
                None,
            );
            emit(&mut tx, &self.tenant, &event, now).await?;
        }
        let detail = format!(
            "expires_at={}",
            expires_at.map_or("-".into(), |t| t.to_string())
        );
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "connection.refreshed",
            id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a refresh"))
    }

    /// Deletes a connection: its secrets are erased and its queued or paused jobs cancelled in
    /// one transaction; the row stays (hidden) for its jobs' history. Audited.
    pub async fn delete_connection(
        &self,
        id: &str,
        actor: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let before = self.status_in(&mut tx, id).await?;
        let done = sqlx::query(
            "UPDATE connections SET deleted_at = $3, status = 'revoked', status_reason = 'deleted', updated_at = $3
             WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("deleting a connection"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("connection", id));
        }
        self.store.targets.forget(&self.tenant, Some(id));
        if let Some(before) = before {
            let event = Event::connection(
                id,
                &before.plugin,
                ConnectionStatus::Revoked,
                Some(before.status),
                Some("deleted"),
            );
            emit(&mut tx, &self.tenant, &event, now).await?;
        }
        let secrets =
            sqlx::query("DELETE FROM vault_secrets WHERE tenant = $1 AND connection = $2")
                .bind(&self.tenant)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("erasing a connection's secrets"))?
                .rows_affected();
        let cancelled = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', state_reason = 'connection deleted', updated_at = $3
             WHERE tenant_id = $1 AND connection_id = $2 AND state IN ('queued', 'paused')",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("cancelling a connection's jobs"))?
        .rows_affected();
        let detail = format!("secrets_erased={secrets} jobs_cancelled={cancelled}");
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "connection.deleted",
            id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a deletion"))?;
        // Again after the commit: an accept between the first and the commit read it as it was.
        self.store.targets.forget(&self.tenant, Some(id));
        Ok(())
    }

    /// Replaces the accounts recorded for `connection` with what `list-accounts` answered:
    /// `(account id, kind, name, parent id)`.
    pub async fn record_accounts(
        &self,
        connection: &str,
        accounts: &[(String, String, String, Option<String>)],
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM connection_accounts WHERE tenant_id = $1 AND connection_id = $2")
            .bind(&self.tenant)
            .bind(connection)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("replacing a connection's accounts"))?;
        for (id, kind, name, parent) in accounts {
            sqlx::query(
                "INSERT INTO connection_accounts (tenant_id, connection_id, account_id, kind, name, parent_id, seen_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&self.tenant)
            .bind(connection)
            .bind(id)
            .bind(kind)
            .bind(name)
            .bind(parent.as_deref())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("recording a connection's accounts"))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing a connection's accounts"))
    }

    /// Counts this tenant's jobs on `connection` in `state`.
    pub async fn count_jobs(&self, connection: &str, state: JobState) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND connection_id = $2 AND state = $3",
        )
        .bind(&self.tenant)
        .bind(connection)
        .bind(state.as_str())
        .fetch_one(&self.store.pool)
        .await
        .map_err(StoreError::db("counting jobs"))?;
        Ok(n as u64)
    }
}

//! Tenants, their plugin enablement and their audit trail; [`TenantStore`], the tenant-scoped
//! view every tenant-facing operation goes through.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::outbox::emit;
use super::{AuditEntry, Millis, Store, StoreError, new_id};
use crate::events::Event;

/// Why jobs of a plugin disabled for their tenant are paused (the `state_reason`).
pub const PAUSED_FOR_PLUGIN: &str = "plugin-disabled";

/// Whether a job may run, as [`TenantStore::run_gate`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunGate {
    /// The tenant is disabled or deleted: its jobs are held.
    pub tenant_disabled: bool,
    /// The admin's override for the plugin (`None`: `plugins.toml` decides).
    pub plugin_enabled: Option<bool>,
}

/// The store as one tenant sees it: every statement binds this tenant.
#[derive(Debug, Clone)]
pub struct TenantStore {
    pub(crate) store: Store,
    pub(crate) tenant: String,
}

impl Store {
    /// Creates a tenant (or keeps the existing one with that id).
    pub async fn create_tenant(&self, id: &str, name: &str, now: Millis) -> Result<(), StoreError> {
        if id.is_empty() || id.len() > 64 {
            return Err(StoreError::Invalid("tenant ids are 1-64 characters".into()));
        }
        if id.starts_with('_') {
            // `_host` and `_webhooks` name the host's own calls and audit entries.
            return Err(StoreError::Invalid(
                "tenant ids starting with `_` are reserved for the host".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(StoreError::db("creating a tenant"))?;
        Ok(())
    }

    /// True when the admin API enabled `plugin` for at least one tenant.
    pub async fn plugin_enabled_anywhere(&self, plugin: &str) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM tenant_plugins WHERE plugin = $1 AND enabled <> 0 LIMIT 1")
                .bind(plugin)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db("reading plugin enablement"))?;
        Ok(row.is_some())
    }

    /// True when the tenant exists.
    pub async fn tenant_exists(&self, id: &str) -> Result<bool, StoreError> {
        let found = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("reading a tenant"))?;
        Ok(found.is_some())
    }

    /// The view of one tenant. The caller has authenticated `tenant`.
    pub fn tenant(&self, tenant: &str) -> TenantStore {
        TenantStore {
            store: self.clone(),
            tenant: tenant.to_string(),
        }
    }
}

impl TenantStore {
    /// The tenant this view is scoped to.
    pub fn tenant_id(&self) -> &str {
        &self.tenant
    }

    /// Enables or disables `plugin` for this tenant, overriding `plugins.toml`; enabling resumes
    /// the jobs that waited for it. Audited.
    pub async fn set_plugin_enabled(
        &self,
        plugin: &str,
        enabled: bool,
        actor: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let before: Option<i64> = sqlx::query_scalar(
            "SELECT enabled FROM tenant_plugins WHERE tenant_id = $1 AND plugin = $2",
        )
        .bind(&self.tenant)
        .bind(plugin)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("reading plugin enablement"))?;
        if !enabled && before != Some(0) {
            emit(&mut tx, &self.tenant, &Event::plugin_disabled(plugin), now).await?;
        }
        sqlx::query(
            "INSERT INTO tenant_plugins (tenant_id, plugin, enabled, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, plugin) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        )
        .bind(&self.tenant)
        .bind(plugin)
        .bind(enabled as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("setting plugin enablement"))?;
        let resumed = if enabled {
            resume_plugin_jobs(&mut tx, &self.tenant, plugin, now).await?
        } else {
            0
        };
        let action = if enabled {
            "plugin.enabled"
        } else {
            "plugin.disabled"
        };
        let detail = format!("resumed_jobs={resumed}");
        audit(&mut tx, &self.tenant, now, actor, action, plugin, &detail).await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing plugin enablement"))
    }

    /// Removes this tenant's override for `plugin` (back to `plugins.toml`); audited.
    pub async fn clear_plugin_enabled(
        &self,
        plugin: &str,
        actor: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM tenant_plugins WHERE tenant_id = $1 AND plugin = $2")
            .bind(&self.tenant)
            .bind(plugin)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("clearing plugin enablement"))?;
        // If plugins.toml still refuses the tenant, the jobs pause again on their next run.
        resume_plugin_jobs(&mut tx, &self.tenant, plugin, now).await?;
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "plugin.override-cleared",
            plugin,
            "",
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing plugin enablement"))
    }

    /// This tenant's override for `plugin`: `Some(enabled)` when set, `None` to follow
    /// `plugins.toml`.
    pub async fn plugin_enabled(&self, plugin: &str) -> Result<Option<bool>, StoreError> {
        let row =
            sqlx::query("SELECT enabled FROM tenant_plugins WHERE tenant_id = $1 AND plugin = $2")
                .bind(&self.tenant)
                .bind(plugin)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(StoreError::db("reading plugin enablement"))?;
        Ok(row.map(|r| r.get::<i64, _>("enabled") != 0))
    }

    /// Every plugin override of this tenant (plugin → enabled), in one read.
    pub async fn plugin_overrides(
        &self,
    ) -> Result<std::collections::BTreeMap<String, bool>, StoreError> {
        let rows = sqlx::query("SELECT plugin, enabled FROM tenant_plugins WHERE tenant_id = $1")
            .bind(&self.tenant)
            .fetch_all(&self.store.pool)
            .await
            .map_err(StoreError::db("reading plugin enablement"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get("plugin"), r.get::<i64, _>("enabled") != 0))
            .collect())
    }

    /// What decides whether this tenant's job on `plugin` may run, in one read: whether the
    /// tenant is disabled (or deleted), and its override for the plugin.
    pub async fn run_gate(&self, plugin: &str) -> Result<RunGate, StoreError> {
        let row = sqlx::query(
            "SELECT t.disabled_at, tp.enabled FROM tenants t
             LEFT JOIN tenant_plugins tp ON tp.tenant_id = t.id AND tp.plugin = $2
             WHERE t.id = $1",
        )
        .bind(&self.tenant)
        .bind(plugin)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(StoreError::db("reading whether a job may run"))?;
        Ok(match row {
            None => RunGate {
                tenant_disabled: true,
                plugin_enabled: None,
            },
            Some(row) => RunGate {
                tenant_disabled: row.get::<Option<Millis>, _>("disabled_at").is_some(),
                plugin_enabled: row.get::<Option<i64>, _>("enabled").map(|e| e != 0),
            },
        })
    }

    /// Records an audit entry.
    pub async fn audit(
        &self,
        now: Millis,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self
            .store
            .writer
            .acquire()
            .await
            .map_err(StoreError::db("acquiring a connection"))?;
        audit(&mut conn, &self.tenant, now, actor, action, subject, detail).await
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, action, subject, detail FROM audit_log WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(&self.tenant)
        .bind(limit as i64)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("reading the audit log"))?;
        Ok(rows.iter().map(audit_from_row).collect())
    }
}

fn audit_from_row(row: &AnyRow) -> AuditEntry {
    AuditEntry {
        at: row.get("at"),
        actor: row.get("actor"),
        action: row.get("action"),
        subject: row.get("subject"),
        detail: row.get("detail"),
    }
}

/// Queues again the tenant's jobs that waited for `plugin`; returns how many.
async fn resume_plugin_jobs(
    conn: &mut sqlx::AnyConnection,
    tenant: &str,
    plugin: &str,
    now: Millis,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', state_reason = NULL, next_run_at = $3, updated_at = $3
         WHERE tenant_id = $1 AND plugin = $2 AND state = 'paused' AND state_reason = $4",
    )
    .bind(tenant)
    .bind(plugin)
    .bind(now)
    .bind(PAUSED_FOR_PLUGIN)
    .execute(conn)
    .await
    .map_err(StoreError::db("resuming paused jobs"))?;
    Ok(done.rows_affected())
}

/// Writes an audit entry inside the caller's transaction, so the entry exists exactly when the
/// change it describes does.
pub(crate) async fn audit(
    conn: &mut sqlx::AnyConnection,
    tenant: &str,
    now: Millis,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, id, at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(new_id("aud"))
    .bind(now)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(conn)
    .await
    .map_err(StoreError::db("writing the audit log"))?;
    Ok(())
}

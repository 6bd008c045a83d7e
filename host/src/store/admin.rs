//! Tenant administration, as the platform team sees it (the admin API and the CLI): tenants
//! listed, read, disabled, re-enabled and deleted, and the audit log read across tenants.
//!
//! Every change here is one transaction with its audit entry. Nothing is cached: a request on
//! any replica reads the tenant's state with its API key ([`Store::key_owner`]), and a job reads
//! it before it runs, so a tenant disabled through one replica is refused by all of them at once.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::tenants::audit;
use super::{Millis, Store, StoreError};

/// Why jobs of a disabled tenant are paused (the `state_reason`); re-enabling resumes them.
pub const PAUSED_FOR_TENANT: &str = "tenant-disabled";

/// A tenant's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Its keys work and its jobs run.
    Active,
    /// Its keys are refused (403 `tenant-disabled`) and its jobs held until it is re-enabled.
    Disabled,
    /// Deleted: secrets erased, jobs cancelled, keys revoked. The row stays so the id is never
    /// reused and its audit trail stays readable.
    Deleted,
}

impl TenantStatus {
    /// Parses `active`, `disabled` or `deleted`.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "active" => TenantStatus::Active,
            "disabled" => TenantStatus::Disabled,
            "deleted" => TenantStatus::Deleted,
            _ => return None,
        })
    }

    /// The word [`TenantStatus::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Disabled => "disabled",
            TenantStatus::Deleted => "deleted",
        }
    }

    /// The SQL condition on `tenants` that selects this status.
    fn condition(self) -> &'static str {
        match self {
            TenantStatus::Active => "disabled_at IS NULL AND deleted_at IS NULL",
            TenantStatus::Disabled => "disabled_at IS NOT NULL AND deleted_at IS NULL",
            TenantStatus::Deleted => "deleted_at IS NOT NULL",
        }
    }
}

/// A tenant as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TenantRecord {
    /// The id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `active`, `disabled` or `deleted`.
    pub status: TenantStatus,
    /// When it was created (Unix ms).
    pub created_at: Millis,
    /// When it was disabled (Unix ms).
    pub disabled_at: Option<Millis>,
    /// Why, as the admin said.
    pub disabled_reason: Option<String>,
    /// When it was deleted (Unix ms).
    pub deleted_at: Option<Millis>,
    /// Its own egress ceiling, requests a second across plugins (0: none); absent, the host's
    /// `tenant_egress_per_second` applies.
    pub egress_per_second: Option<u32>,
}

const TENANT_COLUMNS: &str =
    "id, name, created_at, disabled_at, disabled_reason, deleted_at, egress_per_second";

fn tenant_from_row(row: &AnyRow) -> TenantRecord {
    let disabled_at: Option<Millis> = row.get("disabled_at");
    let deleted_at: Option<Millis> = row.get("deleted_at");
    let status = match (disabled_at, deleted_at) {
        (_, Some(_)) => TenantStatus::Deleted,
        (Some(_), None) => TenantStatus::Disabled,
        (None, None) => TenantStatus::Active,
    };
    TenantRecord {
        id: row.get("id"),
        name: row.get("name"),
        status,
        created_at: row.get("created_at"),
        disabled_at,
        disabled_reason: row.get("disabled_reason"),
        deleted_at,
        egress_per_second: row
            .get::<Option<i64>, _>("egress_per_second")
            .map(|n| n.clamp(0, i64::from(u32::MAX)) as u32),
    }
}

/// What deleting a tenant erased and stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TenantDeletion {
    /// Sealed secrets erased (tokens, app credentials, signing secrets).
    pub secrets_erased: u64,
    /// Jobs cancelled (queued, paused or running).
    pub jobs_cancelled: u64,
    /// API keys revoked.
    pub keys_revoked: u64,
    /// Connections marked deleted.
    pub connections_deleted: u64,
    /// Outbound event deliveries given up.
    pub deliveries_dropped: u64,
}

/// Which audit entries to read; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// One tenant's entries.
    pub tenant: Option<String>,
    /// One action (`tenant.disabled`, `api-key.revoked`, …).
    pub action: Option<String>,
    /// One actor (`admin`, `api`, `cli`, …).
    pub actor: Option<String>,
    /// One subject (the key, connection, plugin, … the entry is about).
    pub subject: Option<String>,
    /// At or after (Unix ms).
    pub since_ms: Option<Millis>,
    /// Before (Unix ms).
    pub until_ms: Option<Millis>,
}

/// One audit entry, with the tenant it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AuditRecord {
    /// Its id (time-ordered: the paging cursor).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// When (Unix ms).
    pub at: Millis,
    /// Who (`admin`, `cli`, `api`, `pipeline`, `refresh`, `health`, `webhook`, …).
    pub actor: String,
    /// What (`tenant.disabled`, `api-key.created`, `connection.deleted`, …).
    pub action: String,
    /// The row concerned.
    pub subject: String,
    /// Details, without secrets.
    pub detail: String,
}

/// Who an API key belongs to, as [`Store::key_owner`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// No such key, or it is revoked.
    Unknown,
    /// A key of this tenant, which may use the API.
    Tenant(String),
    /// A valid key of this tenant, which is disabled.
    Disabled(String),
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// One page of tenants, oldest first: those created after `after` (`(created_at, id)` of
    /// the previous page's last), with `status` when given.
    pub async fn tenants_after(
        &self,
        status: Option<TenantStatus>,
        limit: u32,
        after: Option<(Millis, &str)>,
    ) -> Result<Vec<TenantRecord>, StoreError> {
        let condition = status.map_or("1 = 1", TenantStatus::condition);
        let (at, id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TENANT_COLUMNS} FROM tenants
             WHERE {condition} AND ($2 IS NULL OR created_at > $2 OR (created_at = $2 AND id > $3))
             ORDER BY created_at, id LIMIT $1"
        )))
        .bind(limit as i64)
        .bind(at)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("listing tenants"))?;
        Ok(rows.iter().map(tenant_from_row).collect())
    }

    /// One tenant, whatever its status.
    pub async fn tenant_record(&self, id: &str) -> Result<TenantRecord, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("reading a tenant"))?;
        row.as_ref()
            .map(tenant_from_row)
            .ok_or_else(|| StoreError::not_found("tenant", id))
    }

    /// Disables a tenant: its keys are refused from now on and its queued jobs are held
    /// (running ones are held when they finish). Disabling a disabled tenant changes only the
    /// reason. Audited.
    pub async fn disable_tenant(
        &self,
        id: &str,
        reason: &str,
        actor: &str,
        now: Millis,
    ) -> Result<TenantRecord, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE tenants SET disabled_at = COALESCE(disabled_at, $2), disabled_reason = $3
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("disabling a tenant"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("tenant", id));
        }
        let held = sqlx::query(
            "UPDATE jobs SET state = 'paused', state_reason = $3, updated_at = $2
             WHERE tenant_id = $1 AND state = 'queued'",
        )
        .bind(id)
        .bind(now)
        .bind(PAUSED_FOR_TENANT)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("holding a tenant's jobs"))?
        .rows_affected();
        let detail = format!("jobs_held={held} reason={reason}");
        audit(&mut tx, id, now, actor, "tenant.disabled", id, &detail).await?;
        self.commit_record(tx, id, "committing a tenant's disabling")
            .await
    }

    /// Re-enables a disabled tenant: its keys work again and the jobs held for it are queued.
    /// Audited.
    pub async fn enable_tenant(
        &self,
        id: &str,
        actor: &str,
        now: Millis,
    ) -> Result<TenantRecord, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE tenants SET disabled_at = NULL, disabled_reason = NULL
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("enabling a tenant"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("tenant", id));
        }
        let resumed = sqlx::query(
            "UPDATE jobs SET state = 'queued', state_reason = NULL, next_run_at = $2, updated_at = $2
             WHERE tenant_id = $1 AND state = 'paused' AND state_reason = $3",
        )
        .bind(id)
        .bind(now)
        .bind(PAUSED_FOR_TENANT)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("resuming a tenant's jobs"))?
        .rows_affected();
        let detail = format!("resumed_jobs={resumed}");
        audit(&mut tx, id, now, actor, "tenant.enabled", id, &detail).await?;
        self.commit_record(tx, id, "committing a tenant's enabling")
            .await
    }

    /// Deletes a tenant in one transaction: its sealed secrets and data keys are erased (what
    /// backups still hold cannot be opened without the data keys, which are gone too), its
    /// jobs cancelled (a platform call running at that moment may still complete; its outcome
    /// is not recorded), its keys revoked, its connections marked deleted, its OAuth states and
    /// pending event deliveries dropped. The tenant row stays as a tombstone. Audited.
    pub async fn delete_tenant(
        &self,
        id: &str,
        actor: &str,
        now: Millis,
    ) -> Result<TenantDeletion, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE tenants SET deleted_at = $2, disabled_at = COALESCE(disabled_at, $2)
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("deleting a tenant"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("tenant", id));
        }
        let deletion = TenantDeletion {
            secrets_erased: run(&mut tx, "DELETE FROM vault_secrets WHERE tenant = $1", id, now)
                .await?,
            jobs_cancelled: run(
                &mut tx,
                "UPDATE jobs SET state = 'cancelled', state_reason = 'tenant deleted', lease_owner = NULL, updated_at = $2
                 WHERE tenant_id = $1 AND state IN ('queued', 'paused', 'running')",
                id,
                now,
            )
            .await?,
            keys_revoked: run(
                &mut tx,
                "UPDATE api_keys SET revoked_at = $2
                 WHERE tenant_id = $1 AND (revoked_at IS NULL OR revoked_at > $2)",
                id,
                now,
            )
            .await?,
            connections_deleted: run(
                &mut tx,
                "UPDATE connections SET deleted_at = $2, status = 'revoked', status_reason = 'tenant deleted', updated_at = $2
                 WHERE tenant_id = $1 AND deleted_at IS NULL",
                id,
                now,
            )
            .await?,
            deliveries_dropped: run(
                &mut tx,
                "UPDATE event_deliveries SET state = 'failed', last_error = 'tenant deleted', lease_owner = NULL
                 WHERE tenant_id = $1 AND state = 'pending'",
                id,
                now,
            )
            .await?,
        };
        run(&mut tx, "DELETE FROM vault_keys WHERE tenant = $1", id, now).await?;
        run(
            &mut tx,
            "DELETE FROM oauth_states WHERE tenant_id = $1",
            id,
            now,
        )
        .await?;
        run(
            &mut tx,
            "UPDATE event_endpoints SET enabled = 0, updated_at = $2 WHERE tenant_id = $1",
            id,
            now,
        )
        .await?;
        let detail = format!(
            "secrets_erased={} jobs_cancelled={} keys_revoked={} connections_deleted={} deliveries_dropped={}",
            deletion.secrets_erased,
            deletion.jobs_cancelled,
            deletion.keys_revoked,
            deletion.connections_deleted,
            deletion.deliveries_dropped
        );
        audit(&mut tx, id, now, actor, "tenant.deleted", id, &detail).await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a tenant's deletion"))?;
        self.targets.forget(id, None);
        Ok(deletion)
    }

    /// One page of audit entries, newest first: those whose id sorts before `before` (the last
    /// id of the previous page), narrowed by `filter`.
    pub async fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, at, actor, action, subject, detail FROM audit_log
             WHERE ($2 IS NULL OR tenant_id = $2) AND ($3 IS NULL OR action = $3)
               AND ($4 IS NULL OR actor = $4) AND ($5 IS NULL OR at >= $5)
               AND ($6 IS NULL OR at < $6) AND ($7 IS NULL OR id < $7)
               AND ($8 IS NULL OR subject = $8)
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit as i64)
        .bind(filter.tenant.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.actor.as_deref())
        .bind(filter.since_ms)
        .bind(filter.until_ms)
        .bind(before)
        .bind(filter.subject.as_deref())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("reading the audit log"))?;
        Ok(rows
            .iter()
            .map(|row| AuditRecord {
                id: row.get("id"),
                tenant_id: row.get("tenant_id"),
                at: row.get("at"),
                actor: row.get("actor"),
                action: row.get("action"),
                subject: row.get("subject"),
                detail: row.get("detail"),
            })
            .collect())
    }

    /// Who `key` belongs to: one indexed read, on every request, so a revoked key or a disabled
    /// tenant is refused by every replica from the moment it is committed.
    pub async fn key_owner(&self, key: &str, now: Millis) -> Result<KeyOwner, StoreError> {
        let row = sqlx::query(
            "SELECT k.tenant_id, t.disabled_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
             WHERE k.key_sha256 = $1 AND (k.revoked_at IS NULL OR k.revoked_at > $2)",
        )
        .bind(super::access::digest(key))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("checking an API key"))?;
        Ok(match row {
            None => KeyOwner::Unknown,
            Some(row) => {
                let tenant: String = row.get("tenant_id");
                if row.get::<Option<Millis>, _>("disabled_at").is_some() {
                    KeyOwner::Disabled(tenant)
                } else {
                    KeyOwner::Tenant(tenant)
                }
            }
        })
    }

    pub(super) async fn commit_record(
        &self,
        tx: Tx,
        id: &str,
        operation: &'static str,
    ) -> Result<TenantRecord, StoreError> {
        tx.commit().await.map_err(StoreError::db(operation))?;
        self.tenant_record(id).await
    }
}

impl super::TenantStore {
    /// This tenant's connections by status, deleted ones left out.
    pub async fn connection_counts(
        &self,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM connections WHERE tenant_id = $1 AND deleted_at IS NULL
             GROUP BY status",
        )
        .bind(&self.tenant)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("counting connections"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get("status"), r.get::<i64, _>("n") as u64))
            .collect())
    }
}

/// Runs one statement binding `(tenant, now)` in `tx`; returns the rows it touched.
async fn run(tx: &mut Tx, sql: &'static str, tenant: &str, now: Millis) -> Result<u64, StoreError> {
    let mut query = sqlx::query(sql).bind(tenant);
    if sql.contains("$2") {
        query = query.bind(now);
    }
    Ok(query
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db("deleting a tenant"))?
        .rows_affected())
}

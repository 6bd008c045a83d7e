//! Tenants' own egress ceilings (admin API): stored on the tenant row, read by every replica
//! into its runtime ([`crate::fleet`] applies them with the plugin registry, woken by the same
//! notification on PostgreSQL).

use std::collections::HashMap;

use sqlx::Row;

use super::admin::TenantRecord;
use super::tenants::audit;
use super::{Backend, Millis, PLUGINS_CHANNEL, Store, StoreError};

impl Store {
    /// Sets (`Some`, requests a second, 0 for none) or clears (`None`: the host's default) a
    /// tenant's own egress ceiling. Audited; the other replicas are told.
    pub async fn set_tenant_egress(
        &self,
        id: &str,
        per_second: Option<u32>,
        actor: &str,
        now: Millis,
    ) -> Result<TenantRecord, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE tenants SET egress_per_second = $2 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(per_second.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("setting a tenant's egress ceiling"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("tenant", id));
        }
        let detail = match per_second {
            Some(n) => format!("egress_per_second={n}"),
            None => "egress_per_second=default".to_string(),
        };
        audit(&mut tx, id, now, actor, "tenant.limits", id, &detail).await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)::TEXT")
                .bind(PLUGINS_CHANNEL)
                .bind(format!("tenant:{id}"))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("announcing a tenant's limits"))?;
        }
        self.commit_record(tx, id, "committing a tenant's limits")
            .await
    }

    /// Every tenant's own egress ceiling (tenants without one are left out).
    pub async fn tenant_egress_ceilings(&self) -> Result<HashMap<String, u32>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, egress_per_second FROM tenants
             WHERE egress_per_second IS NOT NULL AND deleted_at IS NULL",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("reading tenants' egress ceilings"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let n: i64 = r.get("egress_per_second");
                (r.get("id"), n.clamp(0, i64::from(u32::MAX)) as u32)
            })
            .collect())
    }
}

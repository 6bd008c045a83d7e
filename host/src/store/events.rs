//! Verified webhook events (stored once per platform event id) and the connection health log.

use sqlx::Row;

use super::{HealthRecord, Millis, Store, StoreError, TenantStore, new_id};

/// A verified webhook event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookEvent {
    /// The plugin that verified it.
    pub plugin: String,
    /// The platform's event id.
    pub event_id: String,
    /// The tenant it concerns, when known.
    pub tenant_id: Option<String>,
    /// The connection it concerns, when known.
    pub connection_id: Option<String>,
    /// The event type.
    pub kind: String,
    /// Its data (JSON).
    pub payload: String,
}

impl Store {
    /// Stores a verified event; false when that platform event id was stored before (a
    /// duplicate delivery, to acknowledge and otherwise ignore).
    pub async fn record_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO webhook_events (plugin, event_id, tenant_id, connection_id, kind, payload, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plugin, event_id) DO NOTHING",
        )
        .bind(&event.plugin)
        .bind(&event.event_id)
        .bind(event.tenant_id.as_deref())
        .bind(event.connection_id.as_deref())
        .bind(&event.kind)
        .bind(&event.payload)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(StoreError::db("storing a webhook event"))?;
        Ok(done.rows_affected() == 1)
    }
}

impl TenantStore {
    /// Makes the queued jobs of `connection` (of `plugin`) whose recovery point is
    /// `recovery_point` due at `now`, with their pending continuations: a webhook event said
    /// what those jobs wait for happened, so their next step should not wait out its delay.
    /// Returns the woken jobs with their new due time, for the dispatcher.
    pub async fn wake_jobs_at(
        &self,
        connection: &str,
        plugin: &str,
        recovery_point: &str,
        now: Millis,
    ) -> Result<Vec<(String, Millis)>, StoreError> {
        let mut tx = self.store.begin().await?;
        let woken: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET next_run_at = $5, updated_at = $5
             WHERE tenant_id = $1 AND connection_id = $2 AND plugin = $3 AND recovery_point = $4
                 AND state = 'queued' AND next_run_at > $5
             RETURNING id",
        )
        .bind(&self.tenant)
        .bind(connection)
        .bind(plugin)
        .bind(recovery_point)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db("waking jobs"))?;
        for job in &woken {
            sqlx::query(
                "UPDATE job_tasks SET run_at = $3 WHERE tenant_id = $1 AND job_id = $2 AND run_at > $3",
            )
            .bind(&self.tenant)
            .bind(job)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("waking continuations"))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing woken jobs"))?;
        Ok(woken.into_iter().map(|id| (id, now)).collect())
    }

    /// Records a health check and schedules the next one at `next_at`. Status changes are the
    /// caller's ([`TenantStore::set_connection_status`]), since only it knows what the error means.
    pub async fn record_health(
        &self,
        connection: &str,
        check: &HealthRecord,
        next_at: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO connection_health (tenant_id, id, connection_id, checked_at, latency_ms, ok, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&self.tenant)
        .bind(new_id("hc"))
        .bind(connection)
        .bind(check.checked_at)
        .bind(check.latency_ms)
        .bind(check.ok as i64)
        .bind(check.error.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("recording a health check"))?;
        let done = sqlx::query(
            "UPDATE connections SET next_health_at = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(connection)
        .bind(next_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("scheduling a health check"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("connection", connection));
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing a health check"))
    }

    /// The newest `limit` health checks of a connection, newest first.
    pub async fn health_log(
        &self,
        connection: &str,
        limit: u32,
    ) -> Result<Vec<HealthRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT connection_id, checked_at, latency_ms, ok, error FROM connection_health
             WHERE tenant_id = $1 AND connection_id = $2 ORDER BY checked_at DESC, id DESC LIMIT $3",
        )
        .bind(&self.tenant)
        .bind(connection)
        .bind(limit as i64)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("reading the health log"))?;
        Ok(rows
            .iter()
            .map(|r| HealthRecord {
                connection_id: r.get("connection_id"),
                checked_at: r.get("checked_at"),
                latency_ms: r.get("latency_ms"),
                ok: r.get::<i64, _>("ok") != 0,
                error: r.get("error"),
            })
            .collect())
    }
}

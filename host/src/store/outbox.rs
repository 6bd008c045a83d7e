//! The event outbox: a tenant's endpoints, and [`emit`], which writes an event's deliveries in
//! the caller's transaction (so an event exists exactly when the change it reports does).
//! Claiming and recording deliveries is `deliveries.rs`.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::tenants::audit;
use super::{Millis, StoreError, TenantStore, new_id};
use crate::events::Event;

/// What `event_types` holds for an endpoint that wants every type.
const ALL_TYPES: &str = "*";

/// An endpoint of a tenant's app that receives events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EventEndpoint {
    /// Its id.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it receives; `["*"]` for all.
    pub event_types: Vec<String>,
    /// The tenant's note.
    pub description: String,
    /// Disabled endpoints get no new events; their pending deliveries wait.
    pub enabled: bool,
    /// Until when the secret the last rotation replaced also signs deliveries.
    pub previous_secret_expires_at: Option<Millis>,
    /// Created.
    pub created_at: Millis,
    /// Last changed.
    pub updated_at: Millis,
}

/// A new endpoint (checked by the caller: URL allowed, types known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEventEndpoint {
    /// Where deliveries go.
    pub url: String,
    /// The event types; empty for all.
    pub event_types: Vec<String>,
    /// The tenant's note.
    pub description: String,
    /// Whether it receives events now.
    pub enabled: bool,
}

/// A change to an endpoint; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventEndpointChange {
    /// A new URL.
    pub url: Option<String>,
    /// New event types (empty for all).
    pub event_types: Option<Vec<String>>,
    /// A new note.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// A new endpoint id (its signing secret is stored under it before the endpoint is).
pub fn new_event_endpoint_id() -> String {
    new_id("ep")
}

/// The stored form of a type list: each type between spaces, so one `LIKE` finds a type.
fn stored_types(types: &[String]) -> String {
    if types.is_empty() || types.iter().any(|t| t == ALL_TYPES) {
        format!(" {ALL_TYPES} ")
    } else {
        format!(" {} ", types.join(" "))
    }
}

const COLUMNS: &str =
    "id, url, event_types, description, enabled, previous_secret_until, created_at, updated_at";

fn from_row(row: &AnyRow) -> EventEndpoint {
    let types: String = row.get("event_types");
    EventEndpoint {
        id: row.get("id"),
        url: row.get("url"),
        event_types: types.split_whitespace().map(String::from).collect(),
        description: row.get("description"),
        enabled: row.get::<i64, _>("enabled") != 0,
        previous_secret_expires_at: row.get("previous_secret_until"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// The condition on `event_endpoints` rows that take events of the type in SQL expression
/// `kind` (enabled, and subscribed to it or to everything).
pub(super) fn endpoints_taking(kind: &str) -> String {
    format!("enabled = 1 AND (event_types = ' * ' OR event_types LIKE '% ' || {kind} || ' %')")
}

/// Writes `event`'s deliveries, one per enabled endpoint of `tenant` that wants its type, in
/// the caller's transaction; returns how many. An event no endpoint wants leaves no row.
pub(crate) async fn emit(
    conn: &mut sqlx::AnyConnection,
    tenant: &str,
    event: &Event,
    now: Millis,
) -> Result<u64, StoreError> {
    let id = new_id("evt");
    let body = event.body(&id, tenant, now);
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO event_deliveries (tenant_id, endpoint_id, event_id, event_type, ordering_key, payload,
             state, attempts, next_attempt_at, window_start, created_at)
         SELECT tenant_id, id, $2, $3, $4, $5, 'pending', 0, $6, $6, $6 FROM event_endpoints
         WHERE tenant_id = $1 AND {}",
        endpoints_taking("$3")
    )))
    .bind(tenant)
    .bind(&id)
    .bind(event.kind.as_str())
    .bind(&event.ordering_key)
    .bind(&body)
    .bind(now)
    .execute(conn)
    .await
    .map_err(StoreError::db("writing an event"))?;
    Ok(done.rows_affected())
}

impl TenantStore {
    /// Stores a new endpoint `id` (a [`new_event_endpoint_id`]); audited.
    pub async fn create_event_endpoint(
        &self,
        id: &str,
        new: &NewEventEndpoint,
        actor: &str,
        now: Millis,
    ) -> Result<EventEndpoint, StoreError> {
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO event_endpoints (tenant_id, id, url, event_types, description, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(&new.url)
        .bind(stored_types(&new.event_types))
        .bind(&new.description)
        .bind(new.enabled as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("storing an event endpoint"))?;
        let detail = format!(
            "url={} types={}",
            new.url,
            stored_types(&new.event_types).trim()
        );
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "event-endpoint.created",
            id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing an event endpoint"))?;
        self.event_endpoint(id).await
    }

    /// The tenant's endpoints, oldest first.
    pub async fn event_endpoints(&self) -> Result<Vec<EventEndpoint>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM event_endpoints WHERE tenant_id = $1 ORDER BY created_at, id"
        )))
        .bind(&self.tenant)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("listing event endpoints"))?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// One endpoint of this tenant.
    pub async fn event_endpoint(&self, id: &str) -> Result<EventEndpoint, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM event_endpoints WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(&self.tenant)
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(StoreError::db("reading an event endpoint"))?;
        row.as_ref()
            .map(from_row)
            .ok_or_else(|| StoreError::not_found("event endpoint", id))
    }

    /// Changes an endpoint; audited.
    pub async fn update_event_endpoint(
        &self,
        id: &str,
        change: &EventEndpointChange,
        actor: &str,
        now: Millis,
    ) -> Result<EventEndpoint, StoreError> {
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE event_endpoints SET url = COALESCE($3, url), event_types = COALESCE($4, event_types),
                 description = COALESCE($5, description), enabled = COALESCE($6, enabled), updated_at = $7
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(change.url.as_deref())
        .bind(change.event_types.as_deref().map(stored_types))
        .bind(change.description.as_deref())
        .bind(change.enabled.map(|e| e as i64))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("changing an event endpoint"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("event endpoint", id));
        }
        let detail = format!(
            "url={} types={} enabled={}",
            change.url.as_deref().unwrap_or("-"),
            change
                .event_types
                .as_deref()
                .map_or("-".into(), |t| stored_types(t).trim().to_string()),
            change.enabled.map_or("-".into(), |e| e.to_string())
        );
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "event-endpoint.changed",
            id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing an event endpoint"))?;
        self.event_endpoint(id).await
    }

    /// Records a secret rotation: the replaced secret signs too until `previous_until`. The
    /// secrets themselves are the vault's. Audited.
    pub async fn record_secret_rotation(
        &self,
        id: &str,
        previous_until: Millis,
        actor: &str,
        now: Millis,
    ) -> Result<EventEndpoint, StoreError> {
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE event_endpoints SET previous_secret_until = $3, updated_at = $4
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(previous_until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("recording a secret rotation"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("event endpoint", id));
        }
        let detail = format!("previous_secret_until={previous_until}");
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "event-endpoint.secret-rotated",
            id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a secret rotation"))?;
        self.event_endpoint(id).await
    }

    /// Deletes an endpoint with its deliveries and their attempts; audited. (Its secrets are
    /// the vault's: the caller erases them.)
    pub async fn delete_event_endpoint(
        &self,
        id: &str,
        actor: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        for (table, operation) in [
            ("event_attempts", "erasing an endpoint's attempts"),
            ("event_deliveries", "erasing an endpoint's deliveries"),
        ] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND endpoint_id = $2"
            )))
            .bind(&self.tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(operation))?;
        }
        let done = sqlx::query("DELETE FROM event_endpoints WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("deleting an event endpoint"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::not_found("event endpoint", id));
        }
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "event-endpoint.deleted",
            id,
            "",
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing an endpoint's deletion"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_lists_are_stored_between_spaces() {
        assert_eq!(stored_types(&[]), " * ");
        assert_eq!(stored_types(&["*".into(), "post.failed".into()]), " * ");
        assert_eq!(
            stored_types(&["post.failed".into(), "connection.healthy".into()]),
            " post.failed connection.healthy "
        );
    }
}

//! Event deliveries: claiming due ones under a lease (in order per subject), recording each
//! attempt, listing them for the tenant, redelivering, and retention.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::tenants::audit;
use super::{Backend, Millis, Store, StoreError, TenantStore};

/// An endpoint's URL and `previous_secret_until`, read when its deliveries are claimed.
type EndpointNow = (String, Option<Millis>);

/// A delivery a worker holds until its lease ends.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The tenant.
    pub tenant_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event id (`webhook-id`).
    pub event_id: String,
    /// The body to send.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Retries end at the window that starts here.
    pub window_start: Millis,
    /// The lease token.
    pub lease: String,
    /// The endpoint's URL now.
    pub url: String,
    /// Until when the secret a rotation replaced also signs.
    pub previous_secret_until: Option<Millis>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// When it was sent.
    pub at: Millis,
    /// How long it took.
    pub latency_ms: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// What follows.
    pub next: DeliveryNext,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    /// Done: the receiver answered 2xx.
    Delivered,
    /// Try again at this time.
    RetryAt(Millis),
    /// Given up: the retry window ended, or the endpoint can never be reached.
    Failed,
}

/// A delivery as the tenant sees it, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EventDeliveryRecord {
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: Option<Millis>,
    /// The last answer's status.
    pub last_status: Option<u16>,
    /// The last error.
    pub last_error: Option<String>,
    /// When the event occurred.
    pub created_at: Millis,
    /// When it was delivered.
    pub delivered_at: Option<Millis>,
    /// The body sent.
    pub payload: serde_json::Value,
    /// Every recorded attempt, oldest first.
    pub attempt_log: Vec<AttemptRecord>,
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AttemptRecord {
    /// Its number.
    pub attempt: u32,
    /// When it was sent.
    pub at: Millis,
    /// How long it took.
    pub latency_ms: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub error: Option<String>,
}

/// Which deliveries of an endpoint to send again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redelivery {
    /// One event.
    Event(String),
    /// Every event that occurred in `[since, until)`.
    Range {
        /// From (inclusive), Unix ms.
        since: Millis,
        /// To (exclusive), Unix ms.
        until: Millis,
    },
}

impl Store {
    /// Claims up to `limit` due deliveries for `worker` until `now + lease_ms`: pending, due,
    /// not leased, of an enabled endpoint, and with no earlier pending delivery of the same
    /// subject to that endpoint.
    pub async fn claim_event_deliveries(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let lease = format!("{worker}/{}", uuid::Uuid::now_v7().simple());
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE event_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE (tenant_id, endpoint_id, event_id) IN (
                 SELECT d.tenant_id, d.endpoint_id, d.event_id FROM event_deliveries d
                 JOIN event_endpoints p ON p.tenant_id = d.tenant_id AND p.id = d.endpoint_id
                 WHERE d.state = 'pending' AND d.next_attempt_at <= $3
                     AND (d.lease_until IS NULL OR d.lease_until < $3) AND p.enabled = 1
                     AND NOT EXISTS (SELECT 1 FROM event_deliveries e
                         WHERE e.tenant_id = d.tenant_id AND e.endpoint_id = d.endpoint_id
                             AND e.ordering_key = d.ordering_key AND e.state = 'pending'
                             AND e.event_id < d.event_id)
                 ORDER BY d.next_attempt_at LIMIT $4 {lock})
             RETURNING tenant_id, endpoint_id, event_id, payload, attempts, window_start"
        )))
        .bind(&lease)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.writer)
        .await
        .map_err(StoreError::db("claiming event deliveries"))?;
        // Each endpoint's URL and rotation as they are now (a batch often shares endpoints).
        let mut endpoints: HashMap<(String, String), Option<EndpointNow>> = HashMap::new();
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let key: (String, String) = (row.get("tenant_id"), row.get("endpoint_id"));
            if !endpoints.contains_key(&key) {
                let endpoint = sqlx::query(
                    "SELECT url, previous_secret_until FROM event_endpoints WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&key.0)
                .bind(&key.1)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db("reading an event endpoint"))?
                .map(|e| (e.get("url"), e.get("previous_secret_until")));
                endpoints.insert(key.clone(), endpoint);
            }
            // Deleted since the claim: its deliveries went with it.
            let Some(Some((url, previous_secret_until))) = endpoints.get(&key).cloned() else {
                continue;
            };
            claimed.push(ClaimedDelivery {
                event_id: row.get("event_id"),
                payload: row.get("payload"),
                attempts: row.get::<i64, _>("attempts").clamp(0, u32::MAX as i64) as u32,
                window_start: row.get("window_start"),
                lease: lease.clone(),
                url,
                previous_secret_until,
                tenant_id: key.0,
                endpoint_id: key.1,
            });
        }
        Ok(claimed)
    }

    /// Records an attempt and moves the delivery on, if the lease still holds; false (and
    /// nothing written) when it did not (the delivery was taken over, or its endpoint deleted).
    pub async fn record_event_attempt(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &DeliveryAttempt,
    ) -> Result<bool, StoreError> {
        let (state, next_at, delivered_at) = match attempt.next {
            DeliveryNext::Delivered => ("delivered", None, Some(attempt.at)),
            DeliveryNext::RetryAt(at) => ("pending", Some(at), None),
            DeliveryNext::Failed => ("failed", None, None),
        };
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE event_deliveries SET state = $5, next_attempt_at = COALESCE($6, next_attempt_at),
                 delivered_at = $7, last_status = $8, last_error = $9, lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = $1 AND endpoint_id = $2 AND event_id = $3 AND lease_owner = $4",
        )
        .bind(&delivery.tenant_id)
        .bind(&delivery.endpoint_id)
        .bind(&delivery.event_id)
        .bind(&delivery.lease)
        .bind(state)
        .bind(next_at)
        .bind(delivered_at)
        .bind(attempt.status.map(i64::from))
        .bind(attempt.error.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("recording a delivery"))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO event_attempts (tenant_id, endpoint_id, event_id, attempt, at, latency_ms, status, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(&delivery.tenant_id)
        .bind(&delivery.endpoint_id)
        .bind(&delivery.event_id)
        .bind(i64::from(delivery.attempts))
        .bind(attempt.at)
        .bind(attempt.latency_ms)
        .bind(attempt.status.map(i64::from))
        .bind(attempt.error.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("recording a delivery attempt"))?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a delivery"))?;
        Ok(true)
    }

    /// Refreshes the planner's statistics of the delivery tables. A table that grew from empty
    /// without them (PostgreSQL's autovacuum off or not yet run) gets plans that check every
    /// pending delivery's order by scanning the others: seconds per claim at a few thousand.
    pub async fn analyze_event_deliveries(&self) -> Result<(), StoreError> {
        for table in ["event_deliveries", "event_endpoints"] {
            sqlx::query(AssertSqlSafe(format!("ANALYZE {table}")))
                .execute(&self.writer)
                .await
                .map_err(StoreError::db("refreshing delivery statistics"))?;
        }
        Ok(())
    }

    /// Deliveries not yet delivered nor given up, across tenants.
    pub async fn pending_event_deliveries(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM event_deliveries WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::db("counting pending deliveries"))?;
        Ok(n as u64)
    }

    /// Erases delivered and failed deliveries (with their attempts) of events older than
    /// `before`; returns how many deliveries.
    pub async fn purge_event_deliveries(&self, before: Millis) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "DELETE FROM event_attempts WHERE (tenant_id, endpoint_id, event_id) IN (
                 SELECT tenant_id, endpoint_id, event_id FROM event_deliveries
                 WHERE state <> 'pending' AND created_at < $1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("erasing old delivery attempts"))?;
        let done = sqlx::query(
            "DELETE FROM event_deliveries WHERE state <> 'pending' AND created_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("erasing old deliveries"))?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing delivery retention"))?;
        Ok(done.rows_affected())
    }
}

fn status_of(row: &AnyRow, column: &str) -> Option<u16> {
    row.get::<Option<i64>, _>(column)
        .and_then(|s| u16::try_from(s).ok())
}

impl TenantStore {
    /// Deliveries to endpoint `endpoint` (optionally in one `state`), newest first, each with its
    /// attempts: at most `limit`, those whose event id sorts before `before` (event ids are
    /// time-ordered; the previous page's last).
    pub async fn event_deliveries(
        &self,
        endpoint: &str,
        state: Option<&str>,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<EventDeliveryRecord>, StoreError> {
        self.event_endpoint(endpoint).await?;
        let rows = sqlx::query(
            "SELECT event_id, event_type, state, attempts, next_attempt_at, last_status, last_error,
                 created_at, delivered_at, payload
             FROM event_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 IS NULL OR state = $3)
                 AND ($5 IS NULL OR event_id < $5)
             ORDER BY event_id DESC LIMIT $4",
        )
        .bind(&self.tenant)
        .bind(endpoint)
        .bind(state)
        .bind(limit as i64)
        .bind(before)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("listing deliveries"))?;
        let ids: Vec<String> = rows.iter().map(|r| r.get("event_id")).collect();
        let mut attempts: HashMap<String, Vec<AttemptRecord>> = HashMap::new();
        if !ids.is_empty() {
            let sql = format!(
                "SELECT event_id, attempt, at, latency_ms, status, error FROM event_attempts
                 WHERE tenant_id = $1 AND endpoint_id = $2 AND event_id IN ({})
                 ORDER BY event_id, attempt",
                (3..3 + ids.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(&self.tenant)
                .bind(endpoint);
            for id in &ids {
                query = query.bind(id);
            }
            for a in query
                .fetch_all(&self.store.pool)
                .await
                .map_err(StoreError::db("listing delivery attempts"))?
            {
                attempts
                    .entry(a.get("event_id"))
                    .or_default()
                    .push(AttemptRecord {
                        attempt: a.get::<i64, _>("attempt").clamp(0, u32::MAX as i64) as u32,
                        at: a.get("at"),
                        latency_ms: a.get("latency_ms"),
                        status: status_of(&a, "status"),
                        error: a.get("error"),
                    });
            }
        }
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let event_id: String = row.get("event_id");
            let state: String = row.get("state");
            let payload: String = row.get("payload");
            records.push(EventDeliveryRecord {
                event_type: row.get("event_type"),
                attempts: row.get::<i64, _>("attempts").clamp(0, u32::MAX as i64) as u32,
                next_attempt_at: (state == "pending").then(|| row.get("next_attempt_at")),
                last_status: status_of(&row, "last_status"),
                last_error: row.get("last_error"),
                created_at: row.get("created_at"),
                delivered_at: row.get("delivered_at"),
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                attempt_log: attempts.remove(&event_id).unwrap_or_default(),
                state,
                event_id,
            });
        }
        Ok(records)
    }

    /// Sends the chosen deliveries of `endpoint` again: due now, with a new retry window.
    /// Returns how many; audited.
    pub async fn redeliver(
        &self,
        endpoint: &str,
        which: &Redelivery,
        actor: &str,
        now: Millis,
    ) -> Result<u64, StoreError> {
        self.event_endpoint(endpoint).await?;
        let (since, until, event) = match which {
            Redelivery::Event(id) => (i64::MIN, i64::MAX, Some(id.as_str())),
            Redelivery::Range { since, until } => (*since, *until, None),
        };
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE event_deliveries SET state = 'pending', next_attempt_at = $6, window_start = $6
             WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 IS NULL OR event_id = $3)
                 AND created_at >= $4 AND created_at < $5",
        )
        .bind(&self.tenant)
        .bind(endpoint)
        .bind(event)
        .bind(since)
        .bind(until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("redelivering events"))?;
        let n = done.rows_affected();
        if let Some(id) = event
            && n == 0
        {
            return Err(StoreError::not_found("event delivery", id));
        }
        let detail = match which {
            Redelivery::Event(id) => format!("event={id}"),
            Redelivery::Range { since, until } => format!("since={since} until={until} events={n}"),
        };
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "event-endpoint.redelivered",
            endpoint,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a redelivery"))?;
        Ok(n)
    }
}

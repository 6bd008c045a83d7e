//! Periodic `health()` per connection: a health log with latency and error, and the status
//! transitions it implies (`revoked` or `attention` when the platform refuses the token or its
//! permissions, `expiring_soon` for a token without refresh near its end, back to `healthy`
//! when a check passes again). Timeouts, 5xx, rate limits and configuration faults are logged
//! without touching the status: the user cannot fix them by reconnecting.

use std::time::Instant;

use super::Pipeline;
use super::refresh::{RefreshOutcome, RefreshTrigger, describe};
use crate::capability::CallContext;
use crate::runtime::wit::types::ConnectorError;
use crate::runtime::{Answer, CallError, Invocation, Served};
use crate::store::{Connection, ConnectionStatus, HealthRecord};
use crate::time::{Span, UnixMs};

/// What a health check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthOutcome {
    /// Whether the check passed.
    pub ok: bool,
    /// The connection's status afterwards.
    pub status: ConnectionStatus,
}

impl Pipeline {
    /// Checks one connection now.
    ///
    /// A check that meets an expired access token (`auth-expired`) refreshes the connection as a
    /// job would and checks again before blaming the user: only a refresh that fails for good
    /// (the refresh marks the connection itself) or a second `auth-expired` moves the status.
    pub async fn check_health(&self, connection: &Connection) -> Result<HealthOutcome, String> {
        let started = Instant::now();
        let mut answer = self.call_health(connection).await;
        // After a refresh the stored connection (status, token version) is what counts.
        let refreshed: Connection;
        let mut connection = connection;
        if matches!(
            &answer,
            Ok(served) if matches!(served.answer, Answer::Health(Err(ConnectorError::AuthExpired(_))))
        ) {
            let outcome = self
                .refresh(
                    &connection.tenant_id,
                    &connection.id,
                    RefreshTrigger::AuthExpired,
                )
                .await;
            refreshed = self
                .store
                .tenant(&connection.tenant_id)
                .connection(&connection.id)
                .await
                .map_err(|e| e.to_string())?;
            connection = &refreshed;
            match outcome {
                RefreshOutcome::Refreshed | RefreshOutcome::AlreadyFresh => {
                    answer = self.call_health(connection).await;
                }
                // Marked `attention` by the refresh itself, or a passing failure: the check
                // records what it met and the status is the refresh's business.
                RefreshOutcome::Failed { error, .. } => {
                    return self
                        .record_check(connection, started, false, Some(error), None)
                        .await;
                }
            }
        }
        let now = self.now();
        // (passed, error, new status and reason when the answer says something about access)
        let (ok, error, verdict): (bool, Option<String>, Option<(ConnectionStatus, String)>) =
            match answer {
                Ok(served) => match served.answer {
                    Answer::Health(Ok(_report)) => (true, None, None),
                    Answer::Health(Err(e)) => {
                        // Only what the user can fix moves the status; passing trouble and the
                        // operator's configuration (a denied host, a platform error) are logged.
                        let verdict = match &e {
                            ConnectorError::AuthRevoked(w) => {
                                Some((ConnectionStatus::Revoked, format!("access revoked: {w}")))
                            }
                            ConnectorError::AuthExpired(_)
                            | ConnectorError::PermissionMissing(_) => Some((
                                ConnectionStatus::Attention,
                                format!("health check failed: {}", describe(&e)),
                            )),
                            _ => None,
                        };
                        (false, Some(describe(&e)), verdict)
                    }
                    _ => unreachable!("health answers with a health report"),
                },
                Err(e) => (false, Some(e.to_string()), None),
            };
        let next = match verdict {
            Some(v) => Some(v),
            None if ok => self.status_when_working(connection, now),
            None => None,
        };
        self.record_check(connection, started, ok, error, next)
            .await
    }

    async fn call_health(&self, connection: &Connection) -> Result<Served<Answer>, CallError> {
        let context = CallContext::tenant(&connection.tenant_id).with_connection(&connection.id);
        self.runtime
            .invoke(&connection.plugin, context, Invocation::Health)
            .await
    }

    /// Records a check and moves the connection to `next` (status, reason) when that differs.
    async fn record_check(
        &self,
        connection: &Connection,
        started: Instant,
        ok: bool,
        error: Option<String>,
        next: Option<(ConnectionStatus, String)>,
    ) -> Result<HealthOutcome, String> {
        let latency_ms = Span::from(started.elapsed()).as_millis_i64();
        let now = self.now();
        let interval = self
            .runtime
            .plugin_config(&connection.plugin)
            .map(|c| c.entry.jobs.health_interval)
            .unwrap_or(std::time::Duration::from_secs(6 * 3600));
        let tenant = self.store.tenant(&connection.tenant_id);
        let record = HealthRecord {
            connection_id: connection.id.clone(),
            checked_at: now,
            latency_ms,
            ok,
            error,
        };
        let next_check = UnixMs::new(now).saturating_add(Span::from(interval)).get();
        tenant
            .record_health(&connection.id, &record, next_check)
            .await
            .map_err(|e| e.to_string())?;
        let mut status = connection.status;
        if let Some((new_status, reason)) = next
            && connection.status != ConnectionStatus::Revoked
            && (new_status != connection.status
                || connection.status_reason.as_deref() != reason_or_none(&reason))
        {
            tenant
                .set_connection_status(
                    &connection.id,
                    new_status,
                    reason_or_none(&reason),
                    "health",
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
            status = new_status;
        }
        Ok(HealthOutcome { ok, status })
    }

    /// The status a connection whose check passed should have: `expiring_soon` when its token
    /// cannot be refreshed and ends within the window, otherwise `healthy` — but an `attention`
    /// set by a failed refresh stays until a reconnect.
    fn status_when_working(
        &self,
        connection: &Connection,
        now: i64,
    ) -> Option<(ConnectionStatus, String)> {
        if connection.status == ConnectionStatus::Attention
            && !connection
                .status_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("health check failed"))
        {
            return None;
        }
        let soon = UnixMs::new(now).saturating_add(Span::from(self.settings.expiring_soon_window));
        let cannot_refresh = self.refresh_window(&connection.plugin).is_none()
            || connection.status == ConnectionStatus::ExpiringSoon;
        match connection.expires_at {
            Some(at) if cannot_refresh && UnixMs::new(at) <= soon => Some((
                ConnectionStatus::ExpiringSoon,
                format!(
                    "the token expires at {} and cannot be refreshed; reconnect",
                    at / 1000
                ),
            )),
            _ => Some((ConnectionStatus::Healthy, String::new())),
        }
    }

    /// Checks every connection whose check is due; returns how many were checked.
    pub async fn check_due_health(&self) -> usize {
        let due = match self.store.connections_due_for_health(self.now(), 200).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "finding connections to check failed");
                return 0;
            }
        };
        let mut checked = 0;
        for connection in &due {
            match self.check_health(connection).await {
                Ok(_) => checked += 1,
                Err(error) => {
                    tracing::error!(connection = %connection.id, %error, "health check not recorded")
                }
            }
        }
        checked
    }
}

fn reason_or_none(reason: &str) -> Option<&str> {
    (!reason.is_empty()).then_some(reason)
}

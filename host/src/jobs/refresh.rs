//! Token refresh: ahead of expiry per the plugin's policy, on an `auth-expired` answer, or on
//! request. One refresh per connection at a time across replicas; after taking the lock the
//! connection is read again, and tokens stored since the request was made (its `token_version`
//! moved) satisfy it — so any number of simultaneous triggers cause one token exchange.

use std::time::Duration;

use super::Pipeline;
use super::lock::LockGuard;
use crate::capability::CallContext;
use crate::config::Limits;
use crate::runtime::wit::types::ConnectorError;
use crate::runtime::{Answer, Invocation};
use crate::store::{Connection, ConnectionStatus, Millis};
use crate::time::{Span, UnixMs};

/// Longest wait for another refresh of the same connection to finish.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// How much longer than the refresh call may take its lease is held.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Why a refresh was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTrigger {
    /// The scheduler: the token is within the plugin's refresh window.
    Scheduled,
    /// A job found the token expired.
    Expired,
    /// The connector answered `auth-expired`.
    AuthExpired,
    /// An operator or the API asked.
    Manual,
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Tokens were exchanged and stored.
    Refreshed,
    /// Nothing to do: another refresh completed after this one was asked for, or the token is
    /// not yet due.
    AlreadyFresh,
    /// The refresh failed. `paused`: the connection was marked `attention` (its jobs wait for
    /// a reconnect); otherwise the failure was passing and the refresh is tried again later.
    Failed {
        /// Whether the connection was marked and its jobs paused.
        paused: bool,
        /// Why.
        error: String,
    },
}

impl Pipeline {
    /// Refreshes the tokens of one connection (see the module docs).
    pub async fn refresh(
        &self,
        tenant: &str,
        connection: &str,
        trigger: RefreshTrigger,
    ) -> RefreshOutcome {
        // What the tokens were when this refresh was asked for; if they changed by the time
        // the lock is ours, another refresh did the work.
        let seen = match self.store.tenant(tenant).connection(connection).await {
            Ok(c) => c.token_version,
            Err(e) => {
                return RefreshOutcome::Failed {
                    paused: false,
                    error: e.to_string(),
                };
            }
        };
        self.refresh_from(tenant, connection, trigger, seen).await
    }

    /// Refreshes unless the connection's tokens changed since the caller saw them at
    /// `seen_version` (its `token_version`): many callers that saw the same tokens cause one
    /// exchange between them.
    pub async fn refresh_from(
        &self,
        tenant: &str,
        connection: &str,
        trigger: RefreshTrigger,
        seen: i64,
    ) -> RefreshOutcome {
        let key = format!("{tenant}:{connection}");
        let guard = match self.locks.acquire(&key, LOCK_WAIT).await {
            Ok(guard) => guard,
            Err(error) => {
                return RefreshOutcome::Failed {
                    paused: false,
                    error,
                };
            }
        };
        let outcome = self
            .refresh_locked(tenant, connection, trigger, seen, &guard)
            .await;
        self.locks.release(guard).await;
        outcome
    }

    async fn refresh_locked(
        &self,
        tenant: &str,
        connection: &str,
        trigger: RefreshTrigger,
        seen_version: i64,
        guard: &LockGuard,
    ) -> RefreshOutcome {
        let store = self.store.tenant(tenant);
        let current = match store.connection(connection).await {
            Ok(c) => c,
            Err(e) => {
                return RefreshOutcome::Failed {
                    paused: false,
                    error: e.to_string(),
                };
            }
        };
        if current.token_version != seen_version {
            return RefreshOutcome::AlreadyFresh;
        }
        if trigger == RefreshTrigger::Scheduled && !self.refresh_due(&current, self.now()) {
            return RefreshOutcome::AlreadyFresh;
        }
        if current.status == ConnectionStatus::Revoked {
            return RefreshOutcome::Failed {
                paused: true,
                error: "the connection was revoked".into(),
            };
        }
        // The last step before the refresh token leaves: the lease must still be ours, for as
        // long as the call may take.
        let hold = self
            .runtime
            .plugin_config(&current.plugin)
            .map_or_else(Limits::default, |c| c.entry.limits.clone());
        let hold = hold.queue_wait + hold.deadline + LEASE_MARGIN;
        if let Err(error) = self.locks.confirm(guard, hold).await {
            return RefreshOutcome::Failed {
                paused: false,
                error,
            };
        }
        let context = CallContext::tenant(tenant).with_connection(connection);
        let answer = self
            .runtime
            .invoke(&current.plugin, context, Invocation::Refresh)
            .await;
        let now = self.now();
        let reply = match answer {
            Ok(served) => match served.answer {
                Answer::Refresh(reply) => reply,
                _ => unreachable!("refresh answers with a token expiry"),
            },
            Err(error) => {
                tracing::warn!(tenant, connection, %error, "refresh call failed; trying again later");
                return RefreshOutcome::Failed {
                    paused: false,
                    error: error.to_string(),
                };
            }
        };
        match reply {
            Ok(expiry) => {
                let ms = |secs: i64| UnixMs::from_unix_secs(secs).get();
                let expires_at = expiry.expires_at.map(ms);
                let refresh_expires_at = expiry.refresh_expires_at.map(ms);
                match store
                    .record_refresh(
                        connection,
                        expires_at,
                        refresh_expires_at,
                        &actor(trigger),
                        now,
                    )
                    .await
                {
                    Ok(()) => RefreshOutcome::Refreshed,
                    Err(e) => RefreshOutcome::Failed {
                        paused: false,
                        error: e.to_string(),
                    },
                }
            }
            Err(ConnectorError::RateLimited(info)) => RefreshOutcome::Failed {
                paused: false,
                error: format!("rate-limited: {}", info.reason),
            },
            Err(ConnectorError::Transient(why)) => RefreshOutcome::Failed {
                paused: false,
                error: format!("transient: {why}"),
            },
            Err(ConnectorError::NotSupported(why)) => {
                // Tokens this connection cannot renew: warn ahead of expiry, reconnect after.
                let status = match current.expires_at {
                    Some(at) if at <= now => ConnectionStatus::Attention,
                    _ => ConnectionStatus::ExpiringSoon,
                };
                let reason =
                    format!("the token cannot be refreshed ({why}); reconnect before it expires");
                let _ = store
                    .set_connection_status(connection, status, Some(&reason), &actor(trigger), now)
                    .await;
                RefreshOutcome::Failed {
                    paused: status == ConnectionStatus::Attention,
                    error: reason,
                }
            }
            Err(error) => {
                let (status, reason) = match &error {
                    ConnectorError::AuthRevoked(why) => {
                        (ConnectionStatus::Revoked, format!("access revoked: {why}"))
                    }
                    other => (
                        ConnectionStatus::Attention,
                        format!("refresh failed: {}", describe(other)),
                    ),
                };
                if let Err(e) = store
                    .set_connection_status(connection, status, Some(&reason), &actor(trigger), now)
                    .await
                {
                    tracing::error!(tenant, connection, error = %e, "marking a connection failed");
                }
                tracing::warn!(tenant, connection, %reason, "refresh failed; the connection's jobs wait for a reconnect");
                RefreshOutcome::Failed {
                    paused: true,
                    error: reason,
                }
            }
        }
    }

    /// True when the connection's token is within its plugin's refresh window.
    pub fn refresh_due(&self, connection: &Connection, now: Millis) -> bool {
        let Some(expires_at) = connection.expires_at else {
            return false;
        };
        match self.refresh_window(&connection.plugin) {
            // Both ends come from outside (the connector's expiry, the operator's window).
            Some(before) => {
                UnixMs::new(expires_at).saturating_sub(Span::from(before)) <= UnixMs::new(now)
            }
            None => false,
        }
    }

    /// How long before expiry `plugin` refreshes: `plugins.toml`'s `refresh_before_secs`, else
    /// the manifest's; `None` for plugins whose tokens never need it.
    pub fn refresh_window(&self, plugin: &str) -> Option<Duration> {
        let configured = self
            .runtime
            .plugin_config(plugin)
            .and_then(|c| c.entry.jobs.refresh_before);
        configured.or_else(|| {
            self.runtime
                .manifest(plugin)?
                .refresh_before_expiry_secs
                .map(Duration::from_secs)
        })
    }

    /// Refreshes every connection within its plugin's window; returns how many were refreshed.
    pub async fn refresh_due_connections(&self) -> usize {
        let now = self.now();
        let mut refreshed = 0;
        for status in self.runtime.plugins() {
            let Some(before) = self.refresh_window(&status.id) else {
                continue;
            };
            let horizon = UnixMs::new(now).saturating_add(Span::from(before)).get();
            let due = match self
                .store
                .connections_expiring(&status.id, horizon, 200)
                .await
            {
                Ok(due) => due,
                Err(error) => {
                    tracing::error!(%error, "finding connections to refresh failed");
                    continue;
                }
            };
            for connection in due {
                let outcome = self
                    .refresh(
                        &connection.tenant_id,
                        &connection.id,
                        RefreshTrigger::Scheduled,
                    )
                    .await;
                if outcome == RefreshOutcome::Refreshed {
                    refreshed += 1;
                }
            }
        }
        refreshed
    }
}

fn actor(trigger: RefreshTrigger) -> String {
    match trigger {
        RefreshTrigger::Scheduled => "refresh:scheduled",
        RefreshTrigger::Expired => "refresh:expired",
        RefreshTrigger::AuthExpired => "refresh:auth-expired",
        RefreshTrigger::Manual => "refresh:manual",
    }
    .to_string()
}

/// A connector error in words, without secrets (connectors never put tokens in errors; the
/// runtime redacts known secrets from anything the guest says).
pub fn describe(error: &ConnectorError) -> String {
    match error {
        ConnectorError::RateLimited(i) => format!("rate-limited: {}", i.reason),
        ConnectorError::AuthExpired(w) => format!("auth-expired: {w}"),
        ConnectorError::AuthRevoked(w) => format!("auth-revoked: {w}"),
        ConnectorError::PermissionMissing(s) => format!("permission-missing: {}", s.join(" ")),
        ConnectorError::InvalidInput(w) => format!("invalid-input: {w}"),
        ConnectorError::NotSupported(w) => format!("not-supported: {w}"),
        ConnectorError::Transient(w) => format!("transient: {w}"),
        ConnectorError::Platform(e) => format!("platform error {}: {}", e.code, e.message),
    }
}

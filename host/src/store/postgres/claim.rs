//! The claim: one fixed statement that leases up to N due jobs and returns everything their
//! runs need.

use super::super::pipeline::{Claimed, HeldScopes};
use super::super::{ConnectionStatus, Job, JobState, JobTask, Millis, RunGate, StoreError};

/// The claim's SQL (`claim.sql`), public for the plans benchmark, which explains it at a
/// million jobs.
///
/// Parameters: `$1` the lease token, `$2` its end, `$3` now, `$4` the most jobs to take, `$5`
/// the held tenants, `$6`/`$7` the held (tenant, connection) pairs, `$8`/`$9` plugins short
/// of room and their room, `$10`/`$11`/`$12` the limited scopes (tenant, connection or `''`
/// for the tenant's ceiling, room). Due jobs are queued ones due by `$3` outside the held
/// scopes (a plugin short of room and a limited scope each scanned on its own up to its room) and running ones whose lease ended
/// (their worker died); each kind is an ordered scan of its partial index (`jobs_queued`,
/// `jobs_leases`) that stops at its limit, rows locked `SKIP LOCKED` so replicas never wait for
/// each other. It returns each leased job with its post, its due continuation and what decides
/// whether it may run (tenant standing, plugin override, connection status and expiry).
pub const CLAIM_SQL: &str = include_str!("claim.sql");

/// Leases up to `limit` due jobs outside `held` to `lease` until `lease_until`.
pub(in crate::store) async fn claim(
    pool: &sqlx::PgPool,
    lease: &str,
    lease_until: Millis,
    now: Millis,
    limit: u32,
    held: &HeldScopes,
) -> Result<Vec<Claimed>, StoreError> {
    let held_tenants = &held.tenants;
    let (pair_tenants, pair_connections): (Vec<String>, Vec<String>) =
        held.connections.iter().cloned().unzip();
    let (plugins, rooms): (Vec<String>, Vec<i64>) = held
        .plugins
        .iter()
        .map(|(plugin, room)| (plugin.clone(), i64::from(*room)))
        .unzip();
    let mut limited = (Vec::new(), Vec::new(), Vec::new());
    for (tenant, connection, room) in &held.limited {
        limited.0.push(tenant.clone());
        limited.1.push(connection.clone().unwrap_or_default());
        limited.2.push(i64::from(*room));
    }
    let rows = sqlx::query_file!(
        "src/store/postgres/claim.sql",
        lease,
        lease_until,
        now,
        i64::from(limit),
        held_tenants,
        &pair_tenants,
        &pair_connections,
        &plugins,
        &rooms,
        &limited.0,
        &limited.1,
        &limited.2,
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("claiming due jobs"))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let task = row.task_id.map(|id| JobTask {
                id,
                job_id: row.id.clone(),
                kind: row.task_kind.unwrap_or_default(),
                payload: row.task_payload.unwrap_or_default(),
                run_at: row.task_run_at.unwrap_or(now),
            });
            let gate = RunGate {
                tenant_disabled: row.fact_tenant.is_none() || row.fact_disabled_at.is_some(),
                plugin_enabled: row.fact_plugin_enabled.map(|e| e != 0),
            };
            let connection = row.fact_status.map(|status: String| {
                // An unknown word is not usable: the job pauses rather than runs.
                let status = ConnectionStatus::parse(&status).unwrap_or(ConnectionStatus::Revoked);
                (status, row.fact_expires_at)
            });
            Claimed {
                job: Job {
                    tenant_id: row.tenant_id,
                    id: row.id,
                    post_id: row.post_id,
                    connection_id: row.connection_id,
                    plugin: row.plugin,
                    account_id: row.account_id,
                    // As `job_from_row`: a row that no longer parses runs as empty text and
                    // fails the connector's validation visibly.
                    content: serde_json::from_str(&row.content).unwrap_or_default(),
                    scheduled_for: row.scheduled_for,
                    state: JobState::parse(&row.state).unwrap_or(JobState::Paused),
                    state_reason: row.state_reason,
                    attempts: row.attempts as u32,
                    next_run_at: row.next_run_at,
                    recovery_point: row.recovery_point,
                    result: row.result,
                    last_error: row.last_error,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    deleted_at: row.deleted_at,
                    traceparent: row.traceparent,
                },
                lease: lease.to_string(),
                task,
                gate,
                connection,
            }
        })
        .collect())
}

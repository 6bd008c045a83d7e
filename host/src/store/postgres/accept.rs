//! Accepting a post: the post and all its jobs in one fixed statement (`accept.sql`), the jobs
//! bound as arrays, answered without reading anything back.

use super::super::{PostRecord, StoreError};

/// Stores `record` (its jobs, `content` as JSON, the payload's `hash`) for `tenant`; false when
/// the idempotency key was taken (nothing written).
pub(in crate::store) async fn insert_post(
    pool: &sqlx::PgPool,
    tenant: &str,
    record: &PostRecord,
    hash: &str,
    content: &str,
) -> Result<bool, StoreError> {
    let column = |f: fn(&super::super::Job) -> String| -> Vec<String> {
        record.jobs.iter().map(f).collect()
    };
    let ids = column(|j| j.id.clone());
    let connections = column(|j| j.connection_id.clone());
    let plugins = column(|j| j.plugin.clone());
    let accounts = column(|j| j.account_id.clone());
    let states = column(|j| j.state.as_str().to_string());
    let reasons: Vec<Option<String>> = record.jobs.iter().map(|j| j.state_reason.clone()).collect();
    let run_at: Vec<i64> = record.jobs.iter().map(|j| j.next_run_at).collect();
    let traceparent = record.jobs.first().and_then(|j| j.traceparent.as_deref());
    let stored = sqlx::query_file_scalar!(
        "src/store/postgres/accept.sql",
        tenant,
        &record.id,
        &record.idempotency_key,
        hash,
        record.scheduled_for,
        record.created_at,
        traceparent,
        content,
        &ids,
        &connections,
        &plugins,
        &accounts,
        &states,
        &reasons as &[Option<String>],
        &run_at,
    )
    .fetch_one(pool)
    .await
    .map_err(StoreError::db("storing a post"))?;
    Ok(stored == 1)
}

//! Accepting posts: any number of posts and all their jobs in one fixed statement
//! (`accept.sql`), bound as arrays, answered without reading anything back. Concurrent accepts
//! share it (`accept_group`): one round trip and one commit for all of them.

use super::super::StoreError;
use super::super::accept::{AcceptGroup, NewPostRow};

/// Concurrent accepts on `pool`, each group one statement.
pub(in crate::store) fn accept_group(pool: sqlx::PgPool) -> AcceptGroup {
    super::super::accept::accept_group(pool, |pool, posts| Box::pin(insert_posts(pool, posts)))
}

/// Stores `posts`; per post, in order, whether it was stored (false: its idempotency key was
/// taken, by an earlier post or an earlier one of `posts`, and nothing of it was written).
async fn insert_posts(pool: &sqlx::PgPool, posts: &[NewPostRow]) -> Result<Vec<bool>, StoreError> {
    let column = |f: fn(&NewPostRow) -> String| -> Vec<String> { posts.iter().map(f).collect() };
    let tenants = column(|p| p.tenant.clone());
    let ids = column(|p| p.record.id.clone());
    let keys = column(|p| p.record.idempotency_key.clone());
    let hashes = column(|p| p.hash.clone());
    let contents = column(|p| p.content.clone());
    let scheduled: Vec<Option<i64>> = posts.iter().map(|p| p.record.scheduled_for).collect();
    let created: Vec<i64> = posts.iter().map(|p| p.record.created_at).collect();
    let traceparents: Vec<Option<String>> = posts
        .iter()
        .map(|p| p.record.jobs.first().and_then(|j| j.traceparent.clone()))
        .collect();
    let jobs = || posts.iter().flat_map(|p| &p.record.jobs);
    let job_column =
        |f: fn(&super::super::Job) -> String| -> Vec<String> { jobs().map(f).collect() };
    let stored = sqlx::query_file_scalar!(
        "src/store/postgres/accept.sql",
        &tenants,
        &ids,
        &keys,
        &hashes,
        &scheduled as &[Option<i64>],
        &created,
        &traceparents as &[Option<String>],
        &contents,
        &job_column(|j| j.post_id.clone()),
        &job_column(|j| j.id.clone()),
        &job_column(|j| j.connection_id.clone()),
        &job_column(|j| j.plugin.clone()),
        &job_column(|j| j.account_id.clone()),
        &job_column(|j| j.state.as_str().to_string()),
        &jobs().map(|j| j.state_reason.clone()).collect::<Vec<_>>() as &[Option<String>],
        &jobs().map(|j| j.next_run_at).collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("storing posts"))?;
    Ok(ids.iter().map(|id| stored.contains(id)).collect())
}

//! Accepting posts on SQLite: a group of posts in one `BEGIN IMMEDIATE` transaction on the
//! write connection, of two statements whatever its size (the posts in one multi-row insert,
//! `ON CONFLICT DO NOTHING RETURNING id`, then the stored posts' jobs in one).

use std::collections::HashSet;

use sqlx::Row;

use super::super::accept::{AcceptGroup, NewPostRow};
use super::super::{Job, StoreError};
use super::{values, write_rows};

/// Concurrent accepts on SQLite's write connection, each group one transaction.
pub(in crate::store) fn accept_group(writer: sqlx::AnyPool) -> AcceptGroup {
    super::super::accept::accept_group(writer, |writer, posts| {
        Box::pin(insert_together(writer, posts))
    })
}

/// Stores `posts` in one transaction on SQLite's `writer`; per post whether it was stored. On
/// an error nothing is (the transaction is rolled back).
async fn insert_together(
    writer: &sqlx::AnyPool,
    posts: &[NewPostRow],
) -> Result<Vec<bool>, StoreError> {
    let mut tx = writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::db("starting a transaction"))?;
    let stored = insert_in(&mut tx, posts).await?;
    tx.commit()
        .await
        .map_err(StoreError::db("committing posts"))?;
    Ok(stored)
}

/// The posts in one statement, then the jobs of those stored in another (more past SQLite's
/// parameter limit), in `tx`; per post whether it was stored (false: its idempotency key was
/// taken, by an earlier post or an earlier one of `posts`, and nothing of it was written).
async fn insert_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    posts: &[NewPostRow],
) -> Result<Vec<bool>, StoreError> {
    let sql = format!(
        "INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, scheduled_for,
             created_at, traceparent) VALUES {}
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
        values(posts.len(), 7)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for post in posts {
        let record = &post.record;
        query = query
            .bind(&post.tenant)
            .bind(&record.id)
            .bind(&record.idempotency_key)
            .bind(&post.hash)
            .bind(record.scheduled_for)
            .bind(record.created_at)
            .bind(record.jobs.first().and_then(|j| j.traceparent.as_deref()));
    }
    let stored: HashSet<String> = query
        .fetch_all(&mut **tx)
        .await
        .map_err(StoreError::db("storing posts"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let jobs: Vec<(&NewPostRow, &Job)> = posts
        .iter()
        .filter(|post| stored.contains(&post.record.id))
        .flat_map(|post| post.record.jobs.iter().map(move |job| (post, job)))
        .collect();
    write_rows(
        tx,
        &jobs,
        13,
        |values| {
            format!(
                "INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id,
                     content, state, state_reason, attempts, next_run_at, created_at, updated_at)
                 VALUES {values}"
            )
        },
        |query, (post, job)| {
            query
                .bind(&post.tenant)
                .bind(&job.id)
                .bind(&post.record.id)
                .bind(&job.connection_id)
                .bind(&job.plugin)
                .bind(&job.account_id)
                .bind(&post.content)
                .bind(job.state.as_str())
                .bind(job.state_reason.as_deref())
                .bind(0_i64)
                .bind(job.next_run_at)
                .bind(post.record.created_at)
                .bind(post.record.created_at)
        },
        "storing posts' jobs",
    )
    .await?;
    Ok(posts
        .iter()
        .map(|p| stored.contains(&p.record.id))
        .collect())
}

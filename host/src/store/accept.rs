//! Accepting a post: the post and one job per target, written together, answered from what
//! was written (no read-back). Concurrent accepts are stored together ([`AcceptGroup`], see
//! `group.rs`): on PostgreSQL in one statement (`postgres/accept.rs`: one round trip, one
//! commit), on SQLite in one `BEGIN IMMEDIATE` transaction on the write connection, of two
//! statements (the posts, then their jobs) whatever the group's size (`sqlite/accept.rs`).

use std::sync::Arc;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::connections::PAUSED_FOR_CONNECTION;
use super::group::Group;
use super::{
    Accepted, Job, JobState, Millis, NewPost, PostRecord, StoreError, TenantStore, new_id,
};

/// Most posts stored together.
pub(super) const ACCEPT_BATCH: usize = 64;

/// Concurrent accepts, stored together; per post whether it was stored (false: its idempotency
/// key was taken, by an earlier post or an earlier one of the same group).
pub(super) type AcceptGroup = Group<NewPostRow, Result<bool, StoreError>>;

/// A post to store: the tenant, the post with its jobs, its content as JSON and the payload's
/// hash (compared when its idempotency key comes again).
#[derive(Debug, Clone)]
pub(super) struct NewPostRow {
    pub tenant: String,
    pub record: PostRecord,
    pub hash: String,
    pub content: String,
}

/// Stores a group's posts in one write; per post whether it was stored.
pub(super) type InsertPosts<P> =
    for<'a> fn(&'a P, &'a [NewPostRow]) -> BoxFuture<'a, Result<Vec<bool>, StoreError>>;

/// Concurrent accepts stored by `insert` on `pool`: one write for a group; if it fails, one
/// write per post, so one bad post cannot take the others down.
pub(super) fn accept_group<P: Clone + Send + Sync + 'static>(
    pool: P,
    insert: InsertPosts<P>,
) -> AcceptGroup {
    Group::new(
        ACCEPT_BATCH,
        Arc::new(move |posts: Vec<NewPostRow>| {
            let pool = pool.clone();
            Box::pin(async move {
                match insert(&pool, &posts).await {
                    Ok(stored) => stored.into_iter().map(Ok).collect(),
                    Err(error) if posts.len() == 1 => vec![Err(error)],
                    Err(error) => {
                        tracing::warn!(%error, posts = posts.len(), "storing posts together failed; storing them one by one");
                        let mut results = Vec::with_capacity(posts.len());
                        for post in &posts {
                            results.push(
                                insert(&pool, std::slice::from_ref(post))
                                    .await
                                    .map(|stored| stored[0]),
                            );
                        }
                        results
                    }
                }
            }) as _
        }),
    )
}

/// One target of a post with what its connection says: the plugin and whether it is usable
/// (read by the caller, who needs the plugin's manifest anyway).
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    /// The connection's plugin.
    pub plugin: String,
    /// The connection can publish now; otherwise the job is stored paused.
    pub usable: bool,
}

fn payload_hash(post: &NewPost) -> String {
    let canonical = serde_json::json!({
        "content": post.content,
        "targets": post.targets,
        "scheduled_for": post.scheduled_for,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

impl TenantStore {
    /// Accepts a post: one job per target, in one transaction. The same idempotency key with the
    /// same payload returns the stored post ([`Accepted::Existing`]); with another payload it is
    /// a [`StoreError::Conflict`]. `host_schedules` says, per plugin, whether the host holds the
    /// job until `scheduled_for` (`true`) or hands the time to the platform's native scheduling.
    pub async fn accept(
        &self,
        post: &NewPost,
        host_schedules: &(dyn Fn(&str) -> bool + Sync),
        now: Millis,
    ) -> Result<Accepted, StoreError> {
        let resolved = self.resolve_targets(post).await?;
        self.accept_resolved(post, &resolved, host_schedules, &|_, at| at, now, None)
            .await
    }

    /// Reads each target's connection (not deleted): its plugin and whether it is usable.
    pub async fn resolve_targets(&self, post: &NewPost) -> Result<Vec<ResolvedTarget>, StoreError> {
        let mut resolved = Vec::with_capacity(post.targets.len());
        for target in &post.targets {
            resolved.push(self.resolve_target(&target.connection_id).await?);
        }
        Ok(resolved)
    }

    /// Connection `id`'s plugin and whether it is usable: from the moment-long cache of usable
    /// connections when it is there (`target_cache.rs` says why that is safe), else read.
    pub async fn resolve_target(&self, id: &str) -> Result<ResolvedTarget, StoreError> {
        let targets = &self.store.targets;
        if let Some(plugin) = targets.usable(&self.tenant, id) {
            return Ok(ResolvedTarget {
                plugin,
                usable: true,
            });
        }
        let connection = self.connection(id).await?;
        let usable = connection.status.usable();
        if usable {
            targets.remember(&self.tenant, id, &connection.plugin);
        }
        Ok(ResolvedTarget {
            plugin: connection.plugin,
            usable,
        })
    }

    /// [`Self::accept`] with each target's connection already read (`resolved`, in the order of
    /// `post.targets`), storing with a new post the W3C `traceparent` of the request that
    /// accepted it (its jobs' runs link to that trace). `run_at` may put a queued job's first
    /// run later than it would be (given its connection and that time): the pipeline spaces
    /// the jobs of a scope held by its rate bucket at the bucket's rate.
    #[allow(clippy::too_many_arguments)]
    pub async fn accept_resolved(
        &self,
        post: &NewPost,
        resolved: &[ResolvedTarget],
        host_schedules: &(dyn Fn(&str) -> bool + Sync),
        run_at: &(dyn Fn(&str, Millis) -> Millis + Sync),
        now: Millis,
        traceparent: Option<&str>,
    ) -> Result<Accepted, StoreError> {
        if post.idempotency_key.is_empty() || post.idempotency_key.len() > 255 {
            return Err(StoreError::Invalid(
                "idempotency keys are 1-255 characters".into(),
            ));
        }
        if post.targets.is_empty() {
            return Err(StoreError::Invalid(
                "a post needs at least one target".into(),
            ));
        }
        if resolved.len() != post.targets.len() {
            return Err(StoreError::Invalid(
                "every target needs its connection resolved".into(),
            ));
        }
        let hash = payload_hash(post);
        let content = serde_json::to_string(&post.content)
            .map_err(|e| StoreError::Invalid(format!("content: {e}")))?;
        let post_id = new_id("post");
        let record = PostRecord {
            id: post_id.clone(),
            idempotency_key: post.idempotency_key.clone(),
            scheduled_for: post.scheduled_for,
            created_at: now,
            jobs: post
                .targets
                .iter()
                .zip(resolved)
                .map(|(target, connection)| Job {
                    tenant_id: self.tenant.clone(),
                    id: new_id("job"),
                    post_id: post_id.clone(),
                    connection_id: target.connection_id.clone(),
                    plugin: connection.plugin.clone(),
                    account_id: target.account_id.clone(),
                    content: post.content.clone(),
                    scheduled_for: post.scheduled_for,
                    state: if connection.usable {
                        JobState::Queued
                    } else {
                        JobState::Paused
                    },
                    state_reason: (!connection.usable).then(|| PAUSED_FOR_CONNECTION.to_string()),
                    attempts: 0,
                    next_run_at: run_at(
                        &target.connection_id,
                        match post.scheduled_for {
                            Some(at) if host_schedules(&connection.plugin) => at.max(now),
                            _ => now,
                        },
                    ),
                    recovery_point: None,
                    result: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                    traceparent: traceparent.map(str::to_string),
                })
                .collect(),
        };
        let row = NewPostRow {
            tenant: self.tenant.clone(),
            record: record.clone(),
            hash: hash.clone(),
            content,
        };
        let accepts = &self.store.accepts;
        let stored = match accepts.submit(row.clone()).await {
            Some(stored) => stored?,
            // Not taken (the committer is gone): the same write, here.
            None => accepts.write_batch(vec![row]).await.remove(0)?,
        };
        if stored {
            return Ok(Accepted::Created(record));
        }
        let row = sqlx::query(
            "SELECT id, payload_sha256 FROM posts WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(&self.tenant)
        .bind(&post.idempotency_key)
        .fetch_one(&self.store.pool)
        .await
        .map_err(StoreError::db("reading a post"))?;
        let stored: String = row.get("payload_sha256");
        if stored != hash {
            return Err(StoreError::Conflict(format!(
                "idempotency key `{}` was used for a different post",
                post.idempotency_key
            )));
        }
        Ok(Accepted::Existing(
            self.post(&row.get::<String, _>("id")).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PostContent, Target};

    /// A post for connection `c` under key `key`.
    fn post(key: &str) -> NewPost {
        NewPost {
            idempotency_key: key.into(),
            content: PostContent {
                text: format!("post {key}"),
                ..PostContent::default()
            },
            targets: vec![Target {
                connection_id: "c".into(),
                account_id: "a".into(),
            }],
            scheduled_for: None,
        }
    }

    /// `template` as a new post under `key` (new ids), its job for `connection`.
    fn row_like(template: &NewPostRow, key: &str, connection: &str) -> NewPostRow {
        let mut row = template.clone();
        row.record.id = new_id("post");
        row.record.idempotency_key = key.into();
        for job in &mut row.record.jobs {
            job.id = new_id("job");
            job.post_id = row.record.id.clone();
            job.connection_id = connection.into();
        }
        row
    }

    /// SQLite: a group with a post that cannot be stored (its job names a connection that does
    /// not exist) rolls back, then stores each post in a transaction of its own: the bad one is
    /// refused, the others are stored, and a taken key still answers false.
    #[tokio::test]
    async fn a_post_that_fails_its_group_is_refused_alone_and_the_others_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::test_store(dir.path()).await;
        let tenant = store.tenant("t");
        let Accepted::Created(first) = tenant.accept(&post("k0"), &|_| true, 1).await.unwrap()
        else {
            panic!("k0 is new");
        };
        let template = NewPostRow {
            tenant: "t".into(),
            record: first,
            hash: "h".into(),
            content: "{}".into(),
        };
        let batch = vec![
            row_like(&template, "k1", "c"),
            row_like(&template, "k-bad", "missing"),
            row_like(&template, "k0", "c"),
            row_like(&template, "k2", "c"),
        ];
        let answers = store.accepts.write_batch(batch).await;
        assert!(matches!(answers[0], Ok(true)), "{:?}", answers[0]);
        assert!(
            matches!(answers[1], Err(StoreError::Database { .. })),
            "{:?}",
            answers[1]
        );
        assert!(
            matches!(answers[2], Ok(false)),
            "k0 was taken: {:?}",
            answers[2]
        );
        assert!(matches!(answers[3], Ok(true)), "{:?}", answers[3]);
        let mut keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM posts")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        keys.sort();
        assert_eq!(keys, ["k0", "k1", "k2"]);
        let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(jobs, 3, "one job per stored post, none of the refused one");
    }
}

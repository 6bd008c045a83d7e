//! Accepting posts: idempotency, content checks, tenant isolation.

use postd_host::jobs::AcceptError;
use postd_host::store::{Accepted, ConnectionStatus, JobState, ResolvedTarget, StoreError};

use crate::on_both_backends;
use crate::support::{Harness, Kind, new_post};

on_both_backends!(
    same_key_same_payload_returns_the_existing_post,
    same_key_other_payload_is_a_conflict,
    content_over_the_connector_limits_is_refused_before_queuing,
    a_tenant_never_reads_or_changes_another_tenants_rows,
    a_post_for_a_connection_needing_attention_waits_paused,
    a_connection_changed_by_another_replica_just_after_an_accept_still_pauses_its_jobs,
    a_connection_deleted_here_is_refused_at_once_after_an_accept,
    webhook_events_are_stored_once_per_platform_event_id,
    concurrent_accepts_stored_together_keep_each_key_once,
    an_accept_that_cannot_be_stored_fails_alone,
);

async fn same_key_same_payload_returns_the_existing_post(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let first = h.post("acme", "conn-1", "key-1", "hello", &[]).await;
    let again = h.post("acme", "conn-1", "key-1", "hello", &[]).await;
    let (Accepted::Created(created), Accepted::Existing(existing)) = (&first, &again) else {
        panic!("expected created then existing, got {first:?} / {again:?}");
    };
    assert_eq!(created.id, existing.id);
    assert_eq!(created.jobs.len(), 1);
    assert_eq!(created.jobs[0].id, existing.jobs[0].id);
    assert_eq!(
        h.store.tenant("acme").jobs(None, 100).await.unwrap().len(),
        1,
        "no second job"
    );
}

async fn same_key_other_payload_is_a_conflict(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.post("acme", "conn-1", "key-1", "hello", &[]).await;
    let refused = h
        .pipeline
        .accept("acme", &new_post("conn-1", "key-1", "hello, changed", &[]))
        .await;
    assert!(
        matches!(refused, Err(AcceptError::Store(StoreError::Conflict(ref why))) if why.contains("key-1")),
        "{refused:?}"
    );
    // The same key under another tenant is that tenant's own.
    h.connect("globex", "conn-9").await;
    let other = h
        .pipeline
        .accept(
            "globex",
            &new_post("conn-9", "key-1", "hello, changed", &[]),
        )
        .await;
    assert!(matches!(other, Ok(Accepted::Created(_))), "{other:?}");
}

async fn content_over_the_connector_limits_is_refused_before_queuing(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let long = "x".repeat(281);
    let refused = h
        .pipeline
        .accept("acme", &new_post("conn-1", "key-1", &long, &[]))
        .await;
    assert!(
        matches!(refused, Err(AcceptError::Invalid(ref why)) if why.contains("281")),
        "{refused:?}"
    );
    let unknown = h
        .pipeline
        .accept("acme", &new_post("conn-404", "key-2", "hi", &[]))
        .await;
    assert!(
        matches!(
            unknown,
            Err(AcceptError::Store(StoreError::NotFound { .. }))
        ),
        "{unknown:?}"
    );
    assert!(
        h.store
            .tenant("acme")
            .jobs(None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_tenant_never_reads_or_changes_another_tenants_rows(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-a").await;
    h.connect("globex", "conn-b").await;
    let a = h.post("acme", "conn-a", "key-1", "acme's post", &[]).await;
    let a_job = a.post().jobs[0].id.clone();
    let a_post = a.post().id.clone();
    let b = h.store.tenant("globex");

    // Reads.
    assert!(matches!(
        b.job(&a_job).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        b.post(&a_post).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        b.connection("conn-a").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(b.connections().await.unwrap().len(), 1);
    assert!(b.jobs(None, 100).await.unwrap().is_empty());
    assert!(b.attempts(&a_job).await.unwrap().is_empty());

    // Writes.
    assert!(matches!(
        b.cancel_job(&a_job, "api", h.pipeline.now()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        b.set_connection_status(
            "conn-a",
            ConnectionStatus::Revoked,
            None,
            "api",
            h.pipeline.now()
        )
        .await,
        Err(StoreError::NotFound { .. })
    ));
    let stolen = h
        .pipeline
        .accept(
            "globex",
            &new_post("conn-a", "key-x", "via acme's connection", &[]),
        )
        .await;
    assert!(
        matches!(stolen, Err(AcceptError::Store(StoreError::NotFound { .. }))),
        "{stolen:?}"
    );

    // Acme's rows are untouched.
    let a_store = h.store.tenant("acme");
    assert_eq!(a_store.job(&a_job).await.unwrap().state, JobState::Queued);
    assert_eq!(
        a_store.connection("conn-a").await.unwrap().status,
        ConnectionStatus::Healthy
    );
    assert!(
        b.audit_log(100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.subject != "conn-a")
    );
}

async fn a_post_for_a_connection_needing_attention_waits_paused(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let now = h.pipeline.now();
    h.store
        .tenant("acme")
        .set_connection_status(
            "conn-1",
            ConnectionStatus::Attention,
            Some("test"),
            "test",
            now,
        )
        .await
        .unwrap();
    let post = h.post("acme", "conn-1", "key-1", "hello", &[]).await;
    assert_eq!(post.post().jobs[0].state, JobState::Paused);
    assert_eq!(h.pipeline.run_due().await, 0, "a paused job is not claimed");
    // Reconnecting resumes it.
    h.connect("acme", "conn-1").await;
    assert_eq!(h.pipeline.run_due().await, 1);
    let job = h
        .store
        .tenant("acme")
        .job(&post.post().jobs[0].id)
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Published, "{job:?}");
}

/// Accepts keep usable connections' plugins for a moment (`store/target_cache.rs`): another
/// replica marking the connection `attention` right after an accept cannot make a post slip
/// through to the platform — its job, stored queued or paused, is paused by its claim, and
/// both posts publish once the user reconnects.
async fn a_connection_changed_by_another_replica_just_after_an_accept_still_pauses_its_jobs(
    kind: Kind,
) {
    use postd_host::store::{PAUSED_FOR_CONNECTION, Store};
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let first = h.post("acme", "conn-1", "key-1", "first", &[]).await;
    let other_replica = Store::open(&h.db.url).await.unwrap();
    other_replica
        .tenant("acme")
        .set_connection_status(
            "conn-1",
            ConnectionStatus::Attention,
            Some("token rejected"),
            "test",
            h.pipeline.now(),
        )
        .await
        .unwrap();
    let second = h.post("acme", "conn-1", "key-2", "second", &[]).await;
    // Stored queued when the accept trusted its cache (claimed, then paused), else paused.
    assert!(h.pipeline.run_due().await <= 1);
    let tenant = h.store.tenant("acme");
    for post in [&first, &second] {
        let job = tenant.job(&post.post().jobs[0].id).await.unwrap();
        assert_eq!(
            (job.state, job.state_reason.as_deref()),
            (JobState::Paused, Some(PAUSED_FOR_CONNECTION)),
            "{job:?}"
        );
        assert_eq!(
            h.platform.drafts_for(&job.id),
            0,
            "nothing reached the platform"
        );
    }
    h.connect("acme", "conn-1").await;
    assert_eq!(h.pipeline.run_due().await, 2);
    for post in [&first, &second] {
        let job = tenant.job(&post.post().jobs[0].id).await.unwrap();
        assert_eq!(job.state, JobState::Published, "{job:?}");
    }
}

/// A connection deleted through this process is forgotten by its accepts at once.
async fn a_connection_deleted_here_is_refused_at_once_after_an_accept(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.post("acme", "conn-1", "key-1", "first", &[]).await;
    h.store
        .tenant("acme")
        .delete_connection("conn-1", "test", h.pipeline.now())
        .await
        .unwrap();
    let refused = h
        .pipeline
        .accept("acme", &new_post("conn-1", "key-2", "second", &[]))
        .await;
    assert!(
        matches!(
            refused,
            Err(AcceptError::Store(StoreError::NotFound {
                what: "connection",
                ..
            }))
        ),
        "{refused:?}"
    );
}

async fn webhook_events_are_stored_once_per_platform_event_id(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let event = postd_host::store::NewWebhookEvent {
        plugin: "pipeline".into(),
        event_id: "evt-1".into(),
        tenant_id: Some("acme".into()),
        connection_id: Some("conn-1".into()),
        kind: "post.published".into(),
        payload: "{}".into(),
    };
    assert!(
        h.store
            .record_webhook_event(&event, h.pipeline.now())
            .await
            .unwrap()
    );
    assert!(
        !h.store
            .record_webhook_event(&event, h.pipeline.now())
            .await
            .unwrap(),
        "a duplicate delivery is not stored again"
    );
}

#[tokio::test]
async fn sqlite_connections_run_with_wal_foreign_keys_and_a_busy_timeout() {
    let h = Harness::new(Kind::Sqlite).await;
    let pool = h.store.pool();
    // Several connections, so more than the first one is checked.
    for _ in 0..4 {
        let mut conn = pool.acquire().await.unwrap();
        let read = |sql: &'static str| sqlx::query_scalar::<_, String>(sql);
        let mode: String = read("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let fks: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!((mode.as_str(), fks, sync, busy), ("wal", 1, 1, 10_000));
    }
}

on_both_backends!(concurrent_read_then_write_changes_all_succeed);

/// Deleting a connection reads its status and then writes; on SQLite a deferred transaction
/// doing that fails at once with `SQLITE_BUSY` when another writer commits in between, which
/// reached API callers as `503 unavailable`. Many such changes at once, beside other writers,
/// must all succeed.
async fn concurrent_read_then_write_changes_all_succeed(kind: Kind) {
    use postd_host::store::{NewConnection, Store};
    let db = crate::support::Database::create(kind).await;
    let store = Store::open(&db.url).await.unwrap();
    store.create_tenant("acme", "acme", 1).await.unwrap();
    let tenant = store.tenant("acme");
    let connection = |id: String| NewConnection {
        id,
        plugin: "pipeline".into(),
        external_id: "ext".into(),
        display_name: "Account".into(),
        scopes: vec![],
        expires_at: None,
        refresh_expires_at: None,
    };
    for i in 0..24 {
        tenant
            .upsert_connection(&connection(format!("old-{i}")), "test", 2)
            .await
            .unwrap();
    }
    let deletes = (0..24).map(|i| {
        let tenant = tenant.clone();
        async move {
            tenant
                .delete_connection(&format!("old-{i}"), "test", 3)
                .await
        }
    });
    let creates = (0..24).map(|i| {
        let tenant = tenant.clone();
        let new = connection(format!("new-{i}"));
        async move { tenant.upsert_connection(&new, "test", 3).await.map(|_| ()) }
    });
    let handles: Vec<_> = deletes
        .map(|f| tokio::spawn(f))
        .chain(creates.map(|f| tokio::spawn(f)))
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        handle
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("change {i} failed: {e}"));
    }
    assert_eq!(tenant.connections().await.unwrap().len(), 24);
}

/// Accepts arriving together are stored together on PostgreSQL (one statement for the group);
/// whatever the grouping, each key is stored once: a repeat with the same payload gets the
/// stored post, a repeat with another payload a conflict, even inside one group.
async fn concurrent_accepts_stored_together_keep_each_key_once(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let mut posts = Vec::new();
    for i in 0..30 {
        posts.push(new_post(
            "conn-1",
            &format!("key-{i}"),
            &format!("post {i}"),
            &[],
        ));
    }
    for i in 0..5 {
        let repeat = new_post("conn-1", &format!("twice-{i}"), "the same", &[]);
        posts.push(repeat.clone());
        posts.push(repeat);
        posts.push(new_post("conn-1", &format!("clash-{i}"), "one text", &[]));
        posts.push(new_post(
            "conn-1",
            &format!("clash-{i}"),
            "another text",
            &[],
        ));
    }
    let answers =
        futures::future::join_all(posts.iter().map(|post| h.pipeline.accept("acme", post))).await;
    let mut created = std::collections::BTreeMap::new();
    let (mut existing, mut conflicts) = (Vec::new(), 0);
    for (post, answer) in posts.iter().zip(answers) {
        match answer {
            Ok(Accepted::Created(record)) => {
                let earlier = created.insert(post.idempotency_key.clone(), record.id.clone());
                assert_eq!(earlier, None, "{} stored twice", post.idempotency_key);
            }
            Ok(Accepted::Existing(record)) => {
                existing.push((post.idempotency_key.clone(), record.id))
            }
            Err(AcceptError::Store(StoreError::Conflict(why))) => {
                assert!(why.contains("clash-"), "{why}");
                conflicts += 1;
            }
            other => panic!("{}: {other:?}", post.idempotency_key),
        }
    }
    assert_eq!(created.len(), 40, "every key stored once");
    assert_eq!(conflicts, 5, "one of each clashing pair refused");
    assert_eq!(
        existing.len(),
        5,
        "one of each repeated pair answered with the stored post"
    );
    for (key, id) in &existing {
        assert_eq!(created.get(key), Some(id), "{key}");
    }
    let jobs = h.store.tenant("acme").jobs(None, 1_000).await.unwrap();
    assert_eq!(jobs.len(), 40, "one job per stored post");
}

/// Accepts arriving together, one of which the database refuses (its target was resolved to a
/// connection that does not exist, so its job breaks a foreign key): that one gets the
/// database's error, every other is stored with its job, whether or not they shared a group.
async fn an_accept_that_cannot_be_stored_fails_alone(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let tenant = h.store.tenant("acme");
    let posts: Vec<_> = (0..20)
        .map(|i| {
            new_post(
                &format!("conn-{}", if i == 7 { "gone" } else { "1" }),
                &format!("key-{i}"),
                "hello",
                &[],
            )
        })
        .collect();
    let resolved = [ResolvedTarget {
        plugin: "example".into(),
        usable: true,
    }];
    let answers =
        futures::future::join_all(posts.iter().map(|post| {
            tenant.accept_resolved(post, &resolved, &|_| true, &|_, at| at, 1_000, None)
        }))
        .await;
    for (i, answer) in answers.iter().enumerate() {
        if i == 7 {
            assert!(
                matches!(answer, Err(StoreError::Database { .. })),
                "the post for a missing connection: {answer:?}"
            );
        } else {
            assert!(
                matches!(answer, Ok(Accepted::Created(_))),
                "post {i}: {answer:?}"
            );
        }
    }
    let jobs = tenant.jobs(None, 100).await.unwrap();
    assert_eq!(
        jobs.len(),
        19,
        "one job per stored post, none for the refused one"
    );
    assert!(jobs.iter().all(|j| j.connection_id == "conn-1"));
}

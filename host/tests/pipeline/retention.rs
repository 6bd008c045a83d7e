//! Retention of finished jobs and the planner statistics refresh, on the store of each backend
//! (no runtime: the jobs' outcomes are recorded as the pipeline records them, at chosen times).

use std::collections::BTreeMap;
use std::time::Duration;

use postd_host::store::{
    Accepted, Claimed, Finish, FinishOutcome, HealthRecord, Millis, NewConnection, NewPost,
    NewWebhookEvent, PostContent, Recorded, Store, StoreError, Target,
};

use crate::on_both_backends;
use crate::support::{Database, Kind, eventually, new_post};

on_both_backends!(
    old_finished_jobs_go_with_their_attempts_and_posts_the_rest_stays,
    a_backlog_drains_in_batches,
    statistics_are_refreshed_for_tables_that_filled,
    webhook_events_health_checks_and_audit_entries_go_when_past_their_retention,
);

const DAY: Millis = 86_400_000;
/// The tests' epoch: day 0.
const T0: Millis = 20_000 * DAY;
const RETENTION: Duration = Duration::from_secs(30 * 86_400);

async fn open(kind: Kind) -> (Database, Store) {
    let db = Database::create(kind).await;
    let store = Store::open(&db.url).await.unwrap();
    store.create_tenant("acme", "Acme", T0).await.unwrap();
    for id in ["c1", "c2"] {
        let connection = NewConnection {
            id: id.into(),
            plugin: "pipeline".into(),
            external_id: id.into(),
            display_name: id.into(),
            ..NewConnection::default()
        };
        store
            .tenant("acme")
            .upsert_connection(&connection, "test", T0)
            .await
            .unwrap();
    }
    (db, store)
}

/// Accepts a one-target post on `c1` at day 0; returns its job id.
async fn accept(store: &Store, key: &str) -> String {
    let accepted = store
        .tenant("acme")
        .accept(&new_post("c1", key, key, &[]), &|_| true, T0)
        .await
        .unwrap();
    accepted.post().jobs[0].id.clone()
}

async fn claim(store: &Store, job: &str, day: Millis) -> Claimed {
    let mut claimed = store
        .claim_ids(&[job.to_string()], "w", T0 + day * DAY, 3_600_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "{job} claimable at day {day}");
    claimed.remove(0)
}

/// Runs `job` at `day` to `outcome`, as the pipeline records a run.
async fn run(store: &Store, job: &str, day: Millis, outcome: FinishOutcome) {
    let claimed = claim(store, job, day).await;
    let finish = Finish {
        export: "publish",
        worker: "w".into(),
        started_at: T0 + day * DAY,
        latency_ms: 1,
        fuel: 1,
        error_code: None,
        error: None,
        outcome,
        trace_id: None,
    };
    assert!(
        store
            .finish(&claimed, &finish, T0 + day * DAY)
            .await
            .unwrap()
    );
}

fn published() -> FinishOutcome {
    FinishOutcome::Published {
        result: "{}".into(),
    }
}

async fn count(store: &Store, table: &str, column: &str, id: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {table} WHERE {column} = $1"
    )))
    .bind(id)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

async fn exists(store: &Store, job: &str) -> bool {
    match store.tenant("acme").job(job).await {
        Ok(_) => true,
        Err(StoreError::NotFound { .. }) => false,
        Err(other) => panic!("{other}"),
    }
}

async fn old_finished_jobs_go_with_their_attempts_and_posts_the_rest_stays(kind: Kind) {
    let (_db, store) = open(kind).await;
    let tenant = store.tenant("acme");

    let old_published = accept(&store, "old-published").await;
    run(&store, &old_published, 1, published()).await;
    let old_post = tenant.job(&old_published).await.unwrap().post_id;

    let recent_published = accept(&store, "recent-published").await;
    run(&store, &recent_published, 35, published()).await;

    let queued = accept(&store, "queued").await;

    let running = accept(&store, "running").await;
    claim(&store, &running, 1).await;

    let paused = accept(&store, "paused").await;
    let reason = "connection-needs-attention".to_string();
    run(&store, &paused, 1, FinishOutcome::Pause { reason }).await;

    let dead = accept(&store, "dead").await;
    let reason_code = "rejected".to_string();
    run(&store, &dead, 1, FinishOutcome::Dead { reason_code }).await;

    // Dead, replayed, then published: a finished job like any other, its dead letter closed.
    let replayed = accept(&store, "replayed").await;
    let reason_code = "rejected".to_string();
    run(&store, &replayed, 1, FinishOutcome::Dead { reason_code }).await;
    let letter = tenant
        .dead_letters(10)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.job_id == replayed)
        .unwrap();
    tenant
        .replay(&letter.id, "test", &BTreeMap::new(), T0 + 2 * DAY)
        .await
        .unwrap();
    run(&store, &replayed, 3, published()).await;

    // A continuation left waiting, then cancelled.
    let cancelled = accept(&store, "cancelled").await;
    let tasks = vec![("poll".to_string(), "{}".to_string(), T0 + 100 * DAY)];
    let waiting_for = "upload".to_string();
    run(
        &store,
        &cancelled,
        1,
        FinishOutcome::Continue { tasks, waiting_for },
    )
    .await;
    assert!(
        tenant
            .cancel_job(&cancelled, "test", T0 + 2 * DAY)
            .await
            .unwrap()
    );
    assert_eq!(count(&store, "job_tasks", "job_id", &cancelled).await, 1);

    // One post, two targets: one published long ago, one still queued.
    let mut two = new_post("c1", "two-targets", "two", &[]);
    two.targets.push(Target {
        connection_id: "c2".into(),
        account_id: "acct-2".into(),
    });
    let post = tenant
        .accept(&two, &|_| true, T0)
        .await
        .unwrap()
        .post()
        .clone();
    let (first, second) = (post.jobs[0].id.clone(), post.jobs[1].id.clone());
    run(&store, &first, 1, published()).await;

    // Retention off: nothing goes, whatever the age.
    let off = store.retain_jobs(T0 + 400 * DAY, None).await.unwrap();
    assert_eq!((off.jobs, off.attempts, off.posts), (0, 0, 0));
    assert!(exists(&store, &old_published).await);

    let pass = store
        .retain_jobs(T0 + 40 * DAY, Some(RETENTION))
        .await
        .unwrap();
    // old-published, replayed (two attempts), cancelled (one), the first target.
    assert_eq!(
        (pass.jobs, pass.attempts, pass.posts),
        (4, 5, 3),
        "{pass:?}"
    );
    for job in [&old_published, &replayed, &cancelled, &first] {
        assert!(!exists(&store, job).await, "{job} deleted");
        for (table, column) in [
            ("job_attempts", "job_id"),
            ("job_tasks", "job_id"),
            ("dead_letters", "job_id"),
        ] {
            assert_eq!(
                count(&store, table, column, job).await,
                0,
                "{table} of {job}"
            );
        }
    }
    assert_eq!(count(&store, "posts", "id", &old_post).await, 0);
    for job in [
        &recent_published,
        &queued,
        &running,
        &paused,
        &dead,
        &second,
    ] {
        assert!(exists(&store, job).await, "{job} kept");
    }
    assert_eq!(tenant.attempts(&dead).await.unwrap().len(), 1);
    assert_eq!(tenant.attempts(&paused).await.unwrap().len(), 1);
    let open_letters = tenant.dead_letters(10).await.unwrap();
    assert_eq!(open_letters.len(), 1);
    assert_eq!(open_letters[0].job_id, dead);
    // The post stays while one of its jobs does.
    assert_eq!(tenant.post(&post.id).await.unwrap().jobs.len(), 1);

    // Its key can be used again now that its post is gone; the other keys still name theirs.
    let again = tenant
        .accept(
            &new_post("c1", "old-published", "old-published", &[]),
            &|_| true,
            T0 + 40 * DAY,
        )
        .await
        .unwrap();
    assert!(matches!(again, Accepted::Created(_)), "{again:?}");
    let kept = tenant
        .accept(
            &new_post("c1", "queued", "queued", &[]),
            &|_| true,
            T0 + 40 * DAY,
        )
        .await
        .unwrap();
    assert!(matches!(kept, Accepted::Existing(_)), "{kept:?}");

    // The second target finishes; once it is old too, it goes and the post with it.
    run(&store, &second, 41, published()).await;
    let later = store
        .retain_jobs(T0 + 80 * DAY, Some(RETENTION))
        .await
        .unwrap();
    assert!(later.jobs >= 2 && later.posts >= 2, "{later:?}");
    assert!(!exists(&store, &second).await);
    assert!(matches!(
        tenant.post(&post.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(exists(&store, &dead).await && exists(&store, &queued).await);
}

async fn a_backlog_drains_in_batches(kind: Kind) {
    let (_db, store) = open(kind).await;
    let n = postd_host::store::RETENTION_BATCH * 2 + 100;
    // Published jobs (each with its post and one attempt) straight into the tables: day 0.
    let numbers =
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})");
    for insert in [
        "INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, created_at)
         SELECT 'acme', 'post-' || i, 'key-' || i, 'x', $1 FROM n",
        "INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content, state,
             attempts, next_run_at, created_at, updated_at)
         SELECT 'acme', 'job-' || i, 'post-' || i, 'c1', 'pipeline', 'a', '{}', 'published', 1, $1, $1, $1 FROM n",
        "INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker, started_at, latency_ms,
             fuel, outcome)
         SELECT 'acme', 'att-' || i, 'job-' || i, 1, 'publish', 'w', $1, 1, 1, 'published' FROM n",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("{numbers} {insert}")))
            .bind(T0)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let queued = accept(&store, "still-queued").await;
    let pass = store
        .retain_jobs(T0 + 40 * DAY, Some(RETENTION))
        .await
        .unwrap();
    let n = n as u64;
    assert_eq!((pass.jobs, pass.attempts, pass.posts), (n, n, n));
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(left, 1);
    assert!(exists(&store, &queued).await);

    if kind != Kind::Sqlite {
        // One replica at a time: while another holds the retention lock, a pass deletes nothing.
        let job = accept(&store, "held-back").await;
        run(&store, &job, 1, published()).await;
        let mut other = store.pool().begin().await.unwrap();
        let held: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('postd:job-retention', 0))",
        )
        .fetch_one(&mut *other)
        .await
        .unwrap();
        assert!(held);
        let skipped = store
            .retain_jobs(T0 + 40 * DAY, Some(RETENTION))
            .await
            .unwrap();
        assert_eq!(skipped.jobs, 0);
        other.rollback().await.unwrap();
        let done = store
            .retain_jobs(T0 + 40 * DAY, Some(RETENTION))
            .await
            .unwrap();
        assert_eq!(done.jobs, 1);
    }
}

async fn statistics_are_refreshed_for_tables_that_filled(kind: Kind) {
    let (_db, store) = open(kind).await;
    if kind == Kind::Sqlite {
        // `PRAGMA optimize` decides for itself; it must simply run.
        assert!(store.analyze_stale_tables().await.unwrap().is_empty());
        assert!(store.analyze_tables().await.unwrap().is_empty());
        return;
    }
    let reltuples = |table: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, f32>(
                "SELECT reltuples FROM pg_class WHERE relname = $1 AND relkind = 'r'",
            )
            .bind(table)
            .fetch_one(store.pool())
            .await
            .unwrap()
        }
    };
    // Migrating a new database analyzed nothing: its tables were empty (analyzed empty, a table
    // reads as known-empty and plans made then scan it).
    assert!(reltuples("jobs").await < 0.0);
    for i in 0..3 {
        let post = NewPost {
            idempotency_key: format!("k{i}"),
            content: PostContent {
                text: "x".into(),
                ..PostContent::default()
            },
            targets: vec![Target {
                connection_id: "c1".into(),
                account_id: "a".into(),
            }],
            scheduled_for: None,
        };
        store
            .tenant("acme")
            .accept(&post, &|_| true, T0)
            .await
            .unwrap();
    }
    // A few rows are not a bulk change; a table that holds rows is analyzed after migrations.
    assert!(
        !store
            .analyze_stale_tables()
            .await
            .unwrap()
            .contains(&"jobs".to_string())
    );
    let analyzed = store.analyze_tables().await.unwrap();
    assert!(analyzed.contains(&"jobs".to_string()), "{analyzed:?}");
    assert!(!analyzed.contains(&"job_tasks".to_string()), "{analyzed:?}");
    assert_eq!(reltuples("jobs").await, 3.0);

    // A bulk change (more than STALE_ROWS rows) is noticed once the sessions report it.
    sqlx::query(
        "INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, created_at)
         SELECT 'acme', 'bulk-' || i, 'bulk-' || i, 'x', 0 FROM generate_series(1, 1000) i",
    )
    .execute(store.pool())
    .await
    .unwrap();
    eventually(Duration::from_secs(20), "posts analyzed", || {
        let store = store.clone();
        async move {
            store
                .analyze_stale_tables()
                .await
                .unwrap()
                .contains(&"posts".to_string())
        }
    })
    .await;
    assert!(reltuples("posts").await >= 1000.0);
}

/// Webhook events, health checks and audit entries older than their retention are deleted;
/// younger ones stay; `None` keeps everything. A deleted event's id can be stored again (its
/// de-duplication lasts as long as its retention).
async fn webhook_events_health_checks_and_audit_entries_go_when_past_their_retention(kind: Kind) {
    let (_db, store) = open(kind).await;
    let tenant = store.tenant("acme");
    let event = |id: &str| NewWebhookEvent {
        plugin: "pipeline".into(),
        event_id: id.into(),
        tenant_id: Some("acme".into()),
        connection_id: Some("c1".into()),
        kind: "ping".into(),
        payload: "{}".into(),
    };
    for day in [0, 10] {
        let at = T0 + day * DAY;
        assert!(
            store
                .record_webhook_event(&event(&format!("ev-{day}")), at)
                .await
                .unwrap()
        );
        let check = HealthRecord {
            connection_id: "c1".into(),
            checked_at: at,
            latency_ms: 5,
            ok: true,
            error: None,
        };
        tenant.record_health("c1", &check, at + DAY).await.unwrap();
        tenant.audit(at, "test", "ping", "c1", "{}").await.unwrap();
    }
    let count = |table: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table} WHERE {}",
                if table == "audit_log" {
                    "action = 'ping'"
                } else {
                    "1 = 1"
                }
            )))
            .fetch_one(store.pool())
            .await
            .unwrap()
        }
    };
    let now = T0 + 12 * DAY;
    let five_days = Some(Duration::from_secs(5 * 86_400));
    for (table, name) in [
        (Recorded::WebhookEvents, "webhook_events"),
        (Recorded::HealthChecks, "connection_health"),
        (Recorded::Audit, "audit_log"),
    ] {
        assert_eq!(store.retain_recorded(table, now, None).await.unwrap(), 0);
        assert_eq!(count(name).await, 2, "{name}: None keeps everything");
        // The audit log also holds the day-0 entries of the set-up (tenant, connections).
        let deleted = store.retain_recorded(table, now, five_days).await.unwrap();
        assert!(deleted >= 1, "{name}: the day-0 rows went ({deleted})");
        assert_eq!(count(name).await, 1, "{name}: the day-10 row stayed");
    }
    assert!(
        store
            .record_webhook_event(&event("ev-0"), now)
            .await
            .unwrap(),
        "an event past its retention is no longer a duplicate"
    );
    assert!(
        !store
            .record_webhook_event(&event("ev-10"), now)
            .await
            .unwrap()
    );
}

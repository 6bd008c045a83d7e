//! Jobs per second through the pipeline with a connector that does no I/O (the fixture's
//! `noop` mode), and dispatch latency (accepted → attempt started), on SQLite (database
//! polling) and on PostgreSQL + Redis (Streams). A load harness, not a criterion bench: it
//! prints a Markdown table.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 (`make services`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use postd_host::capability::vault::LocalKeyProvider;
use postd_host::config::PluginEntry;
use postd_host::jobs::{
    Clock, Dispatcher, Pipeline, PipelineSettings, RedisDispatch, RefreshLocks, SystemClock,
};
use postd_host::runtime::{Runtime, RuntimeSettings};
use postd_host::store::{JobState, NewConnection, NewPost, PostContent, Store, Target};

const BACKLOG: usize = 2_000;
const PACED: usize = 300;

struct Setup {
    pipeline: Arc<Pipeline>,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn setup(postgres: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("postd_bench_{}", std::process::id());
    let url = if postgres {
        let admin = Store::connect("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .expect("PostgreSQL at 127.0.0.1:5432");
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {tag} WITH (FORCE)"
        )))
        .execute(admin.pool())
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {tag}")))
            .execute(admin.pool())
            .await
            .unwrap();
        format!("postgres://postgres@127.0.0.1:5432/{tag}")
    } else {
        format!("sqlite://{}", dir.path().join("bench.db").display())
    };
    let store = Store::open(&url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let key = LocalKeyProvider::open_or_create(&dir.path().join("vault.key")).unwrap();
    let services = postd_host::service::store_services(&store, Arc::new(key), clock.clone());
    let settings = RuntimeSettings {
        cache_dir: Some(dir.path().join("cache")),
        // The bench measures the pipeline, not the egress ceiling (the noop connector sends nothing).
        tenant_rate: None,
        tenant_concurrency: 256,
        ..RuntimeSettings::default()
    };
    let runtime = Arc::new(Runtime::new(settings, services).unwrap());
    let mut entry = PluginEntry::new("pipeline", postd_test_artifacts::PIPELINE);
    entry.limits.max_concurrency = 256;
    runtime.configure_plugin(entry).await.unwrap();
    let (dispatcher, locks) = if postgres {
        let namespace = format!("{tag}:{}:", fastrand::u64(..));
        (
            Dispatcher::Redis(Arc::new(
                RedisDispatch::connect("redis://127.0.0.1:6379", &namespace)
                    .await
                    .expect("Redis"),
            )),
            RefreshLocks::local(),
        )
    } else {
        (Dispatcher::database(), RefreshLocks::local())
    };
    let settings = PipelineSettings {
        concurrency: 64,
        worker_id: "bench".into(),
        ..PipelineSettings::default()
    };
    let pipeline = Pipeline::new(store.clone(), runtime, clock, dispatcher, locks, settings);
    let now = pipeline.now();
    store.create_tenant("bench", "bench", now).await.unwrap();
    let connection = NewConnection {
        id: "conn".into(),
        plugin: "pipeline".into(),
        external_id: "x".into(),
        display_name: "x".into(),
        ..NewConnection::default()
    };
    store
        .tenant("bench")
        .upsert_connection(&connection, "bench", now)
        .await
        .unwrap();
    Setup {
        pipeline,
        store,
        _dir: dir,
    }
}

fn post(n: usize) -> NewPost {
    NewPost {
        idempotency_key: format!("key-{n}"),
        content: PostContent {
            text: format!("post {n}"),
            options: [("mode".to_string(), "noop".to_string())].into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: "conn".into(),
            account_id: "a".into(),
        }],
        scheduled_for: None,
    }
}

async fn published(store: &Store) -> usize {
    store
        .tenant("bench")
        .jobs(Some(JobState::Published), 100_000)
        .await
        .unwrap()
        .len()
}

/// Waits until `n` jobs are published; gives up (with the job counts) after two minutes.
async fn wait_published(store: &Store, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while published(store).await < n {
        let counts = store.job_counts().await.unwrap();
        assert!(Instant::now() < deadline, "stuck: jobs by state {counts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn measure(name: &str, postgres: bool) {
    let s = setup(postgres).await;
    // Accept rate: one transaction per post.
    let started = Instant::now();
    for n in 0..BACKLOG {
        s.pipeline.accept("bench", &post(n)).await.unwrap();
    }
    let accept_rate = BACKLOG as f64 / started.elapsed().as_secs_f64();
    // Drain rate: the backlog through 64 concurrent job slots.
    let started = Instant::now();
    let workers = s.pipeline.start();
    wait_published(&s.store, BACKLOG).await;
    let drain_rate = BACKLOG as f64 / started.elapsed().as_secs_f64();
    // Dispatch latency at a paced arrival rate (workers idle in between).
    let mut ids = Vec::new();
    for n in 0..PACED {
        let accepted = s
            .pipeline
            .accept("bench", &post(BACKLOG + n))
            .await
            .unwrap();
        ids.push(accepted.post().jobs[0].id.clone());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_published(&s.store, BACKLOG + PACED).await;
    workers.stop().await;
    let tenant = s.store.tenant("bench");
    let mut latencies = Vec::new();
    for id in &ids {
        let job = tenant.job(id).await.unwrap();
        let attempt = &tenant.attempts(id).await.unwrap()[0];
        latencies.push(attempt.started_at - job.created_at);
    }
    latencies.sort_unstable();
    println!(
        "| {name} | {accept_rate:.0} | {drain_rate:.0} | {} | {} |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("pipeline, no-op connector: {BACKLOG} backlog jobs, then {PACED} paced at ~100/s");
    println!(
        "| backend | accepted/s | published/s (backlog) | dispatch p50 ms | dispatch p99 ms |"
    );
    println!("|---|---|---|---|---|");
    tokio.block_on(async {
        measure("SQLite, database polling", false).await;
        measure("PostgreSQL + Redis Streams", true).await;
    });
}

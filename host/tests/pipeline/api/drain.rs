//! SIGTERM during load (issue 15): two `postd-host` replicas on one PostgreSQL database and one
//! Redis namespace publish through the pipeline fixture; replica A is stopped with SIGTERM while
//! every one of its workers is inside a job and most jobs are still queued, B keeps accepting
//! and publishing, then A comes back. A's stop exits 0 after finishing the jobs it was running,
//! every post went live exactly once, each job was claimed and run once, nothing was
//! dead-lettered and no job was left behind.

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::time::Duration;

use super::binary::HostProcess;
use super::*;
use crate::support::backend::Database;
use crate::support::{Platform, REDIS_URL, eventually, shared_cache};

/// Posts accepted (through both replicas) before A is stopped.
const BEFORE_STOP: usize = 100;
/// Posts accepted through B while A is down.
const WHILE_DOWN: usize = 50;
const POSTS: usize = BEFORE_STOP + WHILE_DOWN;
/// Job slots per replica.
const WORKERS: usize = 4;
const GRACE_SECS: u64 = 5;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn until_serving(host: &HostProcess) {
    eventually(Duration::from_secs(120), "the plugin to load", || async {
        host.readyz().await.json["plugins"]["pipeline"] == "serving"
    })
    .await;
}

/// Accepts post `n` through `host`; returns its post id and its one job's id.
async fn accept(host: &HostProcess, connection: &str, n: usize) -> (String, String) {
    let accepted = publish(
        &host.api,
        &host.key,
        &format!("drain-{n}"),
        &post_body(connection, &format!("post {n}")),
    )
    .await;
    assert_eq!(
        accepted.status,
        StatusCode::ACCEPTED,
        "post {n}: {accepted:?}"
    );
    let jobs = accepted.json["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{accepted:?}");
    (
        accepted.json["id"].as_str().unwrap().to_string(),
        jobs[0]["id"].as_str().unwrap().to_string(),
    )
}

/// Waits until every slot of both running replicas is inside a job, held at the platform's
/// publish.
async fn both_replicas_full(platform: &Platform) {
    eventually(
        Duration::from_secs(60),
        "every worker of both replicas to be inside a job",
        || async { platform.with(|s| s.publishes_held) == 2 * WORKERS },
    )
    .await;
}

/// Jobs `worker` holds under a lease: claimed and not finished.
async fn held_by(url: &str, worker: &str) -> Vec<String> {
    let store = postd_host::store::Store::open(url).await.unwrap();
    let held = sqlx::query_scalar::<_, String>(
        "SELECT id FROM jobs WHERE state = 'running' AND lease_owner LIKE $1",
    )
    .bind(format!("{worker}/%"))
    .fetch_all(store.pool())
    .await
    .unwrap();
    store.pool().close().await;
    held
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_load_loses_and_duplicates_nothing_and_exits_0() {
    use std::os::unix::fs::DirBuilderExt;

    let db = Database::create(Kind::PostgresRedis).await;
    let platform = Platform::start().await;
    // Publishes wait at the platform until the test lets them go, so both replicas' workers
    // are all inside jobs when A is stopped; then each takes a while, so jobs keep overlapping
    // the stop and the restart.
    platform.with(|s| {
        s.hold_publishes = true;
        s.publish_delay = Duration::from_millis(100);
    });
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    for data in [&a_dir, &b_dir] {
        std::fs::DirBuilder::new().mode(0o700).create(data).unwrap();
    }
    let url = &platform.url;
    let plugins = format!(
        "[plugins.pipeline]\npath = {path:?}\nallowed_hosts = [{url:?}]\nallowed_ranges = [\"127.0.0.0/8\"]\n\
         settings = {{ base-url = {url:?} }}\n",
        path = postd_test_artifacts::PIPELINE,
    );
    let cache = shared_cache();
    let (workers, grace) = (WORKERS.to_string(), GRACE_SECS.to_string());
    let env = |worker: &'static str| {
        [
            ("POSTD_DATABASE_URL", db.url.as_str()),
            ("POSTD_REDIS_URL", REDIS_URL),
            ("POSTD_REDIS_NAMESPACE", db.namespace.as_str()),
            ("POSTD_CACHE_DIR", cache.to_str().unwrap()),
            ("POSTD_WORKERS", workers.as_str()),
            ("POSTD_SHUTDOWN_GRACE_SECS", grace.as_str()),
            ("POSTD_WORKER_ID", worker),
        ]
    };

    // A creates the database's first tenant and the vault key; B runs on a copy of that key,
    // as replicas must (tokens sealed by one are opened by the other).
    let a = HostProcess::start(&a_dir, &a_dir, &plugins, &env("a-1"), Stdio::inherit()).await;
    let key = a.key.clone();
    std::fs::copy(a_dir.join("vault.key"), b_dir.join("vault.key")).unwrap();
    let b = HostProcess::restart(&b_dir, &b_dir, &plugins, &env("b"), &key).await;
    until_serving(&a).await;
    until_serving(&b).await;
    let connection = connect(&a.api, &key).await;

    // post id -> job id
    let mut posts = BTreeMap::new();
    for n in 0..BEFORE_STOP {
        let through = if n % 2 == 0 { &a } else { &b };
        let (post, job) = accept(through, &connection, n).await;
        posts.insert(post, job);
    }
    both_replicas_full(&platform).await;

    // SIGTERM with A's every slot inside a job; its jobs go on once it has begun stopping (its
    // listener closed), so they finish during the grace while the queue is still full.
    let stopped_at = now_ms();
    a.signal("-TERM");
    eventually(
        Duration::from_secs(GRACE_SECS + 30),
        "A to close its listener",
        || async {
            a.api
                .client
                .get(format!("{}/livez", a.api.url))
                .send()
                .await
                .is_err()
        },
    )
    .await;
    platform.with(|s| s.hold_publishes = false);
    let exited = tokio::time::timeout(Duration::from_secs(GRACE_SECS + 30), a.exited_cleanly())
        .await
        .expect("A stops within its grace");
    assert!(exited, "a SIGTERM stop under load exits 0");
    let out_when_a_exited = platform.with(|s| {
        s.hold_publishes = true;
        s.published.len()
    });
    // Every job A claimed it finished: none waits under A's lease for it to run out (a claim
    // left unstarted).
    let held = held_by(&db.url, "a-1").await;
    assert!(
        held.is_empty(),
        "A left jobs claimed but unfinished: {held:?}"
    );

    // B accepts while A is down, then A comes back on the same key.
    for n in BEFORE_STOP..POSTS {
        let (post, job) = accept(&b, &connection, n).await;
        posts.insert(post, job);
    }
    let a = HostProcess::restart(&a_dir, &a_dir, &plugins, &env("a-2"), &key).await;
    until_serving(&a).await;
    both_replicas_full(&platform).await;
    platform.with(|s| s.hold_publishes = false);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (jobs, _) = all_pages(&b.api, &key, "/v1/jobs?", 1000).await;
        let left: Vec<&Value> = jobs.iter().filter(|j| j["state"] != "published").collect();
        if jobs.len() == POSTS && left.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let mut report = String::new();
            for job in &left {
                let id = job["id"].as_str().unwrap();
                let attempts = b.api.get(&format!("/v1/jobs/{id}/attempts"), &key).await;
                report.push_str(&format!(
                    "\n{job}\n  attempts: {}\n  drafts: {}, live: {}",
                    attempts.json,
                    platform.drafts_for(id),
                    platform.posts_for(id)
                ));
            }
            panic!(
                "{} of {POSTS} jobs listed, {} not published (A stopped at {stopped_at}):{report}",
                jobs.len(),
                left.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Every job of every post, and nothing but them, is published, each claimed once: no
    // claim was left to run out under the stopped replica's lease.
    let (jobs, _) = all_pages(&a.api, &key, "/v1/jobs?", 1000).await;
    assert_eq!(jobs.len(), POSTS);
    let expected: HashSet<&String> = posts.values().collect();
    let listed: HashSet<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), POSTS, "job ids are unique");
    for job in &jobs {
        let id = job["id"].as_str().unwrap().to_string();
        assert!(expected.contains(&id), "an unexpected job: {job}");
        assert_eq!(job["state"], "published", "{job}");
        assert_eq!(job["attempts"], 1, "claimed once: {job}");
    }
    let dead = a.api.get("/v1/dead-letters?limit=1000", &key).await;
    assert_eq!(dead.status, StatusCode::OK, "{dead:?}");
    assert_eq!(dead.json, json!([]), "nothing was dead-lettered");

    // On the platform: each job's post went live once, the one the job recorded.
    let (live, drafts) = platform.with(|s| (s.published.clone(), s.drafts.clone()));
    assert_eq!(live.len(), POSTS, "one platform post per job, no more");
    assert_eq!(
        drafts.len(),
        POSTS,
        "one draft per job: no job was started twice"
    );
    for job in &jobs {
        let id = job["id"].as_str().unwrap();
        assert_eq!(platform.posts_for(id), 1, "job {id} went live exactly once");
        let (draft, post) = live
            .iter()
            .find(|(draft, _)| drafts.get(*draft).map(String::as_str) == Some(id))
            .unwrap();
        let result: Value = serde_json::from_str(job["result"].as_str().unwrap()).unwrap();
        assert_eq!(
            result["post_id"].as_str(),
            Some(post.as_str()),
            "job {id} recorded the post its draft {draft} became"
        );
    }

    // Each job ran once, to its end. The jobs A was running at the signal are A's to finish
    // (none was abandoned to its lease), and every process published.
    let mut by_worker = BTreeMap::<String, usize>::new();
    let mut running_at_stop = 0;
    for job in posts.values() {
        let attempts = a.api.get(&format!("/v1/jobs/{job}/attempts"), &key).await;
        let attempts = attempts.json.as_array().unwrap();
        assert_eq!(attempts.len(), 1, "job {job} ran once: {attempts:?}");
        let attempt = &attempts[0];
        assert_eq!(attempt["outcome"], "published", "{attempt}");
        let worker = attempt["worker"].as_str().unwrap().to_string();
        if worker == "a-1" && attempt["started_at"].as_i64().unwrap() < stopped_at {
            running_at_stop += 1;
        }
        *by_worker.entry(worker).or_default() += 1;
    }
    eprintln!(
        "drain: {out_when_a_exited} of {POSTS} posts out when A exited; published by {by_worker:?}"
    );
    assert_eq!(
        running_at_stop, WORKERS,
        "A finished every job it was running at the signal: {by_worker:?}"
    );
    for worker in ["a-1", "b", "a-2"] {
        assert!(
            by_worker.get(worker).is_some_and(|n| *n >= WORKERS),
            "{worker} published: {by_worker:?}"
        );
    }

    a.signal("-TERM");
    b.signal("-TERM");
    assert!(a.exited_cleanly().await && b.exited_cleanly().await);
}

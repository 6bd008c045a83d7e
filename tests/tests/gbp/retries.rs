//! Retries through the host's job pipeline when Google's answer to a create is lost: the post an
//! earlier attempt made is adopted, never made twice; a create that failed before Google acted is
//! still made.

use super::*;
use postd_host::store::{JobState, NewPost, PostContent, Target};

const TEXT: &str = "Pumpkin bread is back this week";

/// The pipeline with the connector connected, and one post to the first location accepted.
async fn accepted(key: &str) -> (support::pipeline::Piped, String) {
    let piped = support::pipeline::Piped::start(
        "gbp",
        postd_test_artifacts::GBP,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env).await;
    piped.connect(CONNECTION, callback).await;
    let post = NewPost {
        idempotency_key: key.into(),
        content: PostContent {
            text: TEXT.into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: location(),
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let job = accepted.post().jobs[0].id.clone();
    (piped, job)
}

/// Runs the job once, expecting a passing failure, then lets its backoff pass and runs it again
/// (and its state continuation, while Google processes a post the retry made) to the end.
async fn fail_once_then_finish(
    piped: &support::pipeline::Piped,
    job: &str,
) -> postd_host::store::Job {
    let tenant = piped.store.tenant(support::TENANT);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let failed = tenant.job(job).await.unwrap();
    assert_eq!(
        failed.state,
        JobState::Queued,
        "retried: {:?}",
        failed.last_error
    );
    assert!(
        failed
            .recovery_point
            .as_deref()
            .is_some_and(|p| p.starts_with("create-attempt:")),
        "the attempt was recorded before the create: {:?}",
        failed.recovery_point
    );
    piped.env.sandbox.advance_clock(Duration::from_secs(61));
    piped.clock.advance(120_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let retried = tenant.job(job).await.unwrap();
    if retried.state != JobState::Queued {
        return retried;
    }
    piped.env.sandbox.advance_clock(Duration::from_secs(61));
    piped.clock.advance(15_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    tenant.job(job).await.unwrap()
}

/// The posts the location holds with the test's text, read from Google's listing.
async fn posts_with_text(piped: &support::pipeline::Piped) -> Vec<Value> {
    let token = piped.env.sandbox.issue_token(Platform::Gbp).access_token;
    let url = format!(
        "{}/v4/{}/localPosts?pageSize=100",
        piped.env.sandbox.url(Platform::Gbp),
        location()
    );
    let text = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page: Value = serde_json::from_str(&text).unwrap();
    page["localPosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["summary"] == TEXT)
        .cloned()
        .collect()
}

fn creates(piped: &support::pipeline::Piped) -> usize {
    piped
        .env
        .sandbox
        .requests(Some(Platform::Gbp))
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/localPosts"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_whose_create_answer_was_lost_is_adopted_not_made_twice() {
    let (piped, job) = accepted("gbp-lost-answer").await;
    piped
        .env
        .sandbox
        .inject(Platform::Gbp, rule("answer-lost:502", "/localPosts"))
        .unwrap();
    let done = fail_once_then_finish(&piped, &job).await;
    let posts = posts_with_text(&piped).await;
    assert_eq!(posts.len(), 1, "one post on the profile: {posts:?}");
    assert_eq!(done.state, JobState::Published, "{:?}", done.last_error);
    let result: Value = serde_json::from_str(done.result.as_deref().unwrap()).unwrap();
    assert_eq!(result["post_id"], posts[0]["name"], "the post Google made");
    assert_eq!(creates(&piped), 1, "the retry looked before creating");
    let listed = piped
        .env
        .requests_since(0, PREFIX)
        .iter()
        .any(|r| r.method == "GET" && r.path.ends_with("/localPosts"));
    assert!(listed, "the retry listed the location's posts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_failed_before_google_acted_is_made_on_retry() {
    let (piped, job) = accepted("gbp-failed-create").await;
    piped
        .env
        .sandbox
        .inject(Platform::Gbp, rule("502", "/localPosts"))
        .unwrap();
    let done = fail_once_then_finish(&piped, &job).await;
    assert_eq!(done.state, JobState::Published, "{:?}", done.last_error);
    assert_eq!(posts_with_text(&piped).await.len(), 1);
    assert_eq!(creates(&piped), 2, "the failed create and the retry's");
}

//! A create whose answer is lost after LinkedIn made the post: the retry finds that post with the
//! author finder instead of posting twice, a create that failed before LinkedIn acted is still
//! made on retry, and a member's post LinkedIn will not let the connection check is not made twice.

use super::*;
use postd_host::store::{Job, JobState, NewPost, PostContent, Target};

const HOUR_MS: i64 = 3_600_000;

/// The posts the sandbox holds, as created.
fn held(env: &Env) -> Vec<Value> {
    postd_sandbox::platforms::linkedin::posts(env.sandbox.state())
}

/// A pipeline connected with `scopes` (empty: the manifest's).
async fn piped(scopes: &[&str]) -> support::pipeline::Piped {
    let piped = support::pipeline::Piped::start(
        "linkedin",
        postd_test_artifacts::LINKEDIN,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, scopes).await;
    piped.connect(CONNECTION, callback).await;
    piped
}

/// Accepts a text post to `account` and answers its job id.
async fn accept(
    piped: &support::pipeline::Piped,
    key: &str,
    account: String,
    text: &str,
) -> String {
    let post = NewPost {
        idempotency_key: key.into(),
        content: PostContent {
            text: text.into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: account,
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    accepted.post().jobs[0].id.clone()
}

async fn job_now(piped: &support::pipeline::Piped, id: &str) -> Job {
    piped.store.tenant(support::TENANT).job(id).await.unwrap()
}

fn post_id(job: &Job) -> String {
    let result: Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    result["post_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_whose_create_answer_is_lost_is_published_exactly_once() {
    let piped = piped(&[]).await;
    let env = &piped.env;
    env.sandbox
        .inject(Platform::Linkedin, rule("answer-lost:502", "/rest/posts"))
        .unwrap();
    let job_id = accept(&piped, "li-lost-1", org(), "Results (final) are in").await;

    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &job_id).await;
    assert_eq!(job.state, JobState::Queued, "a lost answer is retried");
    assert!(
        job.recovery_point
            .as_deref()
            .is_some_and(|p| p.starts_with("create-attempt:")),
        "the attempt was recorded before the create: {:?}",
        job.recovery_point
    );
    assert_eq!(
        held(env).len(),
        1,
        "LinkedIn made the post before the answer was lost"
    );

    let since = env.last_request_id();
    piped.clock.advance(HOUR_MS);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &job_id).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    let posts = held(env);
    assert_eq!(posts.len(), 1, "published exactly once");
    assert_eq!(post_id(&job), posts[0]["id"].as_str().unwrap());
    assert_eq!(posts[0]["commentary"], "Results \\(final\\) are in");
    assert_eq!(
        job.recovery_point,
        Some(format!("li-post:{}", post_id(&job)))
    );

    // The retry asked the author finder and did not create again.
    let log = env.requests_since(since, PREFIX);
    assert_eq!(lines(&log), ["GET /rest/posts"]);
    let query = log[0].query.as_deref().unwrap();
    assert!(
        query.contains("author=urn%3Ali%3Aorganization%3A1000001") && query.contains("q=author"),
        "{query}"
    );
    assert!(query.contains("sortBy=LAST_MODIFIED"), "{query}");
    assert_eq!(log[0].header("x-restli-method"), Some("FINDER"));
    assert_versioned(&log);
}

/// A busy author: 150 posts made after the lost create push it off the finder's first page; the
/// retry reads the next page, finds it there and does not post twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_is_found_behind_the_author_s_later_posts() {
    let piped = piped(&[]).await;
    let env = &piped.env;
    env.sandbox
        .inject(Platform::Linkedin, rule("answer-lost:502", "/rest/posts"))
        .unwrap();
    let job_id = accept(&piped, "li-busy-lost", org(), "The one that got lost").await;
    assert_eq!(piped.pipeline.run_due().await, 1);
    assert_eq!(job_now(&piped, &job_id).await.state, JobState::Queued);
    for n in 0..150 {
        accept(
            &piped,
            &format!("li-busy-{n}"),
            org(),
            &format!("Later post {n}"),
        )
        .await;
    }
    assert_eq!(piped.pipeline.run_due().await, 150);
    assert_eq!(held(env).len(), 151);

    let since = env.last_request_id();
    piped.clock.advance(HOUR_MS);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &job_id).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert_eq!(held(env).len(), 151, "published exactly once");
    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        ["GET /rest/posts", "GET /rest/posts"],
        "two finder pages, no create"
    );
    let second = log[1].query.as_deref().unwrap();
    assert!(second.contains("start=100"), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_whose_first_create_failed_before_acting_is_created_on_retry() {
    let piped = piped(&[]).await;
    let env = &piped.env;
    env.sandbox
        .inject(Platform::Linkedin, rule("502", "/rest/posts"))
        .unwrap();
    let job_id = accept(&piped, "li-failed-1", org(), "Second try").await;
    assert_eq!(piped.pipeline.run_due().await, 1);
    assert_eq!(job_now(&piped, &job_id).await.state, JobState::Queued);
    assert!(held(env).is_empty(), "nothing was made");

    let since = env.last_request_id();
    piped.clock.advance(HOUR_MS);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &job_id).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    let posts = held(env);
    assert_eq!(posts.len(), 1);
    assert_eq!(post_id(&job), posts[0]["id"].as_str().unwrap());
    let log = env.requests_since(since, PREFIX);
    assert_eq!(
        lines(&log),
        ["GET /rest/posts", "POST /rest/posts"],
        "looked, found nothing, created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_lost_answer_is_not_posted_again_when_linkedin_will_not_show_their_posts() {
    // The manifest's scopes: no r_member_social (LinkedIn grants it to approved partners only).
    let piped = piped(&[]).await;
    let env = &piped.env;
    env.sandbox
        .inject(Platform::Linkedin, rule("answer-lost:502", "/rest/posts"))
        .unwrap();
    let lost = accept(&piped, "li-member-lost", member(), "Hello").await;
    assert_eq!(piped.pipeline.run_due().await, 1);
    piped.clock.advance(HOUR_MS);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &lost).await;
    assert_eq!(job.state, JobState::Dead);
    let why = job.last_error.unwrap_or_default();
    assert!(why.contains("create-unverified"), "{why}");
    assert_eq!(held(env).len(), 1, "not posted a second time");

    // LinkedIn refused outright (it answered, so it did not act): the retry creates without
    // needing to look.
    env.sandbox
        .inject(Platform::Linkedin, rule("408", "/rest/posts"))
        .unwrap();
    let refused = accept(&piped, "li-member-refused", member(), "Hello again").await;
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &refused).await;
    assert_eq!(job.state, JobState::Queued, "{:?}", job.last_error);
    assert_eq!(job.recovery_point.as_deref(), Some("li-not-created"));
    let since = env.last_request_id();
    piped.clock.advance(HOUR_MS);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = job_now(&piped, &refused).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        ["POST /rest/posts"]
    );
    assert_eq!(held(env).len(), 2);
}

#[tokio::test]
async fn with_r_member_social_a_members_lost_video_post_is_found_by_its_video() {
    let li = env().await;
    let env = &li.env;
    // The manifest's scopes and the restricted r_member_social, as an approved partner has.
    let scopes = [
        "openid",
        "profile",
        "w_member_social",
        "rw_organization_admin",
        "w_organization_social",
        "r_organization_social",
        "r_member_social",
    ];
    connect(env, &scopes).await.unwrap();
    let mut video = post(&member(), "Clip [1]", &[]);
    video.media = vec![media(MediaKind::Video, format!("{}/video.mp4", li.media))];
    let served = publish(env, video, job("job-lost-video", 1, None)).await;
    let point = served.recovery_point.clone().unwrap();
    let task = served.continuations[0].clone();
    in_progress(reply!(served, Publish).unwrap());
    env.sandbox.advance_clock(Duration::from_secs(31));

    env.sandbox
        .inject(Platform::Linkedin, rule("answer-lost:502", "/rest/posts"))
        .unwrap();
    let served = handle(env, &task, job("job-lost-video", 1, Some(&point))).await;
    let attempt = served.recovery_point.clone().unwrap();
    let video_urn = point.strip_prefix("li-video:").unwrap();
    assert!(
        attempt.starts_with("create-attempt:") && attempt.ends_with(video_urn),
        "{attempt}"
    );
    assert!(matches!(
        expect_err(reply!(served, HandleTask), "answer lost"),
        ConnectorError::Transient(_)
    ));
    assert_eq!(held(env).len(), 1);

    // The job's retry (publish again, with the attempt as its recovery point) finds the post.
    let since = env.last_request_id();
    let mut again = post(&member(), "Clip [1]", &[]);
    again.media = vec![media(MediaKind::Video, format!("{}/video.mp4", li.media))];
    let served = publish(env, again, job("job-lost-video", 2, Some(&attempt))).await;
    let done = published(reply!(served, Publish).unwrap());
    let posts = held(env);
    assert_eq!(posts.len(), 1, "posted once");
    assert_eq!(done.post_id, posts[0]["id"].as_str().unwrap());
    assert_eq!(posts[0]["content"]["media"]["id"], video_urn);
    assert_eq!(
        lines(&env.requests_since(since, PREFIX)),
        ["GET /rest/posts"]
    );
}

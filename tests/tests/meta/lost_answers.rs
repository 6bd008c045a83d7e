//! Page posts whose answer is lost after Meta made them (a 502 after the work was done) are made
//! exactly once: the host retries with the recovery point recorded before the create, and the
//! connector finds the earlier attempt's post instead of posting again. A create that failed
//! before Meta acted is still made on the retry.

use postd_host::store::{JobState, MediaItem, NewPost, PostContent, Target};

use super::*;

async fn piped() -> support::pipeline::Piped {
    let piped = support::pipeline::Piped::start(
        "meta",
        postd_test_artifacts::META,
        SandboxConfig::default(),
        |base, _| settings(base),
    )
    .await;
    let callback = consent(&piped.env, &[]).await;
    piped.connect(CONNECTION, callback).await;
    piped
}

fn page_post(key: &str, text: &str, scheduled_for: Option<i64>) -> NewPost {
    NewPost {
        idempotency_key: key.into(),
        content: PostContent {
            text: text.into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: PAGE.into(),
        }],
        scheduled_for: scheduled_for.map(|s| s * 1000),
    }
}

/// Posts on the Page with `text`, as Graph lists them on `edge` (`feed` or `scheduled_posts`).
async fn on_page(piped: &support::pipeline::Piped, edge: &str, text: &str) -> Vec<Value> {
    let token = piped
        .env
        .secret(CONNECTION, &format!("page-token:{PAGE}"))
        .await
        .expect("a Page token");
    let url = format!(
        "{}/{VERSION}/{PAGE}/{edge}?fields=id,message,scheduled_publish_time&access_token={token}",
        piped.env.sandbox.url(Platform::Meta)
    );
    let listed: Value =
        serde_json::from_str(&reqwest::get(&url).await.unwrap().text().await.unwrap()).unwrap();
    listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|p| p["message"] == text)
        .cloned()
        .collect()
}

/// Runs the job once (its first answer fails), then its retry; returns the finished job.
async fn run_and_retry(piped: &support::pipeline::Piped, post: &NewPost) -> postd_host::store::Job {
    let accepted = piped.pipeline.accept(support::TENANT, post).await.unwrap();
    let job_id = accepted.post().jobs[0].id.clone();
    let tenant = piped.store.tenant(support::TENANT);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Queued, "{:?}", job.last_error);
    let point = job.recovery_point.clone().unwrap();
    assert!(point.starts_with(&format!("fb-feed:{PAGE}:")), "{point}");
    piped.clock.advance(60_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let job = tenant.job(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    job
}

fn posted_id(job: &postd_host::store::Job) -> String {
    let result: Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    result["post_id"].as_str().unwrap().to_string()
}

fn feed_creates(piped: &support::pipeline::Piped) -> Vec<Option<u16>> {
    piped
        .env
        .requests_since(0, PREFIX)
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == format!("/{PAGE}/feed"))
        .map(|r| r.status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_page_post_whose_answer_is_lost_is_scheduled_once() {
    let piped = piped().await;
    piped
        .env
        .sandbox
        .inject(Platform::Meta, rule("answer-lost:502", "/feed"))
        .unwrap();
    let at = now() + 3_600;
    let job = run_and_retry(
        &piped,
        &page_post("lost-sched", "Saturday special", Some(at)),
    )
    .await;

    let scheduled = on_page(&piped, "scheduled_posts", "Saturday special").await;
    assert_eq!(scheduled.len(), 1, "scheduled once: {scheduled:?}");
    assert_eq!(scheduled[0]["scheduled_publish_time"], at);
    assert_eq!(posted_id(&job), scheduled[0]["id"].as_str().unwrap());
    assert!(on_page(&piped, "feed", "Saturday special").await.is_empty());
    assert_eq!(
        feed_creates(&piped),
        [Some(502)],
        "one create, its answer lost"
    );
    let looked = lines(&piped.env.requests_since(0, PREFIX));
    assert!(
        looked.contains(&format!("GET /{PAGE}/scheduled_posts")),
        "{looked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_page_post_whose_answer_is_lost_is_made_once() {
    let piped = piped().await;
    piped
        .env
        .sandbox
        .inject(Platform::Meta, rule("answer-lost:502", "/feed"))
        .unwrap();
    // With a photo: Meta's 506 duplicate check, which once caught a text-only repeat, does not
    // apply to posts with attached media.
    let mut post = page_post("lost-now", "Fresh from the oven", None);
    post.content.media = vec![MediaItem {
        kind: "image".into(),
        url: "https://cdn.example/oven.jpg".into(),
        mime_type: None,
        size_bytes: None,
        alt_text: None,
    }];
    let job = run_and_retry(&piped, &post).await;

    let in_feed = on_page(&piped, "feed", "Fresh from the oven").await;
    assert_eq!(in_feed.len(), 1, "posted once: {in_feed:?}");
    assert_eq!(posted_id(&job), in_feed[0]["id"].as_str().unwrap());
    assert_eq!(
        feed_creates(&piped),
        [Some(502)],
        "one create, its answer lost"
    );
    let photos = lines(&piped.env.requests_since(0, PREFIX))
        .into_iter()
        .filter(|l| *l == format!("POST /{PAGE}/photos"))
        .count();
    assert_eq!(photos, 1, "the retry uploads nothing either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_failed_before_meta_acted_is_made_on_the_retry() {
    let piped = piped().await;
    piped
        .env
        .sandbox
        .inject(Platform::Meta, rule("502", "/feed"))
        .unwrap();
    let at = now() + 7_200;
    let scheduled =
        run_and_retry(&piped, &page_post("failed-sched", "Sunday roast", Some(at))).await;
    let listed = on_page(&piped, "scheduled_posts", "Sunday roast").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(posted_id(&scheduled), listed[0]["id"].as_str().unwrap());

    piped
        .env
        .sandbox
        .inject(Platform::Meta, rule("502", "/feed"))
        .unwrap();
    let now_job = run_and_retry(&piped, &page_post("failed-now", "Open today", None)).await;
    let in_feed = on_page(&piped, "feed", "Open today").await;
    assert_eq!(in_feed.len(), 1);
    assert_eq!(posted_id(&now_job), in_feed[0]["id"].as_str().unwrap());
    assert_eq!(
        feed_creates(&piped),
        [Some(502), Some(200), Some(502), Some(200)],
        "each retry creates, once"
    );
}

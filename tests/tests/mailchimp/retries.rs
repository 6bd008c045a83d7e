//! Retries when Mailchimp's answer to `POST /campaigns` is lost after the draft was saved: the
//! draft is found by its title's marker and sent once, a second draft is deleted, and a create
//! that failed before Mailchimp acted is still made.

use super::*;
use postd_host::store::{Job, JobState, NewPost, PostContent, Target};
use postd_sandbox::RunningSandbox;

/// Every campaign of the us6 account, as Mailchimp lists them.
async fn campaigns(sandbox: &RunningSandbox) -> Vec<serde_json::Value> {
    let url = format!(
        "{}/us6/3.0/campaigns?count=1000",
        sandbox.url(Platform::Mailchimp)
    );
    let text = reqwest::Client::new()
        .get(url)
        .basic_auth("postd", Some(seed::MAILCHIMP_API_KEY_US6))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    page["campaigns"].as_array().unwrap().clone()
}

/// `METHOD path` calls to Mailchimp ending with `suffix`.
fn calls(sandbox: &RunningSandbox, method: &str, suffix: &str) -> usize {
    sandbox
        .requests(Some(Platform::Mailchimp))
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .count()
}

/// Runs a sent-now campaign's job through the pipeline with `fault` on its first Mailchimp
/// campaign call: one passing failure, then the retry after the backoff.
async fn through_the_pipeline(fault: &str) -> (support::pipeline::Piped, Job) {
    let piped = pipeline::piped_mailchimp().await;
    pipeline::connect_us6(&piped).await;
    let post = NewPost {
        idempotency_key: format!("campaign-{fault}"),
        content: PostContent {
            text: "Harvest sale".into(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: CONNECTION.into(),
            account_id: seed::MAILCHIMP_LIST_ID.into(),
        }],
        scheduled_for: None,
    };
    let accepted = piped.pipeline.accept(support::TENANT, &post).await.unwrap();
    let id = accepted.post().jobs[0].id.clone();
    piped
        .env
        .sandbox
        .inject(Platform::Mailchimp, rule(fault, "/campaigns"))
        .unwrap();
    let tenant = piped.store.tenant(support::TENANT);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let failed = tenant.job(&id).await.unwrap();
    assert_eq!(failed.state, JobState::Queued, "{:?}", failed.last_error);
    assert!(
        failed
            .recovery_point
            .as_deref()
            .is_some_and(|p| p.starts_with("create-attempt:")),
        "the attempt was recorded before the create: {:?}",
        failed.recovery_point
    );
    piped.clock.advance(120_000);
    assert_eq!(piped.pipeline.run_due().await, 1);
    let done = tenant.job(&id).await.unwrap();
    assert_eq!(done.state, JobState::Published, "{:?}", done.last_error);
    (piped, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_whose_create_answer_was_lost_is_sent_once_and_leaves_no_draft() {
    let (piped, done) = through_the_pipeline("answer-lost:502").await;
    let sandbox = &piped.env.sandbox;
    let lookups = calls(sandbox, "GET", "/3.0/campaigns");
    let all = campaigns(sandbox).await;
    assert_eq!(all.len(), 1, "one campaign: {all:?}");
    assert_eq!(all[0]["status"], "sending", "sent, not a draft");
    let result: serde_json::Value = serde_json::from_str(done.result.as_deref().unwrap()).unwrap();
    assert_eq!(result["post_id"], all[0]["id"]);
    assert!(
        all[0]["settings"]["title"]
            .as_str()
            .unwrap()
            .ends_with(&format!("[postd {}]", done.id)),
        "the title carries the job's marker: {}",
        all[0]["settings"]["title"]
    );
    assert_eq!(calls(sandbox, "POST", "/3.0/campaigns"), 1);
    assert_eq!(calls(sandbox, "POST", "/actions/send"), 1);
    assert_eq!(lookups, 1, "the retry looked before creating");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_failed_before_mailchimp_acted_is_made_on_retry() {
    let (piped, _) = through_the_pipeline("502").await;
    let sandbox = &piped.env.sandbox;
    let all = campaigns(sandbox).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["status"], "sending");
    assert_eq!(calls(sandbox, "POST", "/3.0/campaigns"), 2);
    assert_eq!(calls(sandbox, "POST", "/actions/send"), 1);
}

#[tokio::test]
async fn a_second_draft_left_by_lost_answers_is_deleted_and_the_first_sent() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    env.sandbox
        .inject(Platform::Mailchimp, rule("answer-lost:502", "/campaigns"))
        .unwrap();
    let served = env
        .call(
            Some(CONNECTION),
            Some("job-twice"),
            Invocation::Publish(campaign("Twice lost"), job("job-twice", 1, None)),
        )
        .await;
    let point = served.recovery_point.clone().expect("an attempt recorded");
    assert!(point.starts_with("create-attempt:"), "{point}");
    let error = expect_err(reply!(served, Publish), "the answer is lost");
    assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");

    // A second draft with the same title, as a second create whose answer was lost leaves.
    let first = campaigns(&env.sandbox).await.remove(0);
    let body = json!({
        "type": "regular",
        "recipients": { "list_id": seed::MAILCHIMP_LIST_ID },
        "settings": first["settings"],
    });
    let text = reqwest::Client::new()
        .post(format!(
            "{}/us6/3.0/campaigns",
            env.sandbox.url(Platform::Mailchimp)
        ))
        .basic_auth("postd", Some(seed::MAILCHIMP_API_KEY_US6))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let second: serde_json::Value = serde_json::from_str(&text).unwrap();
    let second = second["id"].as_str().unwrap().to_string();

    let served = env
        .call(
            Some(CONNECTION),
            Some("job-twice"),
            Invocation::Publish(campaign("Twice lost"), job("job-twice", 2, Some(&point))),
        )
        .await;
    assert_eq!(
        served.recovery_point.as_ref(),
        first["id"].as_str().map(String::from).as_ref()
    );
    let sent = published(reply!(served, Publish).unwrap());
    assert_eq!(
        sent.post_id,
        first["id"].as_str().unwrap(),
        "the oldest is kept"
    );
    let all = campaigns(&env.sandbox).await;
    assert_eq!(all.len(), 1, "no stray draft: {all:?}");
    assert_eq!(all[0]["status"], "sending");
    assert_eq!(
        calls(&env.sandbox, "DELETE", &format!("/campaigns/{second}")),
        1
    );
    assert_eq!(
        calls(&env.sandbox, "POST", "/3.0/campaigns"),
        2,
        "the connector's and the test's"
    );
    assert_eq!(calls(&env.sandbox, "POST", "/actions/send"), 1);
}

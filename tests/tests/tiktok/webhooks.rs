//! Webhooks through the host API: the signature good, forged and stale; a publish event wakes
//! the job polling that publish; `authorization.removed` revokes the connection.

use super::*;
use postd_host::store::ConnectionStatus;
use postd_sandbox::webhooks::DeliveryOptions;
use serde_json::json;

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Signed now by the real clock (the sandbox's may have been moved on).
fn now_options() -> DeliveryOptions {
    DeliveryOptions {
        timestamp: Some(wall_clock()),
        ..DeliveryOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_stale_deliveries_are_refused_and_a_publish_event_completes_its_job_at_once() {
    let mut tt = start(sandbox_config(), &[]).await;
    tt.piped.serve_api();
    let url = format!("{}/webhooks/tiktok", tt.piped.api_url);
    let size = 2 * MIB;
    let id = tt
        .accept(new_post(
            "tt-webhook",
            "Woken by a webhook",
            vec![video(format!("{}/v/w-{size}.mp4", tt.media), Some(size))],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    tt.piped.pipeline.run_due().await;
    // Uploaded; the first status poll waits 5 s. TikTok finishes processing meanwhile.
    tt.piped.env.sandbox.advance_clock(Duration::from_secs(30));
    assert_eq!(tt.piped.pipeline.run_due().await, 0, "nothing due yet");
    let publish_id = tt.job(&id).await.recovery_point.unwrap();
    // A redelivery repeats the body, `create_time` included (the id is a digest of the body);
    // fixed here, so the two deliveries below are the same even across a second boundary.
    let event = json!({
        "event": "post.publish.complete",
        "create_time": wall_clock(),
        "content": json!({"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"}).to_string(),
    });
    let sandbox = &tt.piped.env.sandbox;

    let forged = DeliveryOptions {
        secret: Some("not-the-client-secret".into()),
        ..now_options()
    };
    let answer = sandbox
        .deliver_webhook(Platform::Tiktok, &url, &event, &forged)
        .await
        .unwrap();
    assert_eq!(answer.status, 401, "{}", answer.response_body);
    let stale = DeliveryOptions {
        timestamp: Some(wall_clock() - 600),
        ..DeliveryOptions::default()
    };
    let answer = sandbox
        .deliver_webhook(Platform::Tiktok, &url, &event, &stale)
        .await
        .unwrap();
    assert_eq!(answer.status, 401, "{}", answer.response_body);
    assert_eq!(
        tt.piped.pipeline.run_due().await,
        0,
        "refused deliveries wake nothing"
    );

    let answer = sandbox
        .deliver_webhook(Platform::Tiktok, &url, &event, &now_options())
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.response_body);
    let received: Value = serde_json::from_str(&answer.response_body).unwrap();
    assert_eq!(received["stored"], 1);
    assert_eq!(received["woken"], 1);
    // The poll runs now, without the pipeline's clock moving.
    assert_eq!(tt.piped.pipeline.run_due().await, 1);
    let job = tt.job(&id).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);

    let again = sandbox
        .deliver_webhook(Platform::Tiktok, &url, &event, &now_options())
        .await
        .unwrap();
    let received: Value = serde_json::from_str(&again.response_body).unwrap();
    assert_eq!(
        (received["stored"].as_u64(), received["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_removed_revokes_the_connection() {
    let mut tt = start(sandbox_config(), &[]).await;
    tt.piped.serve_api();
    let url = format!("{}/webhooks/tiktok", tt.piped.api_url);
    let event = json!({"event": "authorization.removed", "content": "{\"reason\":1}"});
    let answer = tt
        .piped
        .env
        .sandbox
        .deliver_webhook(Platform::Tiktok, &url, &event, &now_options())
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.response_body);
    let received: Value = serde_json::from_str(&answer.response_body).unwrap();
    assert_eq!(received["revoked"], 1);
    let connection = tt
        .piped
        .store
        .tenant(support::TENANT)
        .connection(CONNECTION)
        .await
        .unwrap();
    assert_eq!(connection.status, ConnectionStatus::Revoked);
}

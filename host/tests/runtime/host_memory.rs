//! What the host holds on a call's behalf is charged to that call: a hostile component cannot
//! grow host memory through host calls, and what it answers is capped before anything uses it.

use std::sync::Arc;

use postd_host::capability::CallContext;
use postd_host::capability::queue::{ContinuationRefused, MemoryJobSink};
use postd_host::config::LimitsOverride;
use postd_host::runtime::bounds::{MAX_EVENTS_PER_DELIVERY, MAX_ID_BYTES};
use postd_host::runtime::wit::connector::{PublishOutcome, WebhookRequest};
use postd_host::runtime::{
    Answer, CallError, HostServices, Invocation, Runtime, RuntimeSettings, Served,
};
use postd_test_artifacts::{EXAMPLE, HOSTILE};

use crate::support::{self, TENANT, publish};

async fn runtime_with(settings: RuntimeSettings, services: HostServices) -> Arc<Runtime> {
    let runtime = Arc::new(
        Runtime::new(
            RuntimeSettings {
                cache_dir: Some(support::shared_cache()),
                ..settings
            },
            services,
        )
        .unwrap(),
    );
    let limits = LimitsOverride {
        memory_mb: Some(16),
        ..Default::default()
    };
    runtime
        .configure_plugin(support::entry("hostile", HOSTILE, limits))
        .await
        .expect("hostile loads");
    support::serve(&runtime, "example", EXAMPLE).await;
    runtime
}

/// A publish of `text` in a connection and a job, so every capability is open to it.
async fn publish_in_job(runtime: &Runtime, text: &str) -> Result<Served<Answer>, CallError> {
    let context = CallContext::tenant(TENANT)
        .with_connection("conn-1")
        .with_job("job-1");
    runtime.invoke("hostile", context, publish(text)).await
}

fn post_id(served: Served<Answer>) -> String {
    match served.answer {
        Answer::Publish(Ok(PublishOutcome::Published(p))) => p.post_id,
        other => panic!("expected a published answer, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_vault_puts_end_the_call_at_its_memory_limit() {
    let runtime = runtime_with(RuntimeSettings::default(), HostServices::in_memory()).await;
    let error = publish_in_job(&runtime, "vault-flood")
        .await
        .expect_err("the flood must be stopped");
    assert!(
        matches!(
            error,
            CallError::HostMemoryLimit { limit_bytes, .. } if limit_bytes == 16 << 20
        ),
        "{error}"
    );
    assert_eq!(error.code(), "memory-limit");
    assert_eq!(
        runtime.host_memory().0,
        0,
        "everything held for the call is given back"
    );
    // Other plugins and the offender's next call are unaffected.
    support::manifest_versions(&runtime, "example")
        .await
        .unwrap();
    assert_eq!(
        post_id(publish_in_job(&runtime, "fine").await.unwrap()),
        "fine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_cannot_add_up_past_the_host_wide_ceiling() {
    let settings = RuntimeSettings {
        host_memory_bytes: 1 << 20,
        ..RuntimeSettings::default()
    };
    let runtime = runtime_with(settings, HostServices::in_memory()).await;
    let error = publish_in_job(&runtime, "vault-flood")
        .await
        .expect_err("the flood must be stopped");
    assert!(
        matches!(error, CallError::HostMemoryFull { ceiling_bytes, .. } if ceiling_bytes == 1 << 20),
        "{error}"
    );
    assert_eq!(error.code(), "busy");
    assert_eq!(runtime.host_memory(), (0, 1 << 20));
    assert_eq!(
        post_id(publish_in_job(&runtime, "fine").await.unwrap()),
        "fine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_points_and_continuations_are_capped_per_call() {
    let sink = Arc::new(MemoryJobSink::default());
    let services = HostServices {
        jobs: sink.clone(),
        ..HostServices::in_memory()
    };
    let runtime = runtime_with(RuntimeSettings::default(), services).await;
    let limits = RuntimeSettings::default().queue;
    let checkpoints = publish_in_job(&runtime, "checkpoint-flood").await.unwrap();
    assert_eq!(
        post_id(checkpoints),
        format!("checkpoints={}", limits.max_checkpoints)
    );
    let flood = publish_in_job(&runtime, "continuation-flood")
        .await
        .expect_err("1,000 continuations are over the cap");
    match &flood {
        CallError::BadContinuation { refused, .. } => {
            assert_eq!(*refused, ContinuationRefused::TooMany(limits.max_pending))
        }
        other => panic!("expected bad-continuation, got {other:?}"),
    }
    assert_eq!(flood.code(), "bad-continuation");
    assert_eq!(
        runtime.host_memory().0,
        0,
        "nothing stays held after the refusal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_answer_is_refused_whole() {
    let runtime = runtime_with(RuntimeSettings::default(), HostServices::in_memory()).await;
    let error = publish_in_job(&runtime, "huge-id")
        .await
        .expect_err("a 2 MiB post id is not an answer");
    match &error {
        CallError::AnswerTooLarge { oversized, .. } => {
            assert_eq!(oversized.field, "published.post-id");
            assert_eq!(oversized.limit, MAX_ID_BYTES);
        }
        other => panic!("expected answer-too-large, got {other}"),
    }
    assert_eq!(error.code(), "answer-too-large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_delivery_cannot_expand_into_many_events() {
    let runtime = runtime_with(RuntimeSettings::default(), HostServices::in_memory()).await;
    let delivery = |bytes: usize| {
        Invocation::VerifyWebhook(WebhookRequest {
            method: "POST".into(),
            path: "/".into(),
            query: vec![],
            headers: vec![],
            body: vec![b'x'; bytes],
        })
    };
    let call = |bytes| runtime.invoke("hostile", CallContext::tenant("_webhook"), delivery(bytes));
    let within = call(MAX_EVENTS_PER_DELIVERY).await.unwrap();
    assert!(
        matches!(&within.answer, Answer::VerifyWebhook(Ok(events)) if events.len() == MAX_EVENTS_PER_DELIVERY)
    );
    let error = call(MAX_EVENTS_PER_DELIVERY + 1).await.unwrap_err();
    assert!(
        matches!(&error, CallError::AnswerTooLarge { oversized, .. } if oversized.field == "events"),
        "{error}"
    );
}

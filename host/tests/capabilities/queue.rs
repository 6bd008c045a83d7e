//! Continuations and recovery points: bound to the current job, limited, durable at once.

use std::sync::Arc;
use std::time::Duration;

use postd_host::capability::queue::{
    ContinuationRefused, JobSink, MemoryJobSink, QueueLimits, QueueState,
};
use postd_host::runtime::wit::queue::{Host as _, QueueError, Task};

fn task(payload: &str) -> Task {
    Task {
        kind: "poll-status".into(),
        payload: payload.into(),
    }
}

fn limits() -> QueueLimits {
    QueueLimits {
        max_pending: 2,
        max_delay: Duration::from_secs(60),
        max_payload: 64,
        max_checkpoints: 3,
    }
}

#[tokio::test]
async fn continuations_are_collected_within_the_limits() {
    let sink = Arc::new(MemoryJobSink::default());
    let mut queue = QueueState::new(Some("job-1".into()), sink, limits());
    let ms = Duration::from_millis;
    queue
        .accept(task("{\"publish_id\":\"v_pub_1\"}"), ms(5_000))
        .unwrap()
        .unwrap();
    assert_eq!(
        queue.accept(task("x"), ms(61_000)).unwrap(),
        Err(ContinuationRefused::DelayTooLong(60_000))
    );
    assert_eq!(
        queue.accept(task(&"x".repeat(100)), ms(0)).unwrap(),
        Err(ContinuationRefused::TooLarge(64))
    );
    queue.accept(task("second"), ms(0)).unwrap().unwrap();
    assert_eq!(
        queue.accept(task("third"), ms(0)).unwrap(),
        Err(ContinuationRefused::TooMany(2))
    );

    let enqueued = queue.take_enqueued();
    assert_eq!(enqueued.len(), 2);
    assert_eq!(enqueued[0].delay, Duration::from_secs(5));
    assert_eq!(enqueued[0].payload, "{\"publish_id\":\"v_pub_1\"}");
}

#[tokio::test]
async fn a_checkpoint_is_recorded_durably_before_the_call_goes_on() {
    let sink = Arc::new(MemoryJobSink::default());
    let mut queue = QueueState::new(Some("job-7".into()), sink.clone(), limits());
    queue
        .checkpoint("container-17841405822304914".into())
        .await
        .unwrap()
        .unwrap();
    // Visible in the sink at once, not at the end of the call.
    assert_eq!(
        sink.recovery_point("job-7").as_deref(),
        Some("container-17841405822304914")
    );
    queue
        .checkpoint("container-2".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queue.last_checkpoint(), Some("container-2"));
    assert_eq!(sink.recovery_point("job-7").as_deref(), Some("container-2"));
}

#[tokio::test]
async fn calls_without_a_job_cannot_continue_one() {
    let sink: Arc<dyn JobSink> = Arc::new(MemoryJobSink::default());
    let mut queue = QueueState::new(None, sink, limits());
    assert_eq!(
        queue.accept(task("x"), Duration::ZERO).unwrap(),
        Err(ContinuationRefused::NoJob)
    );
    assert!(matches!(
        queue.checkpoint("p".into()).await.unwrap(),
        Err(QueueError::NoJob)
    ));
}

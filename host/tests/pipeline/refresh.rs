//! Token lifecycle and health: one exchange for many simultaneous refreshes, scheduled refresh
//! ahead of expiry with rotated refresh tokens, health checks and their status transitions.

use std::sync::Arc;
use std::time::Duration;

use postd_host::capability::vault::{
    EncryptedSecretStore, KeyRing, LocalKeyProvider, SecretScope, SecretStore, SecretWrite,
};

use postd_host::jobs::{RefreshOutcome, RefreshTrigger};
use postd_host::store::{ConnectionStatus, JobState};

use crate::on_both_backends;
use crate::support::{Harness, Kind};

on_both_backends!(
    fifty_concurrent_refreshes_cause_one_token_exchange,
    tokens_are_refreshed_ahead_of_expiry_and_rotated,
    a_failed_refresh_marks_attention_and_pauses_jobs,
    health_checks_log_and_move_the_status,
    a_token_that_cannot_be_refreshed_warns_then_needs_attention,
    a_health_check_meeting_an_expired_token_refreshes_before_blaming_the_user,
    a_refresh_lease_that_ended_is_taken_over_and_its_old_holder_cannot_extend_it,
);

/// The database lease behind refresh locks: held, it keeps others out; once it ended another
/// holder takes it, and the old holder can neither extend nor release the new one's lease.
async fn a_refresh_lease_that_ended_is_taken_over_and_its_old_holder_cannot_extend_it(kind: Kind) {
    let h = Harness::new(kind).await;
    let store = &h.store;
    assert!(
        store
            .take_refresh_lease("acme:c", "a", 60_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_refresh_lease("acme:c", "b", 60_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .take_refresh_lease("acme:other", "b", 60_000)
            .await
            .unwrap()
    );
    assert!(store.extend_refresh_lease("acme:c", "a", 1).await.unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Ended: taken over, and the old holder's confirmation fails.
    assert!(
        store
            .take_refresh_lease("acme:c", "b", 60_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend_refresh_lease("acme:c", "a", 60_000)
            .await
            .unwrap()
    );
    store.release_refresh_lease("acme:c", "a").await.unwrap();
    assert!(
        !store
            .take_refresh_lease("acme:c", "a", 60_000)
            .await
            .unwrap()
    );
    // Released by its holder: free at once.
    store.release_refresh_lease("acme:c", "b").await.unwrap();
    assert!(
        store
            .take_refresh_lease("acme:c", "a", 60_000)
            .await
            .unwrap()
    );
}

async fn fifty_concurrent_refreshes_cause_one_token_exchange(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    // A slow token endpoint, so the triggers really overlap.
    h.platform
        .with(|s| s.token_delay = Duration::from_millis(100));
    let before = h.platform.with(|s| s.token_exchanges);
    // Fifty triggers that all saw the same tokens (however late the scheduler starts them).
    let seen = h
        .store
        .tenant("acme")
        .connection("conn-1")
        .await
        .unwrap()
        .token_version;
    let triggers: Vec<_> = (0..50)
        .map(|_| {
            let pipeline = h.pipeline.clone();
            tokio::spawn(async move {
                pipeline
                    .refresh_from("acme", "conn-1", RefreshTrigger::Manual, seen)
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for trigger in triggers {
        outcomes.push(trigger.await.unwrap());
    }
    assert_eq!(
        h.platform.with(|s| s.token_exchanges) - before,
        1,
        "exactly one exchange: {outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RefreshOutcome::Refreshed)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RefreshOutcome::AlreadyFresh)
            .count(),
        49
    );
    assert_eq!(
        h.platform.with(|s| s.reused_refresh),
        0,
        "no rotated-away refresh token was reused"
    );
}

async fn tokens_are_refreshed_ahead_of_expiry_and_rotated(kind: Kind) {
    let h = Harness::new(kind).await;
    let connection = h.connect("acme", "conn-1").await;
    let expires_at = connection.expires_at.expect("the platform gave expires_in");
    // The fixture refreshes one hour ahead; two hours are left.
    assert_eq!(h.pipeline.refresh_due_connections().await, 0);
    h.clock.set(expires_at - 3_600_000 + 1);
    assert_eq!(h.pipeline.refresh_due_connections().await, 1);
    let refreshed = h.store.tenant("acme").connection("conn-1").await.unwrap();
    assert!(refreshed.refreshed_at.is_some());
    assert!(
        refreshed.expires_at.unwrap() >= expires_at,
        "a new expiry was stored"
    );
    // The rotated refresh token was stored with the access token: the next refresh uses the
    // new one (the platform refuses a reused one).
    h.clock.set(refreshed.expires_at.unwrap() - 3_600_000 + 1);
    assert_eq!(h.pipeline.refresh_due_connections().await, 1);
    assert_eq!(
        h.platform.with(|s| (s.token_exchanges, s.reused_refresh)),
        (3, 0)
    );
    let audit: Vec<String> = h
        .store
        .tenant("acme")
        .audit_log(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        audit
            .iter()
            .filter(|a| *a == "connection.refreshed")
            .count(),
        2,
        "{audit:?}"
    );
}

async fn a_failed_refresh_marks_attention_and_pauses_jobs(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    h.platform.with(|s| s.token_delay = Duration::ZERO);
    let job = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    h.platform.with(|s| s.refuse_refresh = true);
    let outcome = h
        .pipeline
        .refresh("acme", "conn-1", RefreshTrigger::Manual)
        .await;
    assert!(
        matches!(outcome, RefreshOutcome::Failed { paused: true, .. }),
        "{outcome:?}"
    );
    let tenant = h.store.tenant("acme");
    let connection = tenant.connection("conn-1").await.unwrap();
    assert!(!connection.status.usable(), "{connection:?}");
    assert_eq!(
        tenant.job(&job).await.unwrap().state,
        JobState::Paused,
        "kept, not dropped"
    );
    assert_eq!(h.pipeline.run_due().await, 0);

    h.platform.with(|s| s.refuse_refresh = false);
    h.connect("acme", "conn-1").await;
    assert_eq!(
        tenant.connection("conn-1").await.unwrap().status,
        ConnectionStatus::Healthy
    );
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(tenant.job(&job).await.unwrap().state, JobState::Published);
}

async fn health_checks_log_and_move_the_status(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    // A new connection is checked at once, then every 6 hours.
    assert_eq!(h.pipeline.check_due_health().await, 1);
    assert_eq!(h.pipeline.check_due_health().await, 0);
    let tenant = h.store.tenant("acme");
    let log = tenant.health_log("conn-1", 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].ok && log[0].error.is_none());
    assert_eq!(
        tenant.connection("conn-1").await.unwrap().next_health_at,
        log[0].checked_at + 6 * 3_600_000
    );

    h.platform.with(|s| s.revoked = true);
    h.clock.advance(6 * 3_600_000);
    assert_eq!(h.pipeline.check_due_health().await, 1);
    let log = tenant.health_log("conn-1", 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(!log[0].ok);
    assert!(
        log[0].error.as_deref().unwrap().contains("auth-revoked"),
        "{:?}",
        log[0]
    );
    assert_eq!(
        tenant.connection("conn-1").await.unwrap().status,
        ConnectionStatus::Revoked
    );
}

async fn a_token_that_cannot_be_refreshed_warns_then_needs_attention(kind: Kind) {
    let h = Harness::new(kind).await;
    let connection = h.connect("acme", "conn-1").await;
    let expires_at = connection.expires_at.unwrap();
    // The refresh token is gone (a platform that issues none): the connector answers
    // not-supported when asked to refresh.
    let key = LocalKeyProvider::open_or_create(&h.db.data_dir().join("vault.key")).unwrap();
    let vault = EncryptedSecretStore::new(KeyRing::new(Arc::new(key)), Arc::new(h.store.clone()));
    let scope = SecretScope::new("acme", "pipeline", "conn-1");
    vault
        .commit(&scope, vec![SecretWrite::Delete("refresh-token".into())])
        .await
        .unwrap();

    h.clock.set(expires_at - 3_600_000 + 1);
    assert_eq!(h.pipeline.refresh_due_connections().await, 0);
    let tenant = h.store.tenant("acme");
    let warned = tenant.connection("conn-1").await.unwrap();
    assert_eq!(warned.status, ConnectionStatus::ExpiringSoon, "{warned:?}");
    assert!(warned.status_reason.unwrap().contains("reconnect"));
    // Still usable until it expires, and a health check keeps the warning.
    let job = h
        .post("acme", "conn-1", "key-1", "before expiry", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(tenant.job(&job).await.unwrap().state, JobState::Published);
    h.pipeline
        .check_health(&tenant.connection("conn-1").await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        tenant.connection("conn-1").await.unwrap().status,
        ConnectionStatus::ExpiringSoon
    );

    // After expiry a job cannot run: the connection needs attention and the job waits.
    h.clock.set(expires_at + 1);
    let late = h
        .post("acme", "conn-1", "key-2", "after expiry", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(
        tenant.connection("conn-1").await.unwrap().status,
        ConnectionStatus::Attention
    );
    assert_eq!(tenant.job(&late).await.unwrap().state, JobState::Paused);
}

/// PostgreSQL without Redis: advisory locks keep the refreshes to one, and jobs are claimed by
/// polling with `SKIP LOCKED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_redis_refreshes_once_and_runs_jobs() {
    let h = Harness::new(Kind::Postgres).await;
    h.connect("acme", "conn-1").await;
    h.platform
        .with(|s| s.token_delay = Duration::from_millis(50));
    let seen = h
        .store
        .tenant("acme")
        .connection("conn-1")
        .await
        .unwrap()
        .token_version;
    let triggers: Vec<_> = (0..20)
        .map(|_| {
            let pipeline = h.pipeline.clone();
            tokio::spawn(async move {
                pipeline
                    .refresh_from("acme", "conn-1", RefreshTrigger::Manual, seen)
                    .await
            })
        })
        .collect();
    let mut refreshed = 0;
    for trigger in triggers {
        if trigger.await.unwrap() == RefreshOutcome::Refreshed {
            refreshed += 1;
        }
    }
    assert_eq!(refreshed, 1);
    assert_eq!(
        h.platform.with(|s| (s.token_exchanges, s.reused_refresh)),
        (2, 0),
        "connect + one refresh"
    );
    let job = h
        .post("acme", "conn-1", "key-1", "hello", &[])
        .await
        .post()
        .jobs[0]
        .id
        .clone();
    assert_eq!(h.pipeline.run_due().await, 1);
    assert_eq!(
        h.store.tenant("acme").job(&job).await.unwrap().state,
        JobState::Published
    );
}

/// Platforms invalidate access tokens before their announced expiry (Graph's 190/463): a
/// health check that meets one refreshes as a job would, checks again, and stays healthy.
async fn a_health_check_meeting_an_expired_token_refreshes_before_blaming_the_user(kind: Kind) {
    let h = Harness::new(kind).await;
    h.connect("acme", "conn-1").await;
    let tenant = h.store.tenant("acme");
    let before = tenant.connection("conn-1").await.unwrap();
    h.platform.expire_access_tokens();
    let outcome = h.pipeline.check_health(&before).await.unwrap();
    assert!(outcome.ok, "{outcome:?}");
    let after = tenant.connection("conn-1").await.unwrap();
    assert_eq!(after.status, ConnectionStatus::Healthy, "{after:?}");
    assert!(after.token_version > before.token_version, "refreshed");
    assert_eq!(
        h.platform.with(|s| s.token_exchanges),
        2,
        "the code, then one refresh"
    );

    // When the refresh is refused too (invalid_grant), the user must reconnect: the refresh
    // marks the connection revoked, and the check is logged as failed with the refresh's error.
    h.platform.expire_access_tokens();
    h.platform.with(|s| s.refuse_refresh = true);
    let outcome = h.pipeline.check_health(&after).await.unwrap();
    assert!(!outcome.ok);
    assert_eq!(outcome.status, ConnectionStatus::Revoked, "{outcome:?}");
    let log = tenant.health_log("conn-1", 1).await.unwrap();
    assert!(!log[0].ok && log[0].error.is_some(), "{log:?}");
}

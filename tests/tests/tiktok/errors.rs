//! TikTok's error envelope through the real host: each documented code reaches the host as the
//! right connector error, and the pipeline acts on it (wait, refresh, dead letter, retry).

use super::*;
use postd_host::runtime::wit::connector::{Media, MediaKind, Post};
use postd_host::runtime::wit::types::ConnectorError;

fn direct_post(media: &str) -> Post {
    Post {
        account_id: seed::TIKTOK_OPEN_ID.into(),
        text: "classified".into(),
        link: None,
        media: vec![Media {
            kind: MediaKind::Video,
            url: format!("{media}/v/e-{}.mp4", MIB),
            mime_type: None,
            size_bytes: None,
            alt_text: None,
        }],
        scheduled_for: None,
        options: vec![("privacy-level".into(), "SELF_ONLY".into())],
    }
}

/// Publishes once with `code` injected on the first call TikTok answers (creator info).
async fn publish_against(tt: &Tt, code: &str) -> ConnectorError {
    tt.piped
        .env
        .sandbox
        .inject(Platform::Tiktok, rule(code, "creator_info", 1))
        .unwrap();
    let served = tt
        .piped
        .env
        .call(
            Some(CONNECTION),
            Some("job-errors"),
            Invocation::Publish(direct_post(&tt.media), support::job("job-errors", 1, None)),
        )
        .await;
    support::expect_err(reply!(served, Publish), code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_code_is_classified() {
    let tt = start(sandbox_config(), &[]).await;
    assert!(matches!(
        publish_against(&tt, "access_token_invalid").await,
        ConnectorError::AuthExpired(m) if m.contains("log_id")
    ));
    for code in ["scope_not_authorized", "scope_permission_missed"] {
        assert!(matches!(
            publish_against(&tt, code).await,
            ConnectorError::PermissionMissing(scopes) if scopes == ["video.publish"]
        ));
    }
    assert!(matches!(
        publish_against(&tt, "rate_limit_exceeded").await,
        ConnectorError::RateLimited(info) if info.retry_after_ms == 60_000
    ));
    for code in [
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "spam_risk_too_many_pending_share",
        "reached_active_user_cap",
        "unaudited_client_can_only_post_to_private_accounts",
        "url_ownership_unverified",
    ] {
        match publish_against(&tt, code).await {
            ConnectorError::Platform(e) => {
                assert_eq!(e.code, code);
                assert!(
                    e.message.contains("The sandbox injected this error."),
                    "{}",
                    e.message
                );
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    for code in [
        "invalid_params",
        "invalid_file_upload",
        "privacy_level_option_mismatch",
    ] {
        assert!(
            matches!(
                publish_against(&tt, code).await,
                ConnectorError::InvalidInput(_)
            ),
            "{code}"
        );
    }
    for code in ["internal_error", "503"] {
        assert!(
            matches!(
                publish_against(&tt, code).await,
                ConnectorError::Transient(_)
            ),
            "{code}"
        );
    }
    // OAuth errors on refresh: a refused grant means reconnecting; a wrong client is the
    // operator's to fix.
    for (code, revoked) in [("invalid_grant", true), ("invalid_client", false)] {
        tt.piped
            .env
            .sandbox
            .inject(Platform::Tiktok, rule(code, "/v2/oauth/token/", 1))
            .unwrap();
        let served = tt
            .piped
            .env
            .call(Some(CONNECTION), None, Invocation::Refresh)
            .await;
        let error = support::expect_err(reply!(served, Refresh), code);
        assert_eq!(
            matches!(error, ConnectorError::AuthRevoked(_)),
            revoked,
            "{code}: {error:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_waits_on_rate_limits_refreshes_on_invalid_tokens_and_dead_letters_spam_risk()
{
    let tt = start(sandbox_config(), &[]).await;
    let url = format!("{}/v/p-{}.mp4", tt.media, MIB);
    let sandbox = &tt.piped.env.sandbox;

    sandbox
        .inject(
            Platform::Tiktok,
            rule("rate_limit_exceeded", "creator_info", 1),
        )
        .unwrap();
    let limited = tt
        .accept(new_post(
            "tt-429",
            "limited",
            vec![video(url.clone(), None)],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    tt.piped.pipeline.run_due().await;
    let job = tt.job(&limited).await;
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.attempts, 0, "a rate-limited attempt is given back");
    assert!(
        job.next_run_at >= tt.piped.pipeline.now() + 59_000,
        "waits a minute"
    );
    assert_eq!(tt.drive(&limited, 6).await.state, JobState::Published);

    sandbox
        .inject(
            Platform::Tiktok,
            rule("access_token_invalid", "creator_info", 1),
        )
        .unwrap();
    let expired = tt
        .accept(new_post(
            "tt-401",
            "expired",
            vec![video(url.clone(), None)],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    assert_eq!(tt.drive(&expired, 6).await.state, JobState::Published);
    let refreshes = tt
        .requests()
        .iter()
        .filter(|r| {
            r.body_text
                .as_deref()
                .unwrap_or("")
                .contains("grant_type=refresh_token")
        })
        .count();
    assert_eq!(refreshes, 1, "the host refreshed once and retried");

    sandbox
        .inject(
            Platform::Tiktok,
            rule("spam_risk_too_many_posts", "/video/init/", 1),
        )
        .unwrap();
    let spam = tt
        .accept(new_post(
            "tt-spam",
            "spam",
            vec![video(url, None)],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    let job = tt.drive(&spam, 3).await;
    assert_eq!(job.state, JobState::Dead);
    assert!(job.last_error.unwrap().contains("spam_risk_too_many_posts"));
    let dead = tt
        .piped
        .store
        .tenant(support::TENANT)
        .dead_letters(10)
        .await
        .unwrap();
    assert_eq!(dead[0].reason_code, "platform-error");
}

/// TikTok invalidates access tokens before their announced expiry (`access_token_invalid`): a
/// health check that meets one refreshes, checks again and leaves the connection healthy,
/// instead of asking the user to reconnect while a valid refresh token exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_check_meeting_an_invalidated_token_refreshes_and_stays_healthy() {
    let tt = start(sandbox_config(), &[]).await;
    let tenant = tt.piped.store.tenant(support::TENANT);
    let before = tenant.connection(CONNECTION).await.unwrap();
    let since = tt.piped.env.last_request_id();
    tt.piped
        .env
        .sandbox
        .inject(
            Platform::Tiktok,
            rule("access_token_invalid", "/v2/user/info/", 1),
        )
        .unwrap();
    let outcome = tt.piped.pipeline.check_health(&before).await.unwrap();
    assert!(outcome.ok, "{outcome:?}");
    let after = tenant.connection(CONNECTION).await.unwrap();
    assert_eq!(
        after.status,
        postd_host::store::ConnectionStatus::Healthy,
        "{after:?}"
    );
    assert!(after.token_version > before.token_version, "refreshed");
    let paths: Vec<String> = tt
        .piped
        .env
        .requests_since(since, "/tiktok")
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        paths,
        ["/v2/user/info/", "/v2/oauth/token/", "/v2/user/info/"],
        "check, refresh, check again"
    );
}

/// TikTok posts carry a video or photos: a text-only post is refused when it is accepted, naming
/// the target and the rule, instead of being queued and dead-lettered later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_only_post_is_refused_at_accept() {
    let tt = start(sandbox_config(), &[]).await;
    let refused = tt
        .piped
        .pipeline
        .accept(
            support::TENANT,
            &new_post(
                "tt-text",
                "words only",
                vec![],
                &[("privacy-level", "SELF_ONLY")],
            ),
        )
        .await
        .unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("target 0")
            && message.contains(CONNECTION)
            && message.contains("without media"),
        "{message}"
    );
    let jobs = tt
        .piped
        .store
        .tenant(support::TENANT)
        .jobs(None, 10)
        .await
        .unwrap();
    assert!(jobs.is_empty(), "nothing queued: {jobs:?}");
}

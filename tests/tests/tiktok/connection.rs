//! Connecting, the creator as the one account, health, and refresh with rotating refresh
//! tokens: concurrent triggers share one exchange and an old refresh token is never sent again.

use super::*;
use postd_host::jobs::{RefreshOutcome, RefreshTrigger};
use postd_host::runtime::wit::connector::Account;

#[test]
fn the_repository_plugins_file_configures_tiktok_for_the_sandbox() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
    let file = postd_host::config::PluginsFile::load(&path);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let entry = file.plugin("tiktok").expect("a tiktok entry");
    assert!(entry.settings["api-base-url"].ends_with("/tiktok"));
    assert_eq!(entry.settings["client-key"], seed::TIKTOK_CLIENT_KEY);
    assert!(entry.secrets.contains_key("client-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_stores_both_tokens_and_names_the_creator() {
    let tt = start(sandbox_config(), &[]).await;
    let env = &tt.piped.env;
    let authorize = env
        .sandbox
        .requests(Some(Platform::Tiktok))
        .into_iter()
        .find(|r| r.path.ends_with("/v2/auth/authorize/"))
        .expect("the consent page was visited");
    let query = authorize.query.unwrap_or_default();
    assert!(
        query.contains(&format!("client_key={}", seed::TIKTOK_CLIENT_KEY)),
        "{query}"
    );
    assert!(
        query.contains(
            "scope=user.info.basic%2Cuser.info.stats%2Cvideo.publish%2Cvideo.upload%2Cvideo.list"
        ),
        "{query}"
    );
    assert!(
        env.secret(CONNECTION, "access-token")
            .await
            .unwrap()
            .starts_with("act.")
    );
    assert!(
        env.secret(CONNECTION, "refresh-token")
            .await
            .unwrap()
            .starts_with("rft.")
    );
    let connection = tt
        .piped
        .store
        .tenant(support::TENANT)
        .connection(CONNECTION)
        .await
        .unwrap();
    assert_eq!(connection.external_id, seed::TIKTOK_OPEN_ID);
    assert_eq!(connection.display_name, "Sandbox Creator");
    // Lifetimes come from the answer: 2 h and 180 days in the sandbox's default reading.
    let lives = connection.expires_at.unwrap() - tt.piped.pipeline.now();
    assert!((7_100_000..=7_300_000).contains(&lives), "{lives} ms");

    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    let accounts: Vec<Account> = reply!(served, ListAccounts).unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, seed::TIKTOK_OPEN_ID);
    assert_eq!(accounts[0].kind, "creator");
    let served = env.call(Some(CONNECTION), None, Invocation::Health).await;
    let health = reply!(served, Health).unwrap();
    assert_eq!(health.external_id, seed::TIKTOK_OPEN_ID);
    assert!(health.scopes.iter().any(|s| s == "video.publish"));
}

/// Token exchanges with `grant_type=refresh_token`, and whether any was refused.
fn refresh_exchanges(tt: &Tt) -> (usize, usize) {
    let exchanges: Vec<_> = tt
        .requests()
        .into_iter()
        .filter(|r| {
            r.path == "/v2/oauth/token/"
                && r.body_text
                    .as_deref()
                    .unwrap_or("")
                    .contains("grant_type=refresh_token")
        })
        .collect();
    let refused = exchanges.iter().filter(|r| r.status != Some(200)).count();
    (exchanges.len(), refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_refresh_triggers_make_one_exchange_and_the_rotated_token_works_next() {
    let tt = start(sandbox_config(), &[]).await;
    let env = &tt.piped.env;
    let first_refresh = env.secret(CONNECTION, "refresh-token").await.unwrap();
    let first_access = env.secret(CONNECTION, "access-token").await.unwrap();

    let mut triggers = Vec::new();
    for i in 0..20 {
        let pipeline = tt.piped.pipeline.clone();
        let trigger = if i % 2 == 0 {
            RefreshTrigger::AuthExpired
        } else {
            RefreshTrigger::Scheduled
        };
        triggers.push(tokio::spawn(async move {
            pipeline.refresh(support::TENANT, CONNECTION, trigger).await
        }));
    }
    let mut refreshed = 0;
    for trigger in triggers {
        match trigger.await.unwrap() {
            RefreshOutcome::Refreshed => refreshed += 1,
            RefreshOutcome::AlreadyFresh => {}
            failed => panic!("a refresh failed: {failed:?}"),
        }
    }
    assert_eq!(
        refreshed, 1,
        "one trigger exchanged, the others saw its tokens"
    );
    assert_eq!(
        refresh_exchanges(&tt),
        (1, 0),
        "one exchange, no invalid_grant"
    );
    let second_refresh = env.secret(CONNECTION, "refresh-token").await.unwrap();
    assert_ne!(
        second_refresh, first_refresh,
        "the rotated refresh token is stored"
    );
    assert_ne!(
        env.secret(CONNECTION, "access-token").await.unwrap(),
        first_access
    );

    // The next refresh sends the rotated token, which TikTok accepts (the old one it would not).
    let outcome = tt
        .piped
        .pipeline
        .refresh(support::TENANT, CONNECTION, RefreshTrigger::Manual)
        .await;
    assert_eq!(outcome, RefreshOutcome::Refreshed);
    assert_eq!(refresh_exchanges(&tt), (2, 0));
    let sent: Vec<String> = tt
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/oauth/token/")
        .filter_map(|r| r.body_text)
        .filter(|b| b.contains("grant_type=refresh_token"))
        .collect();
    assert!(
        sent[1].contains(&format!("refresh_token={}", second_refresh)),
        "{}",
        sent[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_a_quarter_hour_before_their_two_hours_run_out() {
    let tt = start(sandbox_config(), &[]).await;
    tt.advance(100 * 60);
    assert_eq!(
        tt.piped.pipeline.refresh_due_connections().await,
        0,
        "not yet"
    );
    tt.advance(6 * 60);
    assert_eq!(tt.piped.pipeline.refresh_due_connections().await, 1);
    assert_eq!(refresh_exchanges(&tt), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_older_reading_the_refresh_token_is_kept() {
    let config = SandboxConfig {
        tiktok: TikTokConfig::older_reading(),
        ..SandboxConfig::default()
    };
    let tt = start(config, &[]).await;
    let before = tt
        .piped
        .env
        .secret(CONNECTION, "refresh-token")
        .await
        .unwrap();
    for _ in 0..2 {
        let outcome = tt
            .piped
            .pipeline
            .refresh(support::TENANT, CONNECTION, RefreshTrigger::Manual)
            .await;
        assert_eq!(outcome, RefreshOutcome::Refreshed);
    }
    assert_eq!(
        tt.piped
            .env
            .secret(CONNECTION, "refresh-token")
            .await
            .unwrap(),
        before
    );
    assert_eq!(refresh_exchanges(&tt), (2, 0));
}

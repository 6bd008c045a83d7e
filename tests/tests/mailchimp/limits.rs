//! Too Many Requests, and the host holding one key under ten simultaneous calls.

use super::*;

#[tokio::test]
async fn too_many_requests_is_rate_limited_with_a_wait() {
    let env = env().await;
    connect(&env, seed::MAILCHIMP_API_KEY_US6).await.unwrap();
    env.sandbox
        .inject(Platform::Mailchimp, rule("too_many_requests", "/lists"))
        .unwrap();
    let served = env
        .call(Some(CONNECTION), None, Invocation::ListAccounts)
        .await;
    match expect_err(reply!(served, ListAccounts), "429") {
        ConnectorError::RateLimited(info) => {
            assert_eq!(info.retry_after_ms, 5_000);
            assert!(info.reason.contains("Too Many Requests"), "{}", info.reason);
        }
        other => panic!("expected rate-limited, got {other:?}"),
    }
}

/// Twelve connections on one API key list their audiences at once while every Mailchimp answer
/// takes 300 ms: how many calls get "Too Many Requests".
async fn simultaneous_calls_refused(env: &Env) -> usize {
    for n in 0..12 {
        let callback = AuthCallback {
            params: vec![("api-key".into(), seed::MAILCHIMP_API_KEY_US6.into())],
            redirect_uri: String::new(),
        };
        let served = env
            .call(
                Some(&format!("conn-{n}")),
                None,
                Invocation::CompleteAuth(callback),
            )
            .await;
        reply!(served, CompleteAuth).unwrap();
    }
    env.sandbox
        .set_latency(Platform::Mailchimp, std::time::Duration::from_millis(300));
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..12 {
        let runtime = env.runtime.clone();
        calls.spawn(async move {
            let context = postd_host::capability::CallContext::tenant(support::TENANT)
                .with_connection(format!("conn-{n}"));
            let served = runtime
                .invoke("mailchimp", context, Invocation::ListAccounts)
                .await
                .expect("the host admits the call");
            reply!(served, ListAccounts)
        });
    }
    let mut refused = 0;
    while let Some(result) = calls.join_next().await {
        match result.unwrap() {
            Ok(accounts) => assert_eq!(accounts.len(), 2),
            Err(ConnectorError::RateLimited(info)) => {
                assert_eq!(info.retry_after_ms, 5_000);
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_host_cap_keeps_one_key_under_ten_simultaneous_calls() {
    let capped = env_with(|entry| entry.limits.max_concurrency = 10).await;
    assert_eq!(
        simultaneous_calls_refused(&capped).await,
        0,
        "with max_concurrency = 10 the platform never sees an 11th call"
    );
    let uncapped = env().await;
    assert!(
        simultaneous_calls_refused(&uncapped).await > 0,
        "without the cap, Mailchimp refuses the calls over 10 (the sandbox imitates it)"
    );
}

//! The Mailchimp connector, built as a component, in the real host against the sandbox.

mod support;

#[path = "mailchimp/campaigns.rs"]
mod campaigns;
#[path = "mailchimp/connection.rs"]
mod connection;
#[path = "mailchimp/limits.rs"]
mod limits;
#[path = "mailchimp/pipeline.rs"]
mod pipeline;
#[path = "mailchimp/retries.rs"]
mod retries;
#[path = "mailchimp/webhooks.rs"]
mod webhooks;

use postd_host::runtime::Invocation;
use postd_host::runtime::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities, DeleteRequest,
    PublishOutcome, WebhookRequest,
};
use postd_host::runtime::wit::types::ConnectorError;
use postd_sandbox::webhooks::{DeliveryOptions, build_delivery};
use postd_sandbox::{FaultRule, Platform, SandboxConfig, seed};
use serde_json::json;
use support::{Env, expect_err, job, lines, post};

const CONNECTION: &str = "conn-mc";
const ACCOUNT_ID: &str = "8d3a3db4d97663a9074efcc16";
const PREFIX: &str = "/mailchimp/us6";

async fn env() -> Env {
    env_with(|_| {}).await
}

async fn env_with(tweak: impl FnOnce(&mut postd_host::config::PluginEntry)) -> Env {
    mailchimp_env(SandboxConfig::default(), vec![], tweak).await
}

const WEBHOOK_KEY: &str = "test-webhook-key";
const WEBHOOK_URL: &str = "https://hooks.postd.example/webhooks/mailchimp";

async fn mailchimp_env(
    config: SandboxConfig,
    extra_settings: Vec<(&'static str, String)>,
    tweak: impl FnOnce(&mut postd_host::config::PluginEntry),
) -> Env {
    Env::start_with(
        "mailchimp",
        postd_test_artifacts::MAILCHIMP,
        config,
        |base| {
            let mut settings = vec![
                ("api-base-url", format!("{base}/mailchimp/{{dc}}/3.0")),
                ("auth-base-url", format!("{base}/mailchimp/login/oauth2")),
                ("client-id", seed::MAILCHIMP_CLIENT_ID.to_string()),
            ];
            settings.extend(extra_settings);
            (
                settings,
                vec![
                    ("client-secret", seed::MAILCHIMP_CLIENT_SECRET.to_string()),
                    ("webhook-key", WEBHOOK_KEY.to_string()),
                ],
            )
        },
        tweak,
    )
    .await
}

/// The URL secret of `account`, computed as the connector documents it.
fn url_secret(account: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_KEY.as_bytes()).unwrap();
    mac.update(format!("mailchimp-webhook:{account}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn connect(env: &Env, key: &str) -> Result<String, ConnectorError> {
    let callback = AuthCallback {
        params: vec![("api-key".into(), key.into())],
        redirect_uri: String::new(),
    };
    let served = env
        .call(Some(CONNECTION), None, Invocation::CompleteAuth(callback))
        .await;
    reply!(served, CompleteAuth).map(|info| info.external_id)
}

fn campaign(text: &str) -> postd_host::runtime::wit::connector::Post {
    post(
        seed::MAILCHIMP_LIST_ID,
        text,
        &[
            ("subject", "November news"),
            ("from-name", "Sandbox Shop"),
            ("reply-to", "owner@example.com"),
        ],
    )
}

fn published(outcome: PublishOutcome) -> postd_host::runtime::wit::connector::Published {
    match outcome {
        PublishOutcome::Published(p) => p,
        other => panic!("expected published, got {other:?}"),
    }
}

fn rule(error: &str, path: &str) -> FaultRule {
    FaultRule {
        error: error.into(),
        count: 1,
        path_contains: Some(path.into()),
    }
}

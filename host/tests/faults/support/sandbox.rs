//! The platform sandbox's connectors as `postd-host` replicas run them: their `plugins.toml`
//! entries, and connecting an account through a replica's OAuth routes and the sandbox's consent
//! (which grants at once).

use postd_sandbox::{Platform, RunningSandbox, seed};

use super::host::Host;

/// The `plugins.toml` entry of the real connector for `platform` against `sandbox`, allowed to
/// reach `more_hosts` too (a media server), with `extra` lines in it (`rate_limit = …`,
/// `jobs = …`).
pub fn plugin_toml(
    sandbox: &RunningSandbox,
    platform: Platform,
    more_hosts: &[&str],
    extra: &str,
) -> String {
    let base = sandbox.url(platform);
    let origin = url::Url::parse(&base)
        .unwrap()
        .origin()
        .ascii_serialization();
    let hosts = std::iter::once(origin.as_str())
        .chain(more_hosts.iter().copied())
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let secret = |value: &str| format!("client-secret = {{ value = {value:?} }}");
    let (id, path, settings, secrets) = match platform {
        Platform::Tiktok => (
            "tiktok",
            postd_test_artifacts::TIKTOK,
            format!(
                "api-base-url = {base:?}, auth-base-url = {base:?}, client-key = {:?}",
                seed::TIKTOK_CLIENT_KEY
            ),
            secret(seed::TIKTOK_CLIENT_SECRET),
        ),
        Platform::Linkedin => (
            "linkedin",
            postd_test_artifacts::LINKEDIN,
            format!(
                "api-base-url = {base:?}, oauth-base-url = {:?}, client-id = {:?}",
                format!("{base}/oauth/v2"),
                seed::LINKEDIN_CLIENT_ID
            ),
            secret(seed::LINKEDIN_CLIENT_SECRET),
        ),
        Platform::Meta => (
            "meta",
            postd_test_artifacts::META,
            format!(
                "graph-base-url = {base:?}, dialog-url = {:?}, client-id = {:?}",
                format!("{base}/{{version}}/dialog/oauth"),
                seed::META_APP_ID
            ),
            format!(
                "{}, webhook-verify-token = {{ value = \"soak-verify-token\" }}",
                secret(seed::META_APP_SECRET)
            ),
        ),
        Platform::Gbp => (
            "gbp",
            postd_test_artifacts::GBP,
            format!(
                "authorize-url = {:?}, oauth-base-url = {base:?}, accounts-base-url = {base:?}, \
                 information-base-url = {base:?}, posts-base-url = {base:?}, \
                 performance-base-url = {base:?}, client-id = {:?}",
                format!("{base}/o/oauth2/v2/auth"),
                seed::GBP_CLIENT_ID
            ),
            secret(seed::GBP_CLIENT_SECRET),
        ),
        Platform::Mailchimp => (
            "mailchimp",
            postd_test_artifacts::MAILCHIMP,
            format!(
                "api-base-url = {:?}, login-base-url = {:?}, client-id = {:?}, \
                 from-name = \"Sandbox Shop\", reply-to = \"owner@example.com\"",
                format!("{base}/{{dc}}/3.0"),
                format!("{base}/login/oauth2"),
                seed::MAILCHIMP_CLIENT_ID
            ),
            secret(seed::MAILCHIMP_CLIENT_SECRET),
        ),
    };
    format!(
        "[plugins.{id}]\npath = {path:?}\nallowed_hosts = [{hosts}]\n\
         allowed_ranges = [\"127.0.0.0/8\"]\n\
         settings = {{ {settings} }}\n\
         secrets = {{ {secrets} }}\n{extra}",
    )
}

/// Connects the API key's tenant to `plugin` through `host`'s OAuth routes; returns the
/// connection id.
pub async fn connect(host: &Host, key: &str, plugin: &str) -> String {
    let api = &host.api;
    let start = api.get(&format!("/v1/oauth/{plugin}/start"), key).await;
    assert!(start.status.is_success(), "{start:?}");
    let authorize = start.json["authorize_url"].as_str().unwrap();
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(authorize)
        .send()
        .await
        .unwrap();
    let back = consent.headers()["location"].to_str().unwrap().to_string();
    let back = url::Url::parse(&back).unwrap();
    let callback = api
        .send(api.request(
            reqwest::Method::GET,
            &format!("/v1/oauth/{plugin}/callback?{}", back.query().unwrap()),
            None,
        ))
        .await;
    assert!(callback.status.is_success(), "{callback:?}");
    callback.json["id"].as_str().unwrap().to_string()
}

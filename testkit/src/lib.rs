//! Test a Postd connector offline: the built component runs in the host's real runtime (the same
//! engine, limits, egress guard and capabilities as in production, with in-memory vault and
//! queue) against a [`Platform`] that answers what the test scripts and records what it was
//! sent.
//!
//! ```text
//! use postd_testkit::{Harness, Platform, Reply, build_component};
//! use serde_json::json;
//!
//! #[tokio::test]
//! async fn publishes_a_post() {
//!     let wasm = build_component(env!("CARGO_MANIFEST_DIR"));
//!     let platform = Platform::start().await;
//!     platform.expect("POST", "/posts").reply(Reply::json(201, json!({"id": "p1"})));
//!     let harness = Harness::builder(&wasm)
//!         .setting("base-url", &platform.url())
//!         .against(&platform)
//!         .start()
//!         .await;
//!     harness.connection_secret("api-key", "k1");
//!     let outcome = harness.publish(json!({"account-id": "a1", "text": "hi"})).await;
//!     assert_eq!(published_id(&outcome.unwrap()), Some("p1"));
//!     assert_eq!(platform.requests_to("POST", "/posts")[0].header("authorization"), Some("Bearer k1"));
//!     platform.verify();
//! }
//! ```
//!
//! Arguments are JSON in the contract's own field names (`account-id`, `redirect-uri`); see
//! [`postd_host::trial::args`]. Answers are the contract's types, re-exported here.
#![deny(missing_docs)]

mod build;
mod platform;

use std::path::{Path, PathBuf};

pub use build::build_component;
pub use platform::{Expect, Platform, Reply, Request};
pub use postd_host::runtime::wit::connector::{
    Account, ConnectionInfo, HealthReport, Metric, PluginManifest, PublishOutcome, Published,
    TokenExpiry, WebhookEvent, WebhookResponse,
};
pub use postd_host::runtime::wit::types::ConnectorError;
pub use postd_host::runtime::{Answer, CallError, Served};

use postd_host::config::{PluginEntry, SecretSource};
use postd_host::trial::{TRIAL_JOB, Trial, args, entry};

/// The post id of a `published` outcome.
pub fn published_id(outcome: &PublishOutcome) -> Option<&str> {
    match outcome {
        PublishOutcome::Published(p) => Some(&p.post_id),
        PublishOutcome::InProgress(_) => None,
    }
}

/// How a component is set up for a test; made by [`Harness::builder`].
pub struct HarnessBuilder {
    component: PathBuf,
    plugin_config: Option<(PathBuf, Option<String>)>,
    settings: Vec<(String, String)>,
    app_secrets: Vec<(String, String)>,
    hosts: Vec<String>,
    loopback: bool,
}

impl HarnessBuilder {
    /// Starts from an entry of a plugin file (or a file with one entry's keys): its grants,
    /// limits, settings and secrets. `plugin` names the entry of a plugin file.
    pub fn plugin_config(mut self, file: impl AsRef<Path>, plugin: Option<&str>) -> Self {
        self.plugin_config = Some((file.as_ref().to_path_buf(), plugin.map(str::to_string)));
        self
    }

    /// Sets an app setting (`base-url`).
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Sets an app secret (`client-secret`).
    pub fn app_secret(mut self, name: &str, value: &str) -> Self {
        self.app_secrets.push((name.into(), value.into()));
        self
    }

    /// Grants egress to `origin` (`https://api.example.com`).
    pub fn grant(mut self, origin: &str) -> Self {
        self.hosts.push(origin.into());
        self
    }

    /// Grants egress to the scripted platform (its origin, and loopback, which the egress
    /// guard refuses unless a range allows it).
    pub fn against(mut self, platform: &Platform) -> Self {
        self.hosts.push(platform.url());
        self.loopback = true;
        self
    }

    /// Loads the component; panics with the host's verdict when it cannot be served.
    pub async fn start(self) -> Harness {
        // Compiled once per component and kept beside it (a private folder), so every test of
        // a run after the first loads it in milliseconds.
        let compiled = self
            .component
            .parent()
            .map(|dir| dir.join(".postd-compiled"));
        let manifest = postd_host::check::check(&self.component, compiled.as_deref())
            .await
            .unwrap_or_else(|e| panic!("the component cannot be served: {e}"));
        let mut entry = match &self.plugin_config {
            Some((file, plugin)) => entry::load_entry(file, plugin.as_deref(), &manifest.id)
                .unwrap_or_else(|e| panic!("{e}")),
            None => PluginEntry::new(manifest.id.clone(), &self.component),
        };
        entry.allowed_hosts.extend(self.hosts);
        if self.loopback {
            entry.allowed_ranges.push("127.0.0.0/8".into());
        }
        entry.settings.extend(self.settings);
        entry.secrets.extend(
            self.app_secrets
                .into_iter()
                .map(|(name, value)| (name, SecretSource::Value(value))),
        );
        let trial = Trial::load(entry, &self.component, compiled.as_deref())
            .await
            .unwrap_or_else(|e| panic!("the component did not load: {e}"));
        Harness { trial }
    }
}

/// A component loaded for a test, acting on one connection.
pub struct Harness {
    trial: Trial,
}

macro_rules! typed_call {
    ($(#[$doc:meta])* $name:ident, $export:literal, $variant:ident -> $ok:ty) => {
        $(#[$doc])*
        ///
        /// Panics when the call itself fails (a trap, a limit): those are the host's verdicts,
        /// read them with [`Harness::call`].
        pub async fn $name(&self, json: serde_json::Value) -> Result<$ok, ConnectorError> {
            match self.call($export, json).await {
                Ok(Served { answer: Answer::$variant(reply), .. }) => reply,
                Ok(other) => unreachable!("{} answered {:?}", $export, other.answer),
                Err(error) => panic!("{} failed in the host: {error}", $export),
            }
        }
    };
}

impl Harness {
    /// Sets up `component` (a built `.wasm`) for a test.
    pub fn builder(component: impl AsRef<Path>) -> HarnessBuilder {
        HarnessBuilder {
            component: component.as_ref().to_path_buf(),
            plugin_config: None,
            settings: Vec::new(),
            app_secrets: Vec::new(),
            hosts: Vec::new(),
            loopback: false,
        }
    }

    /// The manifest the component answered.
    pub fn manifest(&self) -> PluginManifest {
        self.trial.manifest()
    }

    /// Stores a secret of the connection, as a completed connection would have.
    pub fn connection_secret(&self, name: &str, value: &str) {
        self.trial.put_secret(name, value);
    }

    /// A secret the connection holds (what `complete-auth` or `refresh` stored).
    pub fn stored_secret(&self, name: &str) -> Option<String> {
        self.trial.secret(name)
    }

    /// The last recovery point the job recorded.
    pub fn recovery_point(&self) -> Option<String> {
        self.trial.recovery_point()
    }

    /// Calls `export` with `json` (`null` for none) and returns everything the host saw: the
    /// answer, fuel, continuations — or the host's verdict (trap, limit).
    pub async fn call(
        &self,
        export: &str,
        json: serde_json::Value,
    ) -> Result<Served<Answer>, CallError> {
        let text = (!json.is_null()).then(|| json.to_string());
        let invocation =
            args::invocation(export, text.as_deref(), TRIAL_JOB).unwrap_or_else(|e| panic!("{e}"));
        self.trial.call(invocation).await
    }

    typed_call!(
        /// `publish(post, job)`: the post's fields and the job's `attempt` and `recovery-point`.
        publish, "publish", Publish -> PublishOutcome
    );
    typed_call!(
        /// `handle-task(context)`: `kind`, `payload`, `attempt`, `recovery-point`.
        handle_task, "handle-task", HandleTask -> PublishOutcome
    );
    typed_call!(
        /// `authorize-url(request)`: `state`, `redirect-uri`, `scopes`.
        authorize_url, "authorize-url", AuthorizeUrl -> String
    );
    typed_call!(
        /// `complete-auth(callback)`: `params` (an object) and `redirect-uri`.
        complete_auth, "complete-auth", CompleteAuth -> ConnectionInfo
    );
    typed_call!(
        /// `delete-post(request)`: `account-id`, `post-id`.
        delete_post, "delete-post", DeletePost -> ()
    );
    typed_call!(
        /// `analytics(request)`: `account-id`, `post-id`, `since`, `until`, `metrics`.
        analytics, "analytics", Analytics -> Vec<Metric>
    );
    typed_call!(
        /// `verify-webhook(request)`: `method`, `path`, `query`, `headers`, `body` (text).
        verify_webhook, "verify-webhook", VerifyWebhook -> Vec<WebhookEvent>
    );
    typed_call!(
        /// `webhook-challenge(request)`: as [`Harness::verify_webhook`].
        webhook_challenge, "webhook-challenge", WebhookChallenge -> Option<WebhookResponse>
    );
    typed_call!(
        /// `list-accounts()`; pass `null`.
        list_accounts, "list-accounts", ListAccounts -> Vec<Account>
    );
    typed_call!(
        /// `health()`; pass `null`.
        health, "health", Health -> HealthReport
    );
    typed_call!(
        /// `refresh()`; pass `null`.
        refresh, "refresh", Refresh -> TokenExpiry
    );
}

//! A component run outside the service: one plugin, one tenant, one connection, every backend
//! in memory. `postd-host try` calls exports by hand through it, and `postd-testkit` runs a
//! partner's component against a scripted platform with it.
//!
//! The runtime is the real one (the same engine, limits, egress guard and capabilities the
//! service uses); only the stores behind the vault and the queue are in memory, so a trial
//! leaves nothing behind.

pub mod args;
pub mod cli;
pub mod entry;

use std::path::Path;
use std::sync::Arc;

use crate::capability::CallContext;
use crate::capability::http::LocalRateLimiter;
use crate::capability::queue::MemoryJobSink;
use crate::capability::vault::{MemorySecretStore, SecretScope};
use crate::config::PluginEntry;
use crate::runtime::wit::connector::PluginManifest;
use crate::runtime::{
    Answer, CallError, HostServices, Invocation, LoadError, LoadProblem, Runtime, RuntimeSettings,
    Served,
};

/// The tenant every trial call runs for.
pub const TRIAL_TENANT: &str = "trial";
/// The connection whose secrets a trial's calls read and write.
pub const TRIAL_CONNECTION: &str = "trial-connection";
/// The job id of a trial's `publish` and `handle-task` calls.
pub const TRIAL_JOB: &str = "trial-job";

/// How long `check`, `try` and the test kit let a component compile. They compile what their
/// user built, not an upload, so the service's budget (a defence against hostile uploads) would
/// only refuse large components on slow builds: a debug host takes about two minutes for an
/// 18 MB Python component.
pub const OFFLINE_COMPILE_BUDGET: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// One component, loaded under one `plugins.toml` entry, ready to be called.
pub struct Trial {
    runtime: Runtime,
    secrets: Arc<MemorySecretStore>,
    jobs: Arc<MemoryJobSink>,
    plugin: String,
}

impl Trial {
    /// Loads the component at `path` as the plugin `entry` describes (its `path` is replaced):
    /// validated exactly as the service would, then installed. `compiled` is a folder for the
    /// compiled component (kept private, reused by the next trial of the same bytes); `None`
    /// compiles every time.
    pub async fn load(
        mut entry: PluginEntry,
        path: &Path,
        compiled: Option<&Path>,
    ) -> Result<Trial, LoadError> {
        entry.path = path.to_path_buf();
        // The trial tenant is served whatever the entry's `tenants` list says.
        entry.tenants = vec!["*".into()];
        let secrets = Arc::new(MemorySecretStore::default());
        let jobs = Arc::new(MemoryJobSink::default());
        let services = HostServices {
            secrets: secrets.clone(),
            jobs: jobs.clone(),
            rate: Arc::new(LocalRateLimiter::default()),
            egress_metrics: Arc::default(),
            clock: Arc::new(crate::jobs::SystemClock),
        };
        let settings = RuntimeSettings {
            cache_dir: compiled.map(Path::to_path_buf),
            compile_budget: OFFLINE_COMPILE_BUDGET,
            ..RuntimeSettings::default()
        };
        let runtime = Runtime::new(settings, services).map_err(|e| LoadError {
            path: path.to_path_buf(),
            problem: LoadProblem::Invalid(format!("the host's engine failed to start: {e}")),
        })?;
        let plugin = entry.id.clone();
        runtime.configure_plugin(entry).await?;
        Ok(Trial {
            runtime,
            secrets,
            jobs,
            plugin,
        })
    }

    /// The plugin id.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The manifest the component answered when it loaded.
    pub fn manifest(&self) -> PluginManifest {
        self.runtime
            .manifest(&self.plugin)
            .expect("a loaded trial has a manifest")
    }

    fn scope(&self) -> SecretScope {
        SecretScope {
            tenant: TRIAL_TENANT.into(),
            plugin: self.plugin.clone(),
            connection: TRIAL_CONNECTION.into(),
        }
    }

    /// Stores a secret of the trial connection, as a completed connection would have.
    pub fn put_secret(&self, name: &str, value: &str) {
        self.secrets.insert(&self.scope(), name, value);
    }

    /// A secret of the trial connection (what the connector stored, after `complete-auth`).
    pub fn secret(&self, name: &str) -> Option<String> {
        self.secrets.value(&self.scope(), name)
    }

    /// The names of the trial connection's secrets, sorted.
    pub fn secret_names(&self) -> Vec<String> {
        self.secrets.names(&self.scope())
    }

    /// The last recovery point the trial job recorded with `queue.checkpoint`.
    pub fn recovery_point(&self) -> Option<String> {
        self.jobs.recovery_point(TRIAL_JOB)
    }

    /// Calls one export. Calls that act on a connection (everything but `manifest`,
    /// `authorize-url` and the webhook exports) use the trial connection's secrets.
    pub async fn call(&self, invocation: Invocation) -> Result<Served<Answer>, CallError> {
        let mut context = CallContext::tenant(TRIAL_TENANT);
        if acts_on_connection(&invocation) {
            context = context.with_connection(TRIAL_CONNECTION);
        }
        if matches!(
            invocation,
            Invocation::Publish(..) | Invocation::HandleTask(..)
        ) {
            context.job = Some(TRIAL_JOB.into());
        }
        self.runtime.invoke(&self.plugin, context, invocation).await
    }
}

fn acts_on_connection(invocation: &Invocation) -> bool {
    !matches!(
        invocation,
        Invocation::Manifest
            | Invocation::AuthorizeUrl(_)
            | Invocation::WebhookChallenge(_)
            | Invocation::VerifyWebhook(_)
    )
}

//! Shared set-up for the connector tests: the platform sandbox on loopback, the real host
//! runtime with in-memory backends, and a connector component granted the sandbox's origin.

#![allow(dead_code)] // each test binary uses its own part of the helpers

pub mod pipeline;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use postd_host::capability::CallContext;
use postd_host::capability::vault::SecretScope;
use postd_host::config::{PluginEntry, SecretSource};
use postd_host::runtime::wit::connector::{JobContext, Post};
use postd_host::runtime::wit::types::ConnectorError;
use postd_host::runtime::{Answer, HostServices, Invocation, Runtime, RuntimeSettings, Served};
use postd_sandbox::{RecordedRequest, RunningSandbox, Sandbox, SandboxConfig};

pub const TENANT: &str = "tenant-a";

/// A plugin's non-secret settings and its app secrets, by name.
pub type Settings = (Vec<(&'static str, String)>, Vec<(&'static str, String)>);

/// The compile cache the tests share (artifacts are keyed by component digest).
pub fn shared_cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// A sandbox, a runtime and one connector loaded as `plugin`.
pub struct Env {
    pub sandbox: RunningSandbox,
    pub runtime: Arc<Runtime>,
    pub services: HostServices,
    pub plugin: &'static str,
}

impl Env {
    /// Starts the sandbox with `config`, then loads the component at `path` as `plugin` with the
    /// settings and secrets `configure` returns for the sandbox's base URL.
    pub async fn start(
        plugin: &'static str,
        path: &str,
        config: SandboxConfig,
        configure: impl FnOnce(&str) -> Settings,
    ) -> Env {
        Self::start_with(plugin, path, config, configure, |_| {}).await
    }

    /// [`Env::start`], with `tweak` applied to the plugin entry before it loads.
    pub async fn start_with(
        plugin: &'static str,
        path: &str,
        config: SandboxConfig,
        configure: impl FnOnce(&str) -> Settings,
        tweak: impl FnOnce(&mut PluginEntry),
    ) -> Env {
        Self::start_on(
            plugin,
            path,
            config,
            configure,
            tweak,
            HostServices::in_memory(),
        )
        .await
    }

    /// [`Env::start_with`] on the given backends.
    pub async fn start_on(
        plugin: &'static str,
        path: &str,
        config: SandboxConfig,
        configure: impl FnOnce(&str) -> Settings,
        tweak: impl FnOnce(&mut PluginEntry),
        services: HostServices,
    ) -> Env {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let base = sandbox.base_url();
        let (settings, secrets) = configure(&base);
        let mut entry = PluginEntry::new(plugin, path);
        entry.allowed_hosts = vec![base.clone()];
        entry.allowed_ranges = vec!["127.0.0.0/8".into()];
        entry.settings = settings
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>();
        entry.secrets = secrets
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretSource::Value(v)))
            .collect();
        tweak(&mut entry);
        let settings = RuntimeSettings {
            cache_dir: Some(shared_cache()),
            ..RuntimeSettings::default()
        };
        let runtime = Arc::new(Runtime::new(settings, services.clone()).expect("runtime"));
        if let Err(error) = runtime.configure_plugin(entry).await {
            panic!("{plugin} must load: {error}");
        }
        Env {
            sandbox,
            runtime,
            services,
            plugin,
        }
    }

    /// What the vault holds as `name` for `connection` of the test tenant.
    pub async fn secret(&self, connection: &str, name: &str) -> Option<String> {
        let scope = SecretScope::new(TENANT, self.plugin, connection);
        self.services
            .secrets
            .get(&scope, name)
            .await
            .expect("the in-memory vault answers")
    }

    /// Calls `invocation` for the test tenant, on `connection` and `job` when given.
    pub async fn call(
        &self,
        connection: Option<&str>,
        job: Option<&str>,
        invocation: Invocation,
    ) -> Served<Answer> {
        let mut context = CallContext::tenant(TENANT);
        if let Some(c) = connection {
            context = context.with_connection(c);
        }
        if let Some(j) = job {
            context = context.with_job(j);
        }
        match self.runtime.invoke(self.plugin, context, invocation).await {
            Ok(served) => served,
            Err(error) => panic!("the host refused the call: {error}"),
        }
    }

    /// The sandbox's request log since `since` (an id from an earlier entry), as
    /// `METHOD path` lines, without the platform prefix up to and including `strip`.
    pub fn requests_since(&self, since: u64, strip: &str) -> Vec<RecordedRequest> {
        self.sandbox
            .requests(None)
            .into_iter()
            .filter(|r| r.id > since)
            .map(|mut r| {
                if let Some(at) = r.path.find(strip) {
                    r.path = r.path[at + strip.len()..].to_string();
                }
                r
            })
            .collect()
    }

    /// The id of the newest logged request (0 when none).
    pub fn last_request_id(&self) -> u64 {
        self.sandbox
            .requests(None)
            .last()
            .map(|r| r.id)
            .unwrap_or(0)
    }
}

/// `METHOD path` of each request.
pub fn lines(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A post to `account` with `text` and `options`.
pub fn post(account: &str, text: &str, options: &[(&str, &str)]) -> Post {
    Post {
        account_id: account.into(),
        text: text.into(),
        link: None,
        media: vec![],
        scheduled_for: None,
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A first attempt of job `id`, or a later one resuming from `recovery_point`.
pub fn job(id: &str, attempt: u32, recovery_point: Option<&str>) -> JobContext {
    JobContext {
        job_id: id.into(),
        attempt,
        recovery_point: recovery_point.map(str::to_string),
    }
}

/// Unwraps the reply inside an answer of any kind, panicking with the answer otherwise.
#[macro_export]
macro_rules! reply {
    ($served:expr, $variant:ident) => {
        match $served.answer {
            postd_host::runtime::Answer::$variant(reply) => reply,
            other => panic!("expected {}, got {other:?}", stringify!($variant)),
        }
    };
}

/// Asserts an error's case and returns it.
pub fn expect_err<T: std::fmt::Debug>(
    reply: Result<T, ConnectorError>,
    what: &str,
) -> ConnectorError {
    match reply {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(error) => error,
    }
}

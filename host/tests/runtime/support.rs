//! Shared set-up: a runtime with in-memory backends and the fixtures as plugins.

use std::path::Path;
use std::sync::Arc;

use postd_host::capability::CallContext;
use postd_host::config::{LimitsOverride, PluginEntry};
use postd_host::runtime::wit::connector::{JobContext, Post};
use postd_host::runtime::{
    Answer, CallError, HostServices, Invocation, Runtime, RuntimeSettings, Served,
};

pub const TENANT: &str = "tenant-a";

/// The compile cache the tests share: artifacts are keyed by component digest and engine, so
/// sharing is safe, and each fixture is compiled once per test run instead of once per test.
pub fn shared_cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// A runtime with in-memory backends and the shared compile cache.
pub fn runtime() -> Arc<Runtime> {
    runtime_with(&shared_cache(), HostServices::in_memory())
}

/// A runtime with the given backends.
pub fn runtime_with(cache: &Path, services: HostServices) -> Arc<Runtime> {
    let settings = RuntimeSettings {
        cache_dir: Some(cache.to_path_buf()),
        ..RuntimeSettings::default()
    };
    Arc::new(Runtime::new(settings, services).expect("runtime"))
}

/// A plugin entry for `path` with limit overrides.
pub fn entry(id: &str, path: impl AsRef<Path>, limits: LimitsOverride) -> PluginEntry {
    let mut entry = PluginEntry::new(id, path.as_ref());
    entry.limits = limits.apply(&entry.limits);
    entry
}

/// `publish` of a post whose text is `text`.
pub fn publish(text: &str) -> Invocation {
    Invocation::Publish(
        Post {
            account_id: "acct-1".into(),
            text: text.into(),
            link: None,
            media: vec![],
            scheduled_for: None,
            options: vec![],
        },
        JobContext {
            job_id: "job-1".into(),
            attempt: 1,
            recovery_point: None,
        },
    )
}

/// Calls `invocation` on `plugin` for the test tenant.
pub async fn call(
    runtime: &Runtime,
    plugin: &str,
    invocation: Invocation,
) -> Result<Served<Answer>, CallError> {
    runtime
        .invoke(plugin, CallContext::tenant(TENANT), invocation)
        .await
}

/// The version string a manifest call reports and the version the host says served it.
pub async fn manifest_versions(
    runtime: &Runtime,
    plugin: &str,
) -> Result<(String, String), CallError> {
    let served = call(runtime, plugin, Invocation::Manifest).await?;
    match served.answer {
        Answer::Manifest(m) => Ok((m.version, served.version.to_string())),
        other => panic!("manifest answered {other:?}"),
    }
}

/// Configures plugin `id` from `path` with default limits; panics if it does not load.
pub async fn serve(runtime: &Runtime, id: &str, path: &str) {
    let entry = entry(id, path, LimitsOverride::default());
    if let Err(error) = runtime.configure_plugin(entry).await {
        panic!("{id} must load: {error}");
    }
}

/// Waits until `check` holds, polling; panics naming `what` after `limit`.
pub async fn eventually<F, Fut>(limit: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

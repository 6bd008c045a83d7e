//! Compiling and validating a component before it may serve.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::error::{LoadError, LoadProblem};
use super::invoke::{Answer, Invocation};
use super::registry::{LoadedPlugin, SlotConfig};
use super::wit::connector::PluginManifest;
use super::wit::{ConnectorPre, ContractVersion};
use super::{Runtime, Served, precheck};
use crate::capability::CallContext;
use crate::config::{PluginEntry, valid_id};

/// The `postd-sdk` versions this host serves: `0.1.x` for `postd:connector@0.1.0` components
/// and `0.2.x` for `@0.2.0` ones (the SDK is pre-1.0, so a minor version is a breaking one, and
/// its minor version follows the contract's).
pub const SDK_COMPATIBILITY: &str = "0.2.x and 0.1.x";

/// True when a component of contract `contract` built with `postd-sdk` `version` can be served.
pub fn sdk_supported(contract: ContractVersion, version: &str) -> bool {
    let mut parts = version.split('.');
    matches!((parts.next(), parts.next(), parts.next()), (Some("0"), Some(minor), Some(patch))
        if minor == contract.sdk_minor()
            && patch.split(['-', '+']).next().is_some_and(|p| p.parse::<u32>().is_ok()))
}

fn semver_like(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.parse::<u64>().is_ok())
}

/// Checks the entry's settings and secrets against what the manifest declares (contract 0.2
/// on): a name the connector does not read is refused with the names it does, so a misspelt
/// key is an error at load rather than a silent default; so is a missing required one.
fn check_declared(entry: &PluginEntry, manifest: &PluginManifest) -> Result<(), LoadProblem> {
    let declared = |name: &str| manifest.settings.iter().any(|s| s.name == name);
    let given = entry.settings.keys().chain(entry.secrets.keys());
    if let Some(unknown) = given.clone().find(|name| !declared(name)) {
        let known: Vec<&str> = manifest.settings.iter().map(|s| s.name.as_str()).collect();
        return Err(LoadProblem::UnknownSetting {
            name: unknown.clone(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    }
    let missing = manifest
        .settings
        .iter()
        .find(|spec| spec.required && !given.clone().any(|name| *name == spec.name));
    match missing {
        Some(spec) => Err(LoadProblem::MissingSetting {
            name: spec.name.clone(),
            description: spec.description.clone(),
        }),
        None => Ok(()),
    }
}

/// The tenant name under which the host's own validation calls are recorded.
pub const HOST_TENANT: &str = crate::store::HOST_TENANT;

impl Runtime {
    /// Compiles and validates `bytes` for the slot configured as `config`.
    pub(crate) async fn prepare(
        &self,
        config: &SlotConfig,
        bytes: Vec<u8>,
        source: PathBuf,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let plugin = self.validate(config, bytes, source.clone()).await?;
        if plugin.manifest.id != config.entry.component {
            return Err(LoadError {
                path: source,
                problem: LoadProblem::IdMismatch {
                    expected: config.entry.component.clone(),
                    found: plugin.manifest.id.clone(),
                },
            });
        }
        if plugin.pre.version() != ContractVersion::V0_1 {
            check_declared(&config.entry, &plugin.manifest).map_err(|problem| LoadError {
                path: source,
                problem,
            })?;
        }
        Ok(Arc::new(plugin))
    }

    /// Validates a component without installing it and returns its manifest: everything
    /// [`Runtime::install`] checks except that the id matches a configured plugin.
    pub async fn inspect(
        &self,
        bytes: Vec<u8>,
        source: PathBuf,
    ) -> Result<PluginManifest, LoadError> {
        let config = SlotConfig::new(PluginEntry::new("inspect", source.clone()))
            .expect("no grants to parse");
        Ok(self.validate(&config, bytes, source).await?.manifest)
    }

    async fn validate(
        &self,
        config: &SlotConfig,
        bytes: Vec<u8>,
        source: PathBuf,
    ) -> Result<LoadedPlugin, LoadError> {
        let fail = |problem| LoadError {
            path: source.clone(),
            problem,
        };
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let component = self.compile(bytes, sha256.clone()).await.map_err(fail)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(LoadProblem::ForeignWorld(format!("{e:#}"))))?;
        let pre = ConnectorPre::new(pre)
            .map_err(|e| fail(LoadProblem::ForeignWorld(format!("{e:#}"))))?;

        // The self-check: `manifest()` must answer under the plugin's own limits, within a
        // short deadline of its own, with no egress and no app secrets.
        let validating: Arc<str> = Arc::from("validating");
        let manifest = match self
            .run(
                &pre,
                validating,
                &config.for_validation(),
                CallContext::tenant(HOST_TENANT),
                Invocation::Manifest,
                None,
            )
            .await
        {
            Ok(Served {
                answer: Answer::Manifest(manifest),
                ..
            }) => manifest,
            Ok(other) => unreachable!("manifest() answered {other:?}"),
            Err(error) => return Err(fail(LoadProblem::ManifestFailed(error.to_string()))),
        };
        if !valid_id(&manifest.id) {
            return Err(fail(LoadProblem::BadManifest(format!(
                "id `{}` is not 1-64 characters of a-z, 0-9 and '-'",
                manifest.id
            ))));
        }
        if !semver_like(&manifest.version) {
            return Err(fail(LoadProblem::BadManifest(format!(
                "version `{}` is not semver",
                manifest.version
            ))));
        }
        let contract = pre.version();
        if !sdk_supported(contract, &manifest.sdk_version) {
            return Err(fail(LoadProblem::UnsupportedSdk {
                found: manifest.sdk_version.clone(),
                supported: format!(
                    "0.{}.x for postd:connector@{contract}",
                    contract.sdk_minor()
                ),
            }));
        }
        Ok(LoadedPlugin {
            version: Arc::from(manifest.version.as_str()),
            manifest,
            sha256,
            source,
            loaded_at: SystemTime::now(),
            pre,
        })
    }
}

impl Runtime {
    /// Reads the component's outline, then compiles it (or loads it from the cache) off the
    /// executor: at most `max_concurrent_compiles` at once, and refused after `compile_budget`.
    pub(super) async fn compile(
        &self,
        bytes: Vec<u8>,
        sha256: String,
    ) -> Result<Component, LoadProblem> {
        let permit = self
            .compiles
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LoadProblem::Invalid("the runtime is shutting down".into()))?;
        let (engine, cache) = (self.engine.clone(), self.cache.clone());
        let compiling = tokio::task::spawn_blocking(move || {
            // The permit is held until the compiler is done, even when the wait below gave up:
            // a compile cannot be interrupted, so its slot stays taken while it runs.
            let _permit = permit;
            precheck::check_outline(&bytes)?;
            cache.load_or_compile(&engine, &bytes, &sha256)
        });
        let budget = self.settings.compile_budget;
        match tokio::time::timeout(budget, compiling).await {
            Ok(Ok(compiled)) => compiled,
            Ok(Err(e)) => Err(LoadProblem::Invalid(format!(
                "compilation task failed: {e}"
            ))),
            Err(_) => Err(LoadProblem::Invalid(format!(
                "compiling took longer than the {budget:?} budget"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_compatibility_is_the_same_minor_version() {
        use ContractVersion::{V0_1, V0_2};
        assert!(sdk_supported(V0_1, "0.1.0"));
        assert!(sdk_supported(V0_1, "0.1.17"));
        assert!(sdk_supported(V0_1, "0.1.2-rc.1"));
        assert!(!sdk_supported(V0_1, "0.2.0"));
        assert!(sdk_supported(V0_2, "0.2.0"));
        assert!(!sdk_supported(V0_2, "0.1.9"));
        assert!(!sdk_supported(V0_1, "1.1.0"));
        assert!(!sdk_supported(V0_1, "0.1"));
        assert!(!sdk_supported(V0_2, ""));
    }

    #[test]
    fn versions_must_be_semver() {
        assert!(semver_like("1.2.3"));
        assert!(semver_like("0.2.0-beta.1"));
        assert!(!semver_like("1.2"));
        assert!(!semver_like("latest"));
    }
}

//! `postd-host check <file.wasm | crate folder> [--plugin-config <file>]`: what a component is,
//! whether this host can serve it, and for each known mistake the fix.
//!
//! The checks, in order:
//! 1. given a crate folder ([`source`]): a `cdylib`, `register_connector!` in its source, a
//!    `wasm32-wasip2` build (not another target's) — then the component it built;
//! 2. the component, exactly as a load validates it (outline, contract version, world,
//!    `manifest()` under the plugin's limits, SDK version);
//! 3. `manifest()` again with no capabilities at all: it must not do I/O;
//! 4. given a plugin entry ([`entry`]): the component loads under it (id, limits), its secrets
//!    resolve, its grants let the connector reach somewhere, and where an OAuth connector's
//!    consent page points.

mod entry;
mod render;
pub mod source;

use std::path::{Path, PathBuf};

use crate::runtime::wit::connector::PluginManifest;
use crate::runtime::{
    HostServices, LoadError, LoadProblem, Runtime, RuntimeSettings, SDK_COMPATIBILITY,
    SERVED_CONTRACTS, SealedManifest,
};

pub use render::render;

/// Validates the component at `path` exactly as a load would (compile, world, self-check call,
/// manifest and SDK version) and returns its manifest. `compiled`: where the compiled
/// component may be kept for the next load of the same bytes.
pub async fn check(path: &Path, compiled: Option<&Path>) -> Result<PluginManifest, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        problem: LoadProblem::Unreadable(e.to_string()),
    })?;
    runtime(path, compiled)?
        .inspect(bytes, path.to_path_buf())
        .await
}

fn runtime(path: &Path, compiled: Option<&Path>) -> Result<Runtime, LoadError> {
    let settings = RuntimeSettings {
        cache_dir: compiled.map(Path::to_path_buf),
        compile_budget: crate::trial::OFFLINE_COMPILE_BUDGET,
        ..RuntimeSettings::default()
    };
    Runtime::new(settings, HostServices::in_memory()).map_err(|e| LoadError {
        path: path.to_path_buf(),
        problem: LoadProblem::Invalid(format!("the host's engine failed to start: {e}")),
    })
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The component cannot serve (under this entry).
    Error,
    /// It can, but something is likely wrong.
    Warning,
    /// Worth knowing.
    Note,
}

/// One thing `check` found, with the fix when there is a known one.
#[derive(Debug, Clone)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What is wrong.
    pub what: String,
    /// What to do about it.
    pub fix: Option<String>,
}

impl Finding {
    fn error(what: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            what: what.into(),
            fix,
        }
    }

    fn warning(what: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            what: what.into(),
            fix,
        }
    }

    fn note(what: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Note,
            what: what.into(),
            fix: None,
        }
    }
}

/// What `check` learned.
#[derive(Debug, Default)]
pub struct Report {
    /// The component checked (found in the crate's target folder when a crate was given).
    pub component: Option<PathBuf>,
    /// Its manifest, when it answered one.
    pub manifest: Option<PluginManifest>,
    /// The plugin entry it was checked against, if any.
    pub entry: Option<String>,
    /// Everything found, errors first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when nothing stops the component from serving.
    pub fn passed(&self) -> bool {
        self.manifest.is_some() && !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Runs every check on `target` (a component or a connector crate's folder), and against the
/// plugin entry in `plugin_config` (a plugin file, `plugin` naming its entry, or a file with
/// one entry's keys) when given.
pub async fn explain(target: &Path, plugin_config: Option<(&Path, Option<&str>)>) -> Report {
    let mut report = Report::default();
    let component = if target.is_dir() {
        match source::component_of_crate(target, &mut report.findings) {
            Some(component) => component,
            None => return report,
        }
    } else {
        target.to_path_buf()
    };
    report.component = Some(component.clone());
    let bytes = match std::fs::read(&component) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.findings.push(Finding::error(
                format!("cannot read {}: {e}", component.display()),
                Some(
                    "build the connector with `cargo build --release --target wasm32-wasip2` \
                     (or pass the crate's folder and `check` finds what it built)"
                        .into(),
                ),
            ));
            return report;
        }
    };
    // One compile for the three loads below (validation, the sealed manifest, the entry's).
    let compiled = tempfile::tempdir().ok();
    let compiled = compiled.as_ref().map(|dir| dir.path());
    let runtime = match runtime(&component, compiled) {
        Ok(runtime) => runtime,
        Err(error) => {
            report
                .findings
                .push(Finding::error(error.to_string(), None));
            return report;
        }
    };
    match runtime.inspect(bytes.clone(), component.clone()).await {
        Ok(manifest) => report.manifest = Some(manifest),
        Err(error) => {
            report.findings.push(explain_load(&error.problem));
            return report;
        }
    }
    match runtime.manifest_without_capabilities(bytes).await {
        SealedManifest::Answered => {}
        SealedManifest::CalledImport(import) => report.findings.push(Finding::error(
            format!("manifest() calls `{import}`: it must not do I/O (the host calls it to validate the component, with no connection, no settings and no network)"),
            Some("return a constant manifest; read settings and secrets in the exports that need them".into()),
        )),
        SealedManifest::Failed(why) => report
            .findings
            .push(Finding::error(format!("manifest() failed with no capabilities: {why}"), None)),
    }
    if let (Some((file, plugin)), Some(manifest)) = (plugin_config, &report.manifest) {
        let manifest = manifest.clone();
        entry::check_entry(&mut report, &component, &manifest, file, plugin, compiled).await;
    }
    report
}

/// The fix for each way a load can fail.
pub(crate) fn explain_load(problem: &LoadProblem) -> Finding {
    let fix = match problem {
        LoadProblem::UnsupportedSdk { .. } => Some(format!(
            "depend on postd-sdk {SDK_COMPATIBILITY} (this host serves postd:connector@{})",
            SERVED_CONTRACTS.join(", @")
        )),
        LoadProblem::UnknownSetting { .. } => Some(
            "correct the name's spelling, or remove it from the entry's `settings` or `secrets`"
                .into(),
        ),
        LoadProblem::MissingSetting { name, .. } => Some(format!(
            "add `{name}` to the entry's `secrets` (or `settings`)"
        )),
        LoadProblem::BadManifest(_) => Some(
            "ids are 1-64 characters of a-z, 0-9 and '-'; versions are semver \
             (`env!(\"CARGO_PKG_VERSION\")`)"
                .into(),
        ),
        LoadProblem::ManifestFailed(why) if why.contains("memory") => {
            Some("raise the plugin's `limits.memory_mb`, or allocate less at start-up".into())
        }
        LoadProblem::ManifestFailed(why) if why.contains("fuel") || why.contains("deadline") => {
            Some("manifest() must return at once: build the manifest from constants".into())
        }
        // The outline and world checks already name their fix.
        _ => None,
    };
    Finding::error(problem.to_string(), fix)
}

//! `postd-host check <file.wasm>`: what a component is and whether this host can serve it.

use std::fmt::Write;
use std::path::Path;

use crate::runtime::wit::connector::{AuthKind, PluginManifest};
use crate::runtime::{
    HostServices, LoadError, LoadProblem, Runtime, RuntimeSettings, SDK_COMPATIBILITY,
};

/// Validates the component at `path` exactly as a load would (compile, world, self-check call,
/// manifest and SDK version) and returns its manifest.
pub async fn check(path: &Path) -> Result<PluginManifest, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        problem: LoadProblem::Unreadable(e.to_string()),
    })?;
    let runtime =
        Runtime::new(RuntimeSettings::default(), HostServices::in_memory()).map_err(|e| {
            LoadError {
                path: path.to_path_buf(),
                problem: LoadProblem::Invalid(format!("the host's engine failed to start: {e}")),
            }
        })?;
    runtime.inspect(bytes, path.to_path_buf()).await
}

/// The report `check` prints.
pub fn render(path: &Path, result: &Result<PluginManifest, LoadError>) -> String {
    let mut out = String::new();
    match result {
        Ok(m) => {
            let _ = writeln!(out, "{}: loadable by this host", path.display());
            let _ = writeln!(out, "  id:            {}", m.id);
            let _ = writeln!(out, "  name:          {}", m.display_name);
            let _ = writeln!(out, "  version:       {}", m.version);
            let _ = writeln!(
                out,
                "  sdk:           postd-sdk {} (host supports {SDK_COMPATIBILITY})",
                m.sdk_version
            );
            let auth = match m.auth {
                AuthKind::Oauth2 => "oauth2",
                AuthKind::ApiKey => "api-key",
            };
            let _ = writeln!(out, "  auth:          {auth}");
            let _ = writeln!(out, "  capabilities:  {:?}", m.capabilities);
            if !m.scopes.is_empty() {
                let _ = writeln!(out, "  scopes:        {}", m.scopes.join(" "));
            }
            if let Some(max) = m.limits.max_text_chars {
                let _ = writeln!(out, "  max text:      {max} characters");
            }
            if let Some(b) = &m.rate_budget {
                let _ = writeln!(
                    out,
                    "  rate budget:   {} requests / {} s",
                    b.requests, b.per_seconds
                );
            }
            if let Some(s) = m.refresh_before_expiry_secs {
                let _ = writeln!(out, "  refresh:       {s} s before expiry");
            }
            if let Some(w) = &m.schedule_window {
                let _ = writeln!(
                    out,
                    "  scheduling:    {} s to {} s ahead",
                    w.min_lead_secs, w.max_lead_secs
                );
            }
        }
        Err(error) => {
            let _ = writeln!(out, "{}: NOT loadable by this host", path.display());
            let _ = writeln!(out, "  reason: {}", error.problem);
        }
    }
    out
}

//! The report `check` prints.

use std::fmt::Write;

use super::{Report, Severity};
use crate::runtime::SDK_COMPATIBILITY;
use crate::runtime::wit::ContractVersion;
use crate::runtime::wit::connector::{AuthKind, PluginManifest};

/// The report as text: the verdict, the manifest, then each finding with its fix.
pub fn render(target: &std::path::Path, report: &Report) -> String {
    let mut out = String::new();
    let shown = report.component.as_deref().unwrap_or(target);
    let verdict = if report.passed() {
        "loadable by this host"
    } else {
        "NOT loadable by this host"
    };
    let under = report
        .entry
        .as_ref()
        .map(|id| format!(" as plugin `{id}`"))
        .unwrap_or_default();
    let _ = writeln!(out, "{}: {verdict}{under}", shown.display());
    if let Some(m) = &report.manifest {
        manifest(&mut out, m);
    }
    for finding in &report.findings {
        let label = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let _ = writeln!(out, "  {label}: {}", finding.what);
        if let Some(fix) = &finding.fix {
            let mut lines = fix.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "    fix: {first}");
            }
            for line in lines {
                let _ = writeln!(out, "         {line}");
            }
        }
    }
    out
}

fn manifest(out: &mut String, m: &PluginManifest) {
    let _ = writeln!(out, "  id:            {}", m.id);
    let _ = writeln!(out, "  name:          {}", m.display_name);
    let _ = writeln!(out, "  version:       {}", m.version);
    let _ = writeln!(
        out,
        "  sdk:           postd-sdk {} (host supports {SDK_COMPATIBILITY})",
        m.sdk_version
    );
    // A loaded component's SDK minor version is its contract's (the load checks it).
    let contract = ContractVersion::ALL
        .into_iter()
        .find(|c| crate::runtime::sdk_supported(*c, &m.sdk_version));
    if let Some(contract) = contract {
        let older = if contract == ContractVersion::ALL[0] {
            ""
        } else {
            " (an older contract, still served)"
        };
        let _ = writeln!(out, "  contract:      postd:connector@{contract}{older}");
    }
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
    // What the plugin's entry may set (contract 0.2; a 0.1 manifest declares nothing).
    for (i, spec) in m.settings.iter().enumerate() {
        let label = if i == 0 { "settings:" } else { "" };
        let kind = match (spec.secret, spec.required) {
            (true, true) => "secret, required",
            (true, false) => "secret",
            (false, true) => "setting, required",
            (false, false) => "setting",
        };
        let _ = writeln!(
            out,
            "  {label:<14} {} ({kind}): {}",
            spec.name, spec.description
        );
    }
}

//! A component against the `plugins.toml` entry it is meant to serve under.

use std::path::Path;

use super::{Finding, Report, explain_load};
use crate::config::SecretSource;
use crate::runtime::wit::connector::{AuthKind, PluginManifest};
use crate::runtime::{Answer, LoadProblem, Served};
use crate::trial::{Trial, args, entry::load_entry};

/// Where `check` says an OAuth consent page would send the user back to.
const PROBE_REDIRECT: &str = "https://postd-check.invalid/oauth/callback";

/// Adds what is wrong with serving `component` under the entry in `file` to `report`.
pub async fn check_entry(
    report: &mut Report,
    component: &Path,
    manifest: &PluginManifest,
    file: &Path,
    plugin: Option<&str>,
    compiled: Option<&Path>,
) {
    let entry = match load_entry(file, plugin, &manifest.id) {
        Ok(entry) => entry,
        Err(why) => {
            report.findings.push(Finding::error(why, None));
            return;
        }
    };
    report.entry = Some(entry.id.clone());
    for (name, source) in &entry.secrets {
        if let SecretSource::Env(var) = source
            && source.resolve().is_none()
        {
            report.findings.push(Finding::warning(
                format!("secret `{name}` reads {var}, which is not set here"),
                Some(format!("set {var} in the environment the host runs in")),
            ));
        }
    }
    if entry.allowed_hosts.is_empty() {
        report.findings.push(Finding::warning(
            "the entry grants no egress: every request the connector sends is refused",
            Some(
                "list the platform's origins: allowed_hosts = [\"https://api.platform.example\"]"
                    .into(),
            ),
        ));
    }
    let id = entry.id.clone();
    let trial = match Trial::load(entry.clone(), component, compiled).await {
        Ok(trial) => trial,
        Err(error) => {
            let mut finding = explain_load(&error.problem);
            if let LoadProblem::IdMismatch { found, .. } = &error.problem {
                finding.fix = Some(format!(
                    "set `component = \"{found}\"` in [plugins.{id}] (an entry may serve a component under another id)"
                ));
            }
            report.findings.push(finding);
            return;
        }
    };
    if matches!(manifest.auth, AuthKind::Oauth2) {
        probe_consent_page(report, &trial, &entry.allowed_hosts, &entry.settings).await;
    }
}

/// Calls `authorize-url` under the entry and says where the consent page is.
async fn probe_consent_page(
    report: &mut Report,
    trial: &Trial,
    allowed_hosts: &[String],
    settings: &std::collections::BTreeMap<String, String>,
) {
    let request = serde_json::json!({"state": "check", "redirect-uri": PROBE_REDIRECT}).to_string();
    let invocation =
        args::invocation("authorize-url", Some(&request), "check").expect("a valid request");
    let url = match trial.call(invocation).await {
        Ok(Served {
            answer: Answer::AuthorizeUrl(Ok(url)),
            ..
        }) => url,
        Ok(Served {
            answer: Answer::AuthorizeUrl(Err(error)),
            ..
        }) => {
            report.findings.push(Finding::warning(
                format!("authorize-url fails under this entry: {error:?}"),
                Some("check the entry's settings (client-id and the like) and app secrets".into()),
            ));
            return;
        }
        Ok(other) => unreachable!("authorize-url answered {:?}", other.answer),
        Err(error) => {
            report.findings.push(Finding::error(
                format!("authorize-url failed in the host: {error}"),
                None,
            ));
            return;
        }
    };
    let origin = url::Url::parse(&url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.clone());
    let granted = allowed_hosts
        .iter()
        .any(|h| h.trim_end_matches('/') == origin);
    let names: Vec<&str> = settings.keys().map(String::as_str).collect();
    report.findings.push(Finding::note(format!(
        "the consent page is at {origin}{}; settings given: {}",
        if granted {
            ""
        } else {
            " (not among allowed_hosts: right for a platform's own consent page; if a setting was meant to move it, check its name)"
        },
        if names.is_empty() { "none".into() } else { names.join(", ") }
    )));
}

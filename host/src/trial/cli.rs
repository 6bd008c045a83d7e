//! `postd-host try <component> --plugin-config <entry.toml> <export> [json]`: one export called
//! by hand, its answer and what the call left behind printed.

use std::fmt::Write;
use std::path::PathBuf;

use super::{Trial, args, entry};
use crate::runtime::{Answer, CallError, Served};

/// What `try` was asked to do.
#[derive(Debug, Clone)]
pub struct TryRequest {
    /// The component (`.wasm`).
    pub component: PathBuf,
    /// A plugin file or a file with one entry's keys.
    pub plugin_config: PathBuf,
    /// The entry of a plugin file to use.
    pub plugin: Option<String>,
    /// Secrets of the trial connection, `name=value`.
    pub secrets: Vec<String>,
    /// The export, in the contract's name.
    pub export: String,
    /// Its arguments as JSON.
    pub json: Option<String>,
}

/// How `try` ended.
pub enum TryOutcome {
    /// The export answered `Ok`; the report.
    Answered(String),
    /// The connector answered an error, or the call failed; the report.
    Failed(String),
    /// The request was wrong (arguments, entry, component); why.
    Refused(String),
}

/// Runs `request`.
pub async fn run(request: TryRequest) -> TryOutcome {
    let secrets = match request
        .secrets
        .iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(name, _)| !name.is_empty())
                .ok_or_else(|| format!("--secret `{s}` is not NAME=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(secrets) => secrets,
        Err(why) => return TryOutcome::Refused(why),
    };
    let invocation =
        match args::invocation(&request.export, request.json.as_deref(), super::TRIAL_JOB) {
            Ok(invocation) => invocation,
            Err(why) => return TryOutcome::Refused(why),
        };
    let compiled = tempfile::tempdir().ok();
    let compiled = compiled.as_ref().map(|dir| dir.path());
    let manifest = match crate::check::check(&request.component, compiled).await {
        Ok(manifest) => manifest,
        Err(error) => return TryOutcome::Refused(error.to_string()),
    };
    let entry = match entry::load_entry(
        &request.plugin_config,
        request.plugin.as_deref(),
        &manifest.id,
    ) {
        Ok(entry) => entry,
        Err(why) => return TryOutcome::Refused(why),
    };
    let trial = match Trial::load(entry, &request.component, compiled).await {
        Ok(trial) => trial,
        Err(error) => return TryOutcome::Refused(error.to_string()),
    };
    for (name, value) in &secrets {
        trial.put_secret(name, value);
    }
    let served = trial.call(invocation).await;
    let failed = match &served {
        Ok(served) => answer_is_error(&served.answer),
        Err(_) => true,
    };
    let report = render(&request.export, &trial, &secrets, served);
    if failed {
        TryOutcome::Failed(report)
    } else {
        TryOutcome::Answered(report)
    }
}

fn answer_is_error(answer: &Answer) -> bool {
    match answer {
        Answer::Manifest(_) => false,
        Answer::AuthorizeUrl(r) => r.is_err(),
        Answer::CompleteAuth(r) => r.is_err(),
        Answer::Refresh(r) => r.is_err(),
        Answer::ListAccounts(r) => r.is_err(),
        Answer::Publish(r) | Answer::HandleTask(r) => r.is_err(),
        Answer::DeletePost(r) => r.is_err(),
        Answer::Analytics(r) => r.is_err(),
        Answer::Health(r) => r.is_err(),
        Answer::WebhookChallenge(r) => r.is_err(),
        Answer::VerifyWebhook(r) => r.is_err(),
    }
}

/// The report: the answer, fuel, continuations, recovery point and the names of the secrets
/// the connection holds afterwards (never their values).
fn render(
    export: &str,
    trial: &Trial,
    given: &[(&str, &str)],
    served: Result<Served<Answer>, CallError>,
) -> String {
    let mut out = String::new();
    match served {
        Err(error) => {
            let _ = writeln!(out, "{export}: the call failed ({}): {error}", error.code());
        }
        Ok(served) => {
            let _ = writeln!(out, "{export} answered ({} fuel):", served.fuel_used);
            let _ = writeln!(out, "{:#?}", served.answer);
            for c in &served.continuations {
                let _ = writeln!(
                    out,
                    "continuation: {} in {} ms: {}",
                    c.kind,
                    c.delay.as_millis(),
                    c.payload
                );
            }
            if let Some(point) = trial.recovery_point() {
                let _ = writeln!(out, "recovery point: {point}");
            }
        }
    }
    let held = trial.secret_names();
    if !held.is_empty() {
        let changed: Vec<&str> = held
            .iter()
            .map(String::as_str)
            .filter(|name| !given.iter().any(|(g, _)| g == name))
            .collect();
        let _ = writeln!(
            out,
            "connection secrets: {} (new: {})",
            held.join(", "),
            if changed.is_empty() {
                "none".into()
            } else {
                changed.join(", ")
            }
        );
    }
    out
}

//! The binary's subcommands for connector authors: `new`, `check` and `try`. Their work is in
//! the library ([`postd_host::scaffold`], [`postd_host::check`], [`postd_host::trial`]); this
//! module parses nothing and only prints and maps outcomes to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// The arguments of `try`.
#[derive(Debug, Args)]
pub struct TryArgs {
    /// The component (`.wasm`).
    pub component: PathBuf,
    /// A plugin file, or a file with the keys of one `[plugins.<id>]` entry.
    #[arg(long, value_name = "FILE")]
    pub plugin_config: PathBuf,
    /// The entry of a plugin file to use (default: the one for the component).
    #[arg(long)]
    pub plugin: Option<String>,
    /// A secret of the connection the call acts on, e.g. `--secret api-key=...` (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
    /// The export: manifest, authorize-url, complete-auth, refresh, list-accounts, publish,
    /// delete-post, analytics, health, webhook-challenge, verify-webhook or handle-task.
    pub export: String,
    /// Its arguments as JSON in the contract's field names, e.g. '{"account-id": "a1", "text": "hi"}'.
    pub json: Option<String>,
}

/// `check`: the report, exit 0 when the component can serve.
pub async fn check(
    path: PathBuf,
    plugin_config: Option<PathBuf>,
    plugin: Option<String>,
) -> ExitCode {
    let entry = plugin_config
        .as_deref()
        .map(|file| (file, plugin.as_deref()));
    let report = postd_host::check::explain(&path, entry).await;
    print!("{}", postd_host::check::render(&path, &report));
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `new`: the crate written, or why not (exit 2).
pub fn new_connector(id: &str, path: Option<PathBuf>, checkout: Option<PathBuf>) -> ExitCode {
    use postd_host::scaffold::{NewConnector, checkout_around};
    let dir = path.unwrap_or_else(|| PathBuf::from(id));
    let checkout = checkout
        .map(|c| std::path::absolute(&c).unwrap_or(c))
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|d| checkout_around(&d))
        });
    let new = NewConnector::new(id, dir.clone(), checkout.as_deref());
    match new.write() {
        Ok(files) => {
            println!("created {} ({} files)", dir.display(), files.len());
            match &checkout {
                Some(root) => println!("postd-sdk and postd-testkit from {}", root.display()),
                None => println!(
                    "postd-sdk and postd-testkit {} from the registry (--checkout DIR to use a checkout's)",
                    env!("CARGO_PKG_VERSION")
                ),
            }
            println!(
                "next: cd {} && cargo test   (README.md has every command)",
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("postd-host new: {why}");
            ExitCode::from(2)
        }
    }
}

/// `try`: the report; exit 1 when the export answered an error, 2 for a mistake.
pub async fn try_export(args: TryArgs) -> ExitCode {
    use postd_host::trial::cli::{TryOutcome, TryRequest, run};
    let request = TryRequest {
        component: args.component,
        plugin_config: args.plugin_config,
        plugin: args.plugin,
        secrets: args.secrets,
        export: args.export,
        json: args.json,
    };
    match run(request).await {
        TryOutcome::Answered(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        TryOutcome::Failed(report) => {
            print!("{report}");
            ExitCode::FAILURE
        }
        TryOutcome::Refused(why) => {
            eprintln!("postd-host try: {why}");
            ExitCode::from(2)
        }
    }
}

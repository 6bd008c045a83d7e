//! The `postd-host` binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use postd_host::capability::vault::{EncryptedSecretStore, KeyRing, KeySpec};
use postd_host::config::{LogFormat, PluginsFile, SETTINGS, ServiceSettings};
use postd_host::jobs::{Clock, SystemClock};
use postd_host::store::{Store, TenantStatus};

mod partner;
use partner::TryArgs;

/// Runs third-party API connectors as sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "postd-host", version, about, after_help = settings_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the host: API, job workers, plugin watcher (the default).
    Run {
        /// The plugin file (overrides `plugins` / POSTD_PLUGINS).
        #[arg(long)]
        plugins: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Print a component's manifest, whether this host loads it, and the fix for each known
    /// mistake; with --plugin-config, whether it serves under that plugins.toml entry.
    Check {
        /// The component (`.wasm`), or a connector crate's folder (its build is found).
        file: PathBuf,
        /// A plugin file, or a file with the keys of one `[plugins.<id>]` entry.
        #[arg(long, value_name = "FILE")]
        plugin_config: Option<PathBuf>,
        /// The entry of a plugin file to check against (default: the one for the component).
        #[arg(long, requires = "plugin_config")]
        plugin: Option<String>,
    },
    /// Make a connector crate to start from: a cdylib on postd-sdk, offline tests on
    /// postd-testkit, a README and the plugins.toml entry.
    New {
        /// The plugin id (a-z, 0-9 and '-').
        id: String,
        /// The folder to create (default: ./<id>).
        #[arg(long)]
        path: Option<PathBuf>,
        /// A Postd checkout whose sdk/ and testkit/ the crate depends on (default: the checkout
        /// the current folder is in; outside one, the registry's postd-sdk of this version).
        #[arg(long, value_name = "DIR")]
        checkout: Option<PathBuf>,
    },
    /// Call one export of a component by hand, under a plugins.toml entry, with in-memory
    /// backends (nothing is stored; egress goes where the entry grants).
    Try(TryArgs),
    /// The vault's keys.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// The settings and the plugin file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Plugins of a running host, through its admin API (the key from POSTD_ADMIN_KEY).
    Plugin {
        /// The host's API (default: the `public_url` setting).
        #[arg(long, global = true)]
        url: Option<String>,
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Every plugin with its status, serving version, digest and previous version.
    List,
    /// Upload a component: validated, then hot-swapped in (that host process only).
    Upload {
        /// The plugin id.
        id: String,
        /// The component (`.wasm`).
        file: PathBuf,
    },
    /// Serve the previous version again.
    Rollback {
        /// The plugin id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its first API key (shown once).
    Create {
        /// The tenant id.
        id: String,
        /// A name for people (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// List tenants with their status (oldest first).
    List {
        /// Only `active`, `disabled` or `deleted` tenants.
        #[arg(long, value_parser = ["active", "disabled", "deleted"])]
        status: Option<String>,
    },
    /// Disable a tenant: its API keys are refused on every replica, its jobs held.
    Disable {
        /// The tenant id.
        id: String,
        /// Why, for the audit log.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Re-enable a disabled tenant; its held jobs are queued again.
    Enable {
        /// The tenant id.
        id: String,
    },
    /// Delete a tenant: secrets erased, jobs cancelled, keys revoked. Cannot be undone.
    Delete {
        /// The tenant id.
        id: String,
        /// Confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Re-wrap every data key under a new key-encryption key (and re-encrypt every secret with
    /// --reencrypt); run it again to resume an interrupted rotation.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
struct RotateArgs {
    /// The current key: local:<key file> or aws-kms:<key id>.
    #[arg(long)]
    from: String,
    /// The new key, in the same form.
    #[arg(long)]
    to: String,
    /// Also re-encrypt every secret under fresh data keys.
    #[arg(long)]
    reencrypt: bool,
    /// Data keys re-wrapped per transaction.
    #[arg(long, value_parser = positive)]
    batch: Option<usize>,
}

fn positive(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a positive number"))
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate postd.toml, the environment and the plugin file; print the effective settings.
    Check {
        /// The plugin file (overrides `plugins` / POSTD_PLUGINS).
        #[arg(long)]
        plugins: Option<PathBuf>,
    },
}

/// Every setting with its variable and default, from the settings reference.
fn settings_help() -> String {
    let mut out = String::from(
        "Settings come from postd.toml (or the file POSTD_CONFIG names), overridden by the \
         environment; postd.example.toml has each key:\n",
    );
    for setting in SETTINGS {
        let default = setting
            .default
            .map(|d| format!(" (default {d})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<32} {}{default}\n",
            setting.env, setting.meaning
        ));
    }
    out.push_str(&format!(
        "  {:<32} the admin API's key, 16+ characters, environment only; off without it\n\
         \x20 {:<32} log filter; default info",
        "POSTD_ADMIN_KEY", "POSTD_LOG"
    ));
    out
}

#[tokio::main]
async fn main() -> ExitCode {
    // Arguments first: `--help`, `--version` and a mistyped command need no settings.
    let cli = Cli::parse();
    let settings = match ServiceSettings::load() {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("postd-host: {why}");
            return ExitCode::from(2);
        }
    };
    // Logs (POSTD_LOG), and trace export when `otlp_endpoint` is set. Dropped when main returns,
    // after a SIGTERM's drain too, which flushes the last spans.
    let format = settings.log_format.unwrap_or_else(LogFormat::for_stderr);
    let _telemetry = match postd_host::telemetry::init(&settings, format) {
        Ok(telemetry) => telemetry,
        Err(why) => {
            eprintln!("postd-host: {why}");
            return ExitCode::from(2);
        }
    };
    let database = settings.database_url.clone();
    match cli.command {
        Some(Command::Check {
            file,
            plugin_config,
            plugin,
        }) => partner::check(file, plugin_config, plugin).await,
        Some(Command::Try(args)) => partner::try_export(args).await,
        Some(Command::New { id, path, checkout }) => partner::new_connector(&id, path, checkout),
        Some(Command::Migrate) => migrate(&database).await,
        Some(Command::Tenant(TenantCommand::Create { id, name })) => {
            let name = name.unwrap_or_else(|| id.clone());
            tenant_create(&id, &name, &database).await
        }
        Some(Command::Tenant(command)) => tenant(command, &database).await,
        Some(Command::Vault(VaultCommand::Rotate(args))) => rotate(args, &database).await,
        Some(Command::Config(ConfigCommand::Check { plugins })) => config_check(plugins, settings),
        Some(Command::Plugin { url, command }) => plugin(url, command, &settings).await,
        Some(Command::Run { plugins }) => run(plugins, settings).await,
        None => run(None, settings).await,
    }
}

fn usage_error(why: &str) -> ExitCode {
    eprintln!("postd-host: {why} (see postd-host --help)");
    ExitCode::from(2)
}

async fn migrate(database_url: &str) -> ExitCode {
    let outcome = async {
        let store = Store::connect(database_url)
            .await
            .map_err(|e| e.to_string())?;
        store.migrate().await.map_err(|e| e.to_string())
    };
    match outcome.await {
        Ok(applied) => {
            println!("applied {applied} migrations");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("postd-host: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn rotate(args: RotateArgs, database_url: &str) -> ExitCode {
    let (from, to) = match (KeySpec::parse(&args.from), KeySpec::parse(&args.to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(why), _) | (_, Err(why)) => return usage_error(&why),
    };
    let (batch, reencrypt) = (args.batch.unwrap_or(usize::MAX), args.reencrypt);
    let outcome = async {
        let store = Store::open(database_url).await.map_err(|e| e.to_string())?;
        let old = from.provider(false).await.map_err(|e| e.to_string())?;
        let new = to.provider(true).await.map_err(|e| e.to_string())?;
        let vault =
            EncryptedSecretStore::new(KeyRing::new(new).with_older(old), Arc::new(store.clone()));
        let report = vault
            .rewrap_keys(Some(batch))
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "re-wrapped {} data keys ({} already under the new key)",
            report.rewrapped, report.already_current
        );
        if reencrypt {
            let mut tenants: Vec<String> =
                postd_host::capability::vault::VaultRecords::keys(&store)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|k| k.tenant)
                    .collect();
            tenants.dedup();
            for tenant in tenants {
                let report = vault
                    .reencrypt_tenant(&tenant)
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "tenant {tenant}: re-encrypted {} secrets",
                    report.reencrypted
                );
            }
        }
        Ok::<(), String>(())
    };
    match outcome.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!(
                "postd-host: vault rotation stopped: {why}\nNothing was lost; run the same command again to resume."
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(plugins: Option<PathBuf>, mut settings: ServiceSettings) -> ExitCode {
    if let Some(path) = plugins {
        settings.plugins = path;
    }
    match postd_host::service::serve(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("postd-host: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `plugin list|upload|rollback` against a running host's admin API.
async fn plugin(
    url: Option<String>,
    command: PluginCommand,
    settings: &ServiceSettings,
) -> ExitCode {
    let Some(key) = settings.admin_key.as_deref() else {
        return usage_error("set POSTD_ADMIN_KEY to the host's admin key");
    };
    let base = url.unwrap_or_else(|| settings.public_url.clone());
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::new();
    let request = match &command {
        PluginCommand::List => client.get(format!("{base}/admin/plugins")),
        PluginCommand::Upload { id, file } => match std::fs::read(file) {
            Ok(bytes) => client
                .put(format!("{base}/admin/plugins/{id}"))
                .header("content-type", "application/wasm")
                .body(bytes),
            Err(e) => {
                eprintln!("postd-host: {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        },
        PluginCommand::Rollback { id } => {
            client.post(format!("{base}/admin/plugins/{id}/rollback"))
        }
    };
    let answer = match request.bearer_auth(key).send().await {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("postd-host: {base}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = answer.status();
    let body: serde_json::Value = answer
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        eprintln!(
            "postd-host: {status}: {} {}",
            body["code"].as_str().unwrap_or(""),
            body["message"].as_str().unwrap_or("")
        );
        return ExitCode::FAILURE;
    }
    let plugins = match body {
        serde_json::Value::Array(list) => list,
        one => vec![one],
    };
    for p in plugins {
        let text = |field: &str| p[field].as_str().unwrap_or("-").to_string();
        println!(
            "{}\t{}\tversion {}\tsha256 {}\tprevious {}{}",
            text("id"),
            text("status"),
            text("version"),
            text("sha256"),
            text("previous_version"),
            p["last_error"]
                .as_str()
                .map(|e| format!("\tlast error: {e}"))
                .unwrap_or_default()
        );
    }
    ExitCode::SUCCESS
}

/// `config check`: the settings as resolved (secrets shown only as set or unset) and the plugin
/// file's verdict; fails when either has a problem.
fn config_check(plugins: Option<PathBuf>, mut settings: ServiceSettings) -> ExitCode {
    if let Some(path) = plugins {
        settings.plugins = path;
    }
    println!("settings (file, then environment):");
    for (key, value) in settings.effective() {
        println!("  {key} = {value}");
    }
    let file = PluginsFile::load(&settings.plugins);
    println!(
        "{}: {} plugins",
        settings.plugins.display(),
        file.plugins.len()
    );
    for entry in &file.plugins {
        println!(
            "  {} (component {}, {})",
            entry.id,
            entry.component,
            entry.path.display()
        );
    }
    for problem in &file.problems {
        println!("  problem: {problem}");
    }
    if file.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn tenant_create(id: &str, name: &str, database_url: &str) -> ExitCode {
    let outcome = async {
        let store = Store::open(database_url).await.map_err(|e| e.to_string())?;
        if store.tenant_exists(id).await.map_err(|e| e.to_string())? {
            return Err(format!("tenant `{id}` exists"));
        }
        let now = SystemClock.now();
        store
            .create_tenant(id, name, now)
            .await
            .map_err(|e| e.to_string())?;
        store
            .tenant(id)
            .create_api_key("cli", now)
            .await
            .map_err(|e| e.to_string())
    };
    match outcome.await {
        Ok(key) => {
            println!("{key}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("postd-host: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `tenant list|disable|enable|delete`, on the database directly (every replica reads a
/// tenant's state on each request, so the change holds fleet-wide at once).
async fn tenant(command: TenantCommand, database_url: &str) -> ExitCode {
    if let TenantCommand::Delete { yes: false, id } = &command {
        return usage_error(&format!(
            "deleting `{id}` erases its secrets and cannot be undone: add --yes"
        ));
    }
    let outcome = async {
        let store = Store::open(database_url).await.map_err(|e| e.to_string())?;
        let now = SystemClock.now();
        let changed = match command {
            TenantCommand::Create { .. } => unreachable!("handled by tenant_create"),
            TenantCommand::List { status } => {
                let status = status.as_deref().and_then(TenantStatus::parse);
                let mut after: Option<(i64, String)> = None;
                println!("{:<24} {:<9} {:<14} NAME", "ID", "STATUS", "CREATED (ms)");
                loop {
                    let page = store
                        .tenants_after(status, 500, after.as_ref().map(|(t, i)| (*t, i.as_str())))
                        .await
                        .map_err(|e| e.to_string())?;
                    for t in &page {
                        let word = serde_json::to_value(t.status).unwrap_or_default();
                        let word = word.as_str().unwrap_or("");
                        println!("{:<24} {word:<9} {:<14} {}", t.id, t.created_at, t.name);
                    }
                    match page.last() {
                        Some(last) if page.len() == 500 => {
                            after = Some((last.created_at, last.id.clone()));
                        }
                        _ => return Ok(()),
                    }
                }
            }
            TenantCommand::Disable { id, reason } => {
                store.disable_tenant(&id, &reason, "cli", now).await
            }
            TenantCommand::Enable { id } => store.enable_tenant(&id, "cli", now).await,
            TenantCommand::Delete { id, .. } => {
                let done = store
                    .delete_tenant(&id, "cli", now)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{}", serde_json::to_string(&done).unwrap_or_default());
                return Ok(());
            }
        };
        let record = changed.map_err(|e| e.to_string())?;
        println!("{}", serde_json::to_string(&record).unwrap_or_default());
        Ok::<(), String>(())
    };
    match outcome.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("postd-host: {why}");
            ExitCode::FAILURE
        }
    }
}

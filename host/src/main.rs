//! The `postd-host` binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use postd_host::capability::vault::{EncryptedSecretStore, KeyRing, KeySpec};
use postd_host::config::{LogFormat, SETTINGS, ServiceSettings};
use postd_host::jobs::{Clock, SystemClock};
use postd_host::store::Store;

const COMMANDS: &str = "usage:
  postd-host [run] [--plugins <plugins.toml>]   start the host: API, job workers, plugin watcher
  postd-host migrate                           apply pending database migrations and exit
  postd-host tenant create <id> [--name <name>] create a tenant and print its API key (shown once)
  postd-host check <file.wasm>                 print a component's manifest and whether this host loads it
  postd-host vault rotate --from <key> --to <key> [--reencrypt] [--batch <n>]
                                               re-wrap every data key under a new key-encryption key
                                               (and re-encrypt every secret with --reencrypt);
                                               <key> is local:<key file> or aws-kms:<key id>;
                                               run it again to resume an interrupted rotation
";

/// The commands, then every setting with its variable and default (from the settings
/// reference, so it lists what the host reads).
fn usage() -> String {
    let mut out = format!(
        "{}\n\nSettings come from postd.toml (or the file POSTD_CONFIG names), \
         overridden by the environment; postd.example.toml has each key:\n",
        COMMANDS.trim_end()
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
    let settings = match ServiceSettings::load() {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("postd-host: {why}");
            return ExitCode::from(2);
        }
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("POSTD_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match settings.log_format.unwrap_or_else(LogFormat::for_stderr) {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let database = settings.database_url.clone();
    match args.as_slice() {
        ["check", file] => check(PathBuf::from(file)).await,
        ["migrate"] => migrate(&database).await,
        ["tenant", "create", id] => tenant_create(id, id, &database).await,
        ["tenant", "create", id, "--name", name] => tenant_create(id, name, &database).await,
        ["vault", "rotate", rest @ ..] => rotate(rest, &database).await,
        ["-h" | "--help" | "help"] => {
            println!("{}", usage());
            ExitCode::SUCCESS
        }
        ["run", rest @ ..] => run(rest, settings).await,
        rest => run(rest, settings).await,
    }
}

fn usage_error(why: &str) -> ExitCode {
    eprintln!("postd-host: {why}\n\n{}", usage());
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

async fn check(path: PathBuf) -> ExitCode {
    let result = postd_host::check::check(&path).await;
    print!("{}", postd_host::check::render(&path, &result));
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn rotate(args: &[&str], database_url: &str) -> ExitCode {
    let (mut from, mut to, mut reencrypt, mut batch) = (None, None, false, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match (*arg, args.clone().next()) {
            ("--from", Some(v)) => from = Some(KeySpec::parse(v)),
            ("--to", Some(v)) => to = Some(KeySpec::parse(v)),
            ("--batch", Some(v)) => {
                batch = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or(())
                    .ok()
            }
            ("--reencrypt", _) => {
                reencrypt = true;
                continue;
            }
            (other, _) => return usage_error(&format!("unexpected argument `{other}`")),
        }
        args.next();
    }
    let (from, to) = match (from, to) {
        (Some(Ok(from)), Some(Ok(to))) => (from, to),
        (Some(Err(why)), _) | (_, Some(Err(why))) => return usage_error(&why),
        _ => return usage_error("vault rotate needs --from <key> and --to <key>"),
    };
    let Some(batch) = batch.unwrap_or(Some(usize::MAX)) else {
        return usage_error("--batch takes a positive number");
    };
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

async fn run(args: &[&str], mut settings: ServiceSettings) -> ExitCode {
    match args {
        [] => {}
        ["--plugins", path] => settings.plugins = PathBuf::from(path),
        _ => return usage_error("run takes only --plugins <file>"),
    }
    match postd_host::service::serve(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("postd-host: {why}");
            ExitCode::FAILURE
        }
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

//! The `postd-host` binary.
//!
//! ```text
//! postd-host [run] [--plugins plugins.toml]   start the host (default)
//! postd-host check <file.wasm>                 print a component's manifest and whether it loads
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use postd_host::config::PluginsFile;
use postd_host::runtime::{HostServices, PluginWatcher, Runtime, RuntimeSettings};

const USAGE: &str = "usage:
  postd-host [run] [--plugins <plugins.toml>]   start the host (POSTD_PLUGINS also sets the file)
  postd-host check <file.wasm>                 print a component's manifest and whether this host loads it";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("POSTD_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => match args.get(1) {
            Some(file) if args.len() == 2 => check(PathBuf::from(file)).await,
            _ => usage_error(),
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("run") => run(&args[1..]).await,
        _ => run(&args).await,
    }
}

fn usage_error() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
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

async fn run(args: &[String]) -> ExitCode {
    let plugins = match args {
        [] => std::env::var("POSTD_PLUGINS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| "plugins.toml".into()),
        [flag, path] if flag == "--plugins" => PathBuf::from(path),
        _ => return usage_error(),
    };
    let file = PluginsFile::load(&plugins);
    for problem in &file.problems {
        tracing::error!(%problem, "plugin configuration problem; continuing without it");
    }
    let settings = RuntimeSettings {
        cache_dir: Some(PathBuf::from("data/cache")),
        ..RuntimeSettings::default()
    };
    let runtime = match Runtime::new(settings, HostServices::in_memory()) {
        Ok(runtime) => Arc::new(runtime),
        Err(error) => {
            eprintln!("postd-host: the wasm engine failed to start: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    for failure in runtime.configure(&file).await {
        tracing::error!(%failure, "plugin not loaded; continuing without it");
    }
    let _watcher = match PluginWatcher::start(runtime.clone(), &file.plugin_dir) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            tracing::warn!(dir = %file.plugin_dir.display(), %error, "hot swap from the plugin directory is off");
            None
        }
    };
    for status in runtime.plugins() {
        match &status.version {
            Some(version) => tracing::info!(plugin = %status.id, %version, "serving"),
            None => {
                tracing::warn!(plugin = %status.id, reason = status.last_error.as_deref().unwrap_or("-"), "not serving")
            }
        }
    }
    tracing::info!(plugins = %plugins.display(), dir = %file.plugin_dir.display(), "postd-host running; Ctrl-C stops it");
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping");
    ExitCode::SUCCESS
}

//! The `postd-host` binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use postd_host::api::{ApiState, HttpMetrics};
use postd_host::capability::http::RedisRateLimiter;
use postd_host::capability::vault::{EncryptedSecretStore, KeyRing, KeySpec, LocalKeyProvider};
use postd_host::config::PluginsFile;
use postd_host::jobs::{
    Clock, DispatchSettings, Dispatcher, Pipeline, PipelineSettings, RedisDispatch, RefreshLocks,
    StoreJobSink, SystemClock,
};
use postd_host::runtime::{HostServices, PluginWatcher, Runtime, RuntimeSettings};
use postd_host::store::Store;

const USAGE: &str = "usage:
  postd-host [run] [--plugins <plugins.toml>]   start the host (POSTD_PLUGINS also sets the file)
  postd-host migrate                           apply pending database migrations and exit
  postd-host tenant create <id> [--name <name>] create a tenant and print its API key (shown once)
  postd-host check <file.wasm>                 print a component's manifest and whether this host loads it
  postd-host vault rotate --from <key> --to <key> [--reencrypt] [--batch <n>]
                                               re-wrap every data key under a new key-encryption key
                                               (and re-encrypt every secret with --reencrypt);
                                               <key> is local:<key file> or aws-kms:<key id>;
                                               run it again to resume an interrupted rotation

Environment:
  POSTD_DATA_DIR        local key, compile cache and (by default) the database; default ./data
  POSTD_LISTEN          where the API listens; default 127.0.0.1:8080
  POSTD_PUBLIC_URL      how browsers reach it (OAuth redirects); default http://$POSTD_LISTEN
  POSTD_ADMIN_KEY       the admin API's key (16+ characters); the admin API is off without it
  POSTD_CACHE_DIR       compiled components; default $POSTD_DATA_DIR/cache
  POSTD_DATABASE_URL    postgres://... or sqlite://path; default sqlite://$POSTD_DATA_DIR/postd.db
  POSTD_REDIS_URL       redis://host:port: job dispatch, rate buckets and refresh locks shared
                        with the other replicas (without it: database polling, in-process state)
  POSTD_REDIS_NAMESPACE key prefix in Redis; default postd:
  POSTD_WORKERS         jobs this process runs at once; default 32
  POSTD_LEASE_SECS      how long a claimed job is held before another worker may take it over;
                        default 120 (must exceed the longest plugin deadline)
  POSTD_WORKER_ID       this process's name in leases and attempts; default <hostname>-<pid>
  POSTD_LOG             log filter; default info";

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
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["check", file] => check(PathBuf::from(file)).await,
        ["migrate"] => migrate().await,
        ["tenant", "create", id] => tenant_create(id, id).await,
        ["tenant", "create", id, "--name", name] => tenant_create(id, name).await,
        ["vault", "rotate", rest @ ..] => rotate(rest).await,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["run", rest @ ..] => run(rest).await,
        rest => run(rest).await,
    }
}

fn usage_error(why: &str) -> ExitCode {
    eprintln!("postd-host: {why}\n\n{USAGE}");
    ExitCode::from(2)
}

fn database_url() -> String {
    std::env::var("POSTD_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", data_dir().join("postd.db").display()))
}

fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} must be a positive number, not `{v}`")),
        Err(_) => Ok(default),
    }
}

async fn migrate() -> ExitCode {
    let outcome = async {
        let store = Store::connect(&database_url())
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

fn data_dir() -> PathBuf {
    std::env::var_os("POSTD_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "data".into())
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

async fn rotate(args: &[&str]) -> ExitCode {
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
        let store = Store::open(&database_url())
            .await
            .map_err(|e| e.to_string())?;
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

async fn run(args: &[&str]) -> ExitCode {
    let plugins = match args {
        [] => std::env::var("POSTD_PLUGINS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| "plugins.toml".into()),
        ["--plugins", path] => PathBuf::from(path),
        _ => return usage_error("run takes only --plugins <file>"),
    };
    let file = PluginsFile::load(&plugins);
    for problem in &file.problems {
        tracing::error!(%problem, "plugin configuration problem; continuing without it");
    }
    let data = data_dir();
    let backends = match Backends::connect(&data).await {
        Ok(backends) => backends,
        Err(why) => {
            eprintln!("postd-host: {why}");
            return ExitCode::FAILURE;
        }
    };
    let services = backends.services.clone();
    let cache = std::env::var_os("POSTD_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| data.join("cache"));
    let settings = RuntimeSettings {
        cache_dir: Some(cache),
        ..RuntimeSettings::default()
    };
    let runtime = match Runtime::new(settings, services) {
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
    let pipeline = Pipeline::new(
        backends.store,
        runtime.clone(),
        backends.clock,
        backends.dispatcher,
        backends.locks,
        backends.settings,
    );
    let listen = std::env::var("POSTD_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("postd-host: cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let public_url =
        std::env::var("POSTD_PUBLIC_URL").unwrap_or_else(|_| format!("http://{listen}"));
    if let Err(why) = first_tenant(pipeline.store(), &public_url).await {
        eprintln!("postd-host: {why}");
        return ExitCode::FAILURE;
    }
    let api = Arc::new(ApiState {
        pipeline: pipeline.clone(),
        admin_key: std::env::var("POSTD_ADMIN_KEY")
            .ok()
            .filter(|k| k.len() >= 16),
        public_url: public_url.trim_end_matches('/').to_string(),
        metrics: HttpMetrics::default(),
        redis_url: std::env::var("POSTD_REDIS_URL").ok(),
    });
    if api.admin_key.is_none() {
        tracing::warn!(
            "the admin API is off: set POSTD_ADMIN_KEY (16 characters or more) to use it"
        );
    }
    let workers = pipeline.start();
    tracing::info!(%listen, plugins = %plugins.display(), dir = %file.plugin_dir.display(), "postd-host running; Ctrl-C stops it");
    let served = axum::serve(listener, postd_host::api::router(api))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("stopping: no new requests or jobs; running ones finish");
        })
        .await;
    workers.stop().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("postd-host: the API server failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// On an empty database, creates tenant `default` and prints its API key (once: only its digest
/// is stored), so a fresh `make run` can be used at once.
async fn first_tenant(store: &Store, public_url: &str) -> Result<(), String> {
    if store
        .tenant_exists("default")
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let now = SystemClock.now();
    store
        .create_tenant("default", "Default tenant", now)
        .await
        .map_err(|e| e.to_string())?;
    let key = store
        .tenant("default")
        .create_api_key("setup", now)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\nCreated tenant `default`. Its API key (shown once):\n\n  {key}\n\nTry: curl -H 'Authorization: Bearer {key}' {public_url}/v1/connections\n"
    );
    Ok(())
}

async fn tenant_create(id: &str, name: &str) -> ExitCode {
    let outcome = async {
        let store = Store::open(&database_url())
            .await
            .map_err(|e| e.to_string())?;
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

/// What a host process runs on: the database, the vault over it, and — with `POSTD_REDIS_URL`
/// — Redis for dispatch, rate buckets and refresh locks.
struct Backends {
    store: Store,
    services: HostServices,
    clock: Arc<dyn Clock>,
    dispatcher: Dispatcher,
    locks: RefreshLocks,
    settings: PipelineSettings,
}

impl Backends {
    async fn connect(data: &std::path::Path) -> Result<Self, String> {
        let store = Store::open(&database_url())
            .await
            .map_err(|e| e.to_string())?;
        let key =
            LocalKeyProvider::open_or_create(&data.join("vault.key")).map_err(|e| e.to_string())?;
        let secrets =
            EncryptedSecretStore::new(KeyRing::new(Arc::new(key)), Arc::new(store.clone()));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut services = HostServices {
            secrets: Arc::new(secrets),
            jobs: Arc::new(StoreJobSink::new(store.clone(), clock.clone())),
            ..HostServices::in_memory()
        };
        let mut settings = PipelineSettings {
            concurrency: env_number("POSTD_WORKERS", 32)? as usize,
            dispatch: DispatchSettings {
                lease: std::time::Duration::from_secs(env_number("POSTD_LEASE_SECS", 120)?),
                ..DispatchSettings::default()
            },
            ..PipelineSettings::default()
        };
        if let Ok(id) = std::env::var("POSTD_WORKER_ID") {
            settings.worker_id = id;
        }
        let (dispatcher, locks) = match std::env::var("POSTD_REDIS_URL") {
            Ok(url) => {
                let namespace =
                    std::env::var("POSTD_REDIS_NAMESPACE").unwrap_or_else(|_| "postd:".into());
                let limiter = RedisRateLimiter::connect(&url, &format!("{namespace}rate:"))
                    .await
                    .map_err(|e| format!("Redis at POSTD_REDIS_URL: {e}"))?;
                services.rate = Arc::new(limiter);
                let dispatch = RedisDispatch::connect(&url, &namespace)
                    .await
                    .map_err(|e| format!("Redis at POSTD_REDIS_URL: {e}"))?;
                let locks =
                    RefreshLocks::redis(&url, &namespace, std::time::Duration::from_secs(120))
                        .await
                        .map_err(|e| format!("Redis at POSTD_REDIS_URL: {e}"))?;
                (Dispatcher::Redis(Arc::new(dispatch)), locks)
            }
            Err(_) => (Dispatcher::database(), RefreshLocks::local()),
        };
        Ok(Backends {
            store,
            services,
            clock,
            dispatcher,
            locks,
            settings,
        })
    }
}

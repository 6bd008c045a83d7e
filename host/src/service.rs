//! One host process: the store, the vault over it, Redis when configured, the runtime with its
//! plugins and watcher, the job pipeline's loops and the HTTP API — and a graceful stop.

use std::sync::Arc;
use std::time::Duration;

use crate::api::{ApiState, FailureBudget};
use crate::capability::http::{Budget, RedisRateLimiter};
use crate::capability::vault::{EncryptedSecretStore, KeyProvider, KeyRing, LocalKeyProvider};
use crate::config::{InstanceAllocation, PluginEntry, PluginsFile, ServiceSettings};
use crate::fleet::FleetPlugins;
use crate::jobs::{
    Clock, DispatchSettings, Dispatcher, Pipeline, PipelineSettings, StoreJobSink, SystemClock,
};
use crate::runtime::{Allocation, HostServices, PluginWatcher, Runtime, RuntimeSettings};
use crate::store::Store;

/// Backends over the database: secrets sealed under `key` (the vault's key-encryption key) in
/// `store`, recovery points written to `store`; in-process rate buckets and egress metrics.
pub fn store_services(
    store: &Store,
    key: Arc<dyn KeyProvider>,
    clock: Arc<dyn Clock>,
) -> HostServices {
    HostServices {
        secrets: Arc::new(EncryptedSecretStore::new(
            KeyRing::new(key),
            Arc::new(store.clone()),
        )),
        jobs: Arc::new(StoreJobSink::new(store.clone(), clock.clone())),
        clock,
        ..HostServices::in_memory()
    }
}

/// What a host process runs on: the database (also the job queue, with wake-ups over
/// `LISTEN`/`NOTIFY` on PostgreSQL; refresh leases too), the vault over it, and — with a Redis
/// URL — Redis for shared rate buckets.
struct Backends {
    store: Store,
    services: HostServices,
    clock: Arc<dyn Clock>,
    dispatcher: Dispatcher,
}

impl Backends {
    async fn connect(settings: &ServiceSettings) -> Result<Self, String> {
        crate::files::create_private_dir(&settings.data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}",
                settings.data_dir.display()
            )
        })?;
        if crate::files::open_to_others(&settings.data_dir) {
            tracing::warn!(dir = %settings.data_dir.display(), "other users can read the data directory (database, local key, compiled components); chmod 700 it");
        }
        let store = Store::open(&settings.database_url)
            .await
            .map_err(|e| e.to_string())?;
        let key = LocalKeyProvider::open_or_create(&settings.data_dir.join("vault.key"))
            .map_err(|e| e.to_string())?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut services = store_services(&store, Arc::new(key), clock.clone());
        let dispatcher = match store.backend() {
            crate::store::Backend::Postgres => Dispatcher::postgres(&store, &settings.database_url),
            crate::store::Backend::Sqlite => Dispatcher::local(),
        };
        if let Some(url) = &settings.redis_url {
            let limiter =
                RedisRateLimiter::connect(url, &format!("{}rate:", settings.redis_namespace))
                    .await
                    .map_err(|e| format!("Redis at {url}: {e}"))?;
            services.rate = Arc::new(limiter);
        }
        Ok(Backends {
            store,
            services,
            clock,
            dispatcher,
        })
    }
}

/// Runs a host until SIGTERM or SIGINT (Ctrl-C), then drains: `/readyz` fails at once, the
/// listener closes after `shutdown_delay_secs`, running jobs get `shutdown_grace_secs`, and the
/// process exits 0.
pub async fn serve(settings: ServiceSettings) -> Result<(), String> {
    let file = PluginsFile::load(&settings.plugins);
    for problem in &file.problems {
        tracing::error!(%problem, "plugin configuration problem; continuing without it");
    }
    let backends = Backends::connect(&settings).await?;
    let allocation = instance_allocation(&settings, &file, &backends.store).await;
    tracing::info!(allocation = %allocation.describe(), "instance allocation");
    let runtime_settings = RuntimeSettings {
        allocation,
        cache_dir: Some(settings.cache_dir.clone()),
        host_memory_bytes: usize::try_from(settings.host_memory_mb.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX),
        tenant_rate: (settings.tenant_egress_per_second > 0)
            .then(|| Budget::per_seconds(settings.tenant_egress_per_second, 1)),
        ..RuntimeSettings::default()
    };
    let runtime = Arc::new(
        Runtime::new(runtime_settings, backends.services.clone())
            .map_err(|e| format!("the wasm engine failed to start: {e:#}"))?,
    );
    let mut pipeline_settings = PipelineSettings {
        concurrency: settings.workers,
        finish_batch: settings.finish_batch,
        dispatch: DispatchSettings {
            lease: Duration::from_secs(settings.lease_secs),
            ..DispatchSettings::default()
        },
        max_rate_limit_wait: Duration::from_secs(settings.max_rate_limit_wait_secs),
        events: settings.events.clone(),
        retention: settings.retention,
        ..PipelineSettings::default()
    };
    if let Some(id) = &settings.worker_id {
        pipeline_settings.worker_id = id.clone();
    }
    let pipeline = Pipeline::new(
        backends.store,
        runtime.clone(),
        backends.clock,
        backends.dispatcher,
        pipeline_settings,
    );
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    first_tenant(pipeline.store(), &settings.public_url).await?;
    if settings.admin_key.is_none() {
        tracing::warn!(
            "the admin API is off: set POSTD_ADMIN_KEY (16 characters or more) to use it"
        );
    }
    let api = Arc::new(
        ApiState::new(
            pipeline.clone(),
            settings.admin_key.clone(),
            settings.public_url.clone(),
            settings.redis_url.clone(),
        )
        .with_auth_failures(FailureBudget::per_minute(settings.auth_failures_per_minute))
        .with_console_admins(settings.console_admins.clone()),
    );
    // The API answers at once (`/readyz` lists the plugins still loading); jobs start once
    // every plugin's first load ended, so none is retried for a plugin that was still loading.
    let fleet = (api.fleet.clone(), settings.database_url.clone());
    let loading = tokio::spawn(load_plugins(runtime.clone(), file, pipeline.clone(), fleet));
    tracing::info!(listen = %settings.listen, plugins = %settings.plugins.display(), "postd-host running; SIGTERM or Ctrl-C stops it");
    let (delay, grace) = (
        Duration::from_secs(settings.shutdown_delay_secs),
        Duration::from_secs(settings.shutdown_grace_secs),
    );
    let draining = api.clone();
    let served = axum::serve(listener, crate::api::service(api))
        .with_graceful_shutdown(async move {
            stop_signal().await;
            draining
                .draining
                .store(true, std::sync::atomic::Ordering::Release);
            tracing::info!(
                delay_secs = delay.as_secs(),
                grace_secs = grace.as_secs(),
                "stopping: /readyz answers 503 now, the listener closes after the delay, running jobs get the grace"
            );
            tokio::time::sleep(delay).await;
        })
        .await;
    match loading.await {
        Ok((workers, _watcher)) => workers.stop_within(grace).await,
        Err(error) => tracing::error!(%error, "loading the plugins failed"),
    }
    served.map_err(|e| format!("the API server failed: {e}"))
}

/// How the runtime allocates instances under `settings`: with pooling (the default), a pool
/// sized for every plugin the host starts with — the entries of `file`, each replaced by the
/// admin API's stored configuration of its id when there is one, plus the stored entries of
/// plugins the file does not name — and room for one more plugin with the file's `[defaults]`
/// (added live). See `runtime/pool.rs`.
pub async fn instance_allocation(
    settings: &ServiceSettings,
    file: &PluginsFile,
    store: &Store,
) -> Allocation {
    if settings.instance_allocation == InstanceAllocation::OnDemand {
        return Allocation::OnDemand;
    }
    let stored: Vec<PluginEntry> = match store.plugin_configs().await {
        Ok(rows) => rows
            .iter()
            .filter_map(|row| file.parse_entry(&row.plugin, row.entry.as_deref()?).ok())
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "reading the stored plugin configuration failed; sizing the instance pool from plugins.toml alone");
            Vec::new()
        }
    };
    let from_file = file
        .plugins
        .iter()
        .filter(|entry| stored.iter().all(|s| s.id != entry.id));
    Allocation::pooling_for(
        from_file
            .chain(&stored)
            .map(|entry| &entry.limits)
            .chain([&file.defaults]),
    )
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM (what Kubernetes, systemd and Docker send).
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be watched; only Ctrl-C stops the host");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// What watches the plugin directory and the plugin file; dropping it stops both.
type Watchers = (Option<PluginWatcher>, Option<notify::RecommendedWatcher>);

/// Loads every plugin of `file` (concurrently), starts watching the plugin directory, then
/// starts the job workers.
async fn load_plugins(
    runtime: Arc<Runtime>,
    file: PluginsFile,
    pipeline: Arc<Pipeline>,
    (fleet, database_url): (Arc<FleetPlugins>, String),
) -> (crate::jobs::Workers, Watchers) {
    for failure in runtime.configure(&file).await {
        tracing::error!(%failure, "plugin not loaded; continuing without it");
    }
    fleet.set_file(file.clone()).await;
    // Configuration and uploaded versions the fleet sets apply before jobs start.
    if let Err(error) = fleet.sync().await {
        tracing::error!(%error, "reading the plugin registry failed; following it from now on");
    }
    fleet.follow(Some(database_url));
    let watcher = match PluginWatcher::start(runtime.clone(), &file.plugin_dir) {
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
    let file_watcher = match fleet.watch_file() {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            tracing::warn!(file = %file.source.display(), %error, "plugins.toml changes apply at restart only");
            None
        }
    };
    (pipeline.start(), (watcher, file_watcher))
}

/// On an empty database, creates tenant `default` and prints its API key (once: only its digest
/// is stored), so a fresh `make run` can be used at once. The key goes to stdout alone, never
/// through `tracing`: logs (stderr, and whatever collects them) must not carry it.
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
    // Written whole in one call, and a closed stdout (a supervisor that stopped reading) is not
    // a reason to stop the host.
    let message = format!(
        "\nCreated tenant `default`. Its API key (shown once):\n\n  {key}\n\n\
         Try: curl -H 'Authorization: Bearer {key}' {public_url}/v1/connections\n\n"
    );
    let mut out = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut out, message.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut out));
    Ok(())
}

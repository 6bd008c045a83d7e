//! Runs connector components: one engine, one pre-instantiated component per plugin version,
//! a fresh store per call under fuel, memory, deadline and concurrency limits, and hot swap.

pub mod bounds;
mod cache;
mod call;
mod egress;
mod engine;
mod error;
mod invoke;
mod load;
mod pool;
mod precheck;
mod registry;
mod sealed;
mod state;
mod usage;
mod watch;
pub mod wit;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub use egress::{Held, HoldScope, TenantCeilings};
pub use engine::{Allocation, EPOCH_TICK, FUEL_YIELD_INTERVAL};
pub use error::{CallError, LoadError, LoadProblem};
pub use invoke::{Answer, Invocation, Reply};
pub use load::{SDK_COMPATIBILITY, sdk_supported};
pub use pool::POOL_MARGIN;
pub use precheck::{CONNECTOR_EXPORT, SERVED_CONTRACTS};
pub use registry::{LoadedPlugin, MANIFEST_DEADLINE, PluginSlot, PluginStatus, SlotConfig};
pub use sealed::SealedManifest;
pub use state::{CAPTURED_OUTPUT_BYTES, CallState};
pub use usage::{FuelLedger, Usage};
pub use watch::{DEBOUNCE, PluginWatcher};

use crate::capability::http::{Budget, EgressMetrics, LocalRateLimiter, RateLimiter};
use crate::capability::memory::{DEFAULT_HOST_MEMORY_BYTES, HostMemoryPool};
use crate::capability::queue::{Continuation, JobSink, MemoryJobSink, QueueLimits};
use crate::capability::vault::{MemorySecretStore, SecretStore};
use crate::config::{PluginEntry, PluginsFile};
use crate::jobs::{Clock, SystemClock};
use cache::ArtifactCache;
use registry::Registry;

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Instance allocation strategy.
    pub allocation: Allocation,
    /// Calls one tenant may run at once, across plugins.
    pub tenant_concurrency: usize,
    /// Continuation caps.
    pub queue: QueueLimits,
    /// Egress requests one tenant may send across plugins and connections, unless the tenant
    /// has a ceiling of its own ([`Runtime::tenant_ceilings`]).
    pub tenant_rate: Option<Budget>,
    /// Fuel metering (on by default). Off, calls are bounded by the epoch deadline, memory and
    /// stack only — no fuel budget, no fuel-based yielding, `fuel_used` 0. For measuring what
    /// metering costs; production keeps it on.
    pub fuel_metering: bool,
    /// Bytes the host may hold on behalf of all running calls together (see
    /// [`crate::capability::memory`]); a call whose charge does not fit answers `busy`.
    pub host_memory_bytes: usize,
    /// Longest a component may take to compile before its load is refused.
    pub compile_budget: std::time::Duration,
    /// Components compiled at once; more loads wait their turn.
    pub max_concurrent_compiles: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            cache_dir: None,
            allocation: Allocation::OnDemand,
            tenant_concurrency: 64,
            queue: QueueLimits::default(),
            // A ceiling against one tenant crowding out the others; each platform's own budget
            // (much lower per connection) binds first in normal use.
            tenant_rate: Some(Budget::per_seconds(100, 1)),
            fuel_metering: true,
            host_memory_bytes: DEFAULT_HOST_MEMORY_BYTES,
            // A connector compiles in seconds (a debug build of the host in tens of seconds);
            // two minutes is far past any honest component.
            compile_budget: std::time::Duration::from_secs(120),
            max_concurrent_compiles: 2,
        }
    }
}

/// The backends the capabilities use.
#[derive(Clone)]
pub struct HostServices {
    /// Connection secrets.
    pub secrets: Arc<dyn SecretStore>,
    /// Recovery points of jobs.
    pub jobs: Arc<dyn JobSink>,
    /// Egress rate buckets.
    pub rate: Arc<dyn RateLimiter>,
    /// Egress metrics.
    pub egress_metrics: Arc<EgressMetrics>,
    /// The time guests read from WASI's wall clock: the host's own, so a token expiry a
    /// connector computes and the host's judgement of it use one time source.
    pub clock: Arc<dyn Clock>,
}

impl HostServices {
    /// In-memory backends: for tests and tools that run no jobs.
    pub fn in_memory() -> Self {
        HostServices {
            secrets: Arc::new(MemorySecretStore::default()),
            jobs: Arc::new(MemoryJobSink::default()),
            rate: Arc::new(LocalRateLimiter::default()),
            egress_metrics: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// A call's answer with what the host learned running it.
#[derive(Debug)]
pub struct Served<T> {
    /// The connector's answer.
    pub answer: T,
    /// The plugin version that served the call.
    pub version: Arc<str>,
    /// Fuel the call consumed.
    pub fuel_used: u64,
    /// The largest the guest's linear memory grew to during the call, in bytes.
    pub memory_peak: usize,
    /// Continuations the call enqueued, for the job pipeline to store.
    pub continuations: Vec<Continuation>,
    /// The last recovery point the call recorded, if it recorded one.
    pub recovery_point: Option<String>,
}

/// The connector runtime. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    cache: ArtifactCache,
    registry: Registry,
    services: HostServices,
    settings: RuntimeSettings,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    ceilings: TenantCeilings,
    fuel: FuelLedger,
    memory_pool: Arc<HostMemoryPool>,
    compiles: Arc<Semaphore>,
    /// One permit per pooled instance (and the pool's size), when the engine pools.
    instance_slots: Option<(Arc<Semaphore>, usize)>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    /// Builds the engine and the linker (locked-down WASI plus the four capabilities).
    pub fn new(settings: RuntimeSettings, services: HostServices) -> wasmtime::Result<Self> {
        let engine = pool::engine(&settings)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wit::add_capabilities(&mut linker)?;
        let cache = ArtifactCache::new(
            settings.cache_dir.clone(),
            engine::compatibility_hash(&engine),
        );
        Ok(Runtime {
            _ticker: engine::EpochTicker::start(engine.clone()),
            engine,
            linker,
            cache,
            registry: Registry::default(),
            services,
            memory_pool: HostMemoryPool::new(settings.host_memory_bytes),
            compiles: Arc::new(Semaphore::new(settings.max_concurrent_compiles.max(1))),
            instance_slots: pool::instance_slots(&settings.allocation),
            settings,
            tenants: Mutex::new(HashMap::new()),
            ceilings: TenantCeilings::default(),
            fuel: FuelLedger::default(),
        })
    }

    /// Configures every plugin of `file` and loads their components concurrently (compiles
    /// are capped by `max_concurrent_compiles`). Returns the load failures; plugins that failed
    /// stay configured without a version (calls answer `NotLoaded`) and every other plugin
    /// serves. Every plugin is configured — and reported as loading — before the first load
    /// begins.
    pub async fn configure(&self, file: &PluginsFile) -> Vec<LoadError> {
        let mut ids = Vec::new();
        let mut failures = Vec::new();
        for entry in &file.plugins {
            match self.configure_slot(entry.clone()) {
                Ok(id) => ids.push(id),
                Err(error) => failures.push(error),
            }
        }
        let loads = ids.iter().map(|id| self.reload(id));
        failures.extend(
            futures::future::join_all(loads)
                .await
                .into_iter()
                .filter_map(Result::err),
        );
        failures
    }

    fn configure_slot(&self, entry: PluginEntry) -> Result<String, LoadError> {
        let path = entry.path.clone();
        self.check_entry(&entry).map_err(|why| LoadError {
            path: path.clone(),
            problem: LoadProblem::BadManifest(format!("configuration: {why}")),
        })?;
        let config = SlotConfig::new(entry).map_err(|e| LoadError {
            path,
            problem: LoadProblem::BadManifest(format!("configuration: {e}")),
        })?;
        let id = config.entry.id.clone();
        self.registry.upsert(config);
        Ok(id)
    }

    /// Applies a changed configuration of a plugin without a restart: calls that start from now
    /// on use it (grants, limits, settings, secrets, tenants, rate limits). A new plugin, or one
    /// whose component or path changed, loads its component (an uploaded version stays pinned).
    pub async fn reconfigure(&self, entry: PluginEntry) -> Result<PluginStatus, LoadError> {
        let same_component = self.registry.get(&entry.id).is_some_and(|slot| {
            let config = slot.config.load();
            config.entry.path == entry.path && config.entry.component == entry.component
        });
        let id = self.configure_slot(entry)?;
        if same_component {
            Ok(self.slot(&id)?.status())
        } else {
            self.reload(&id).await
        }
    }

    /// Configures one plugin and loads its component from `entry.path`.
    pub async fn configure_plugin(&self, entry: PluginEntry) -> Result<PluginStatus, LoadError> {
        let id = self.configure_slot(entry)?;
        self.reload(&id).await
    }

    /// Reads the plugin's component file again and installs it if it validates — unless the
    /// plugin serves a version uploaded through the admin API, which the fleet registry
    /// ([`crate::fleet`]) pins until a rollback returns it to the file.
    pub async fn reload(&self, id: &str) -> Result<PluginStatus, LoadError> {
        let slot = self.slot(id)?;
        if slot.uploaded.load(std::sync::atomic::Ordering::Acquire) {
            tracing::info!(
                plugin = id,
                "the component file changed; the uploaded version keeps serving"
            );
            return Ok(slot.status());
        }
        self.reload_file(id).await
    }

    /// Reads the plugin's component file and installs it, ending an upload's pin.
    pub async fn reload_file(&self, id: &str) -> Result<PluginStatus, LoadError> {
        let slot = self.slot(id)?;
        let path = slot.config.load().entry.path.clone();
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(error) => {
                let error = LoadError {
                    path,
                    problem: LoadProblem::Unreadable(error.to_string()),
                };
                slot.record_error(error.clone());
                tracing::error!(plugin = id, %error, "plugin not loaded");
                return Err(error);
            }
        };
        let installed = self.install_bytes(&slot, bytes, path).await;
        if installed.is_ok() {
            slot.uploaded
                .store(false, std::sync::atomic::Ordering::Release);
        }
        installed
    }

    fn slot(&self, id: &str) -> Result<Arc<PluginSlot>, LoadError> {
        self.registry.get(id).ok_or_else(|| LoadError {
            path: PathBuf::from(id),
            problem: LoadProblem::Unreadable(format!("plugin `{id}` is not configured")),
        })
    }

    /// Validates `bytes` as a version of plugin `id` without installing it (an upload is
    /// checked before it is stored for the fleet).
    pub async fn validate_upload(
        &self,
        id: &str,
        bytes: Vec<u8>,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let slot = self.slot(id)?;
        let config = slot.config.load_full();
        self.prepare(&config, bytes, PathBuf::from("<upload>"))
            .await
    }

    /// Marks the version of `id` serving now as the uploaded one (it was uploaded with the same
    /// bytes), so file changes no longer replace it.
    pub fn pin_uploaded(&self, id: &str) {
        if let Ok(slot) = self.slot(id) {
            slot.uploaded
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// Installs an uploaded version of `id` (from the fleet registry); the component file no
    /// longer replaces it until [`Runtime::reload_file`].
    pub async fn install_uploaded(
        &self,
        id: &str,
        bytes: Vec<u8>,
    ) -> Result<PluginStatus, LoadError> {
        let slot = self.slot(id)?;
        let installed = self
            .install_bytes(&slot, bytes, PathBuf::from("<upload>"))
            .await;
        if installed.is_ok() {
            slot.uploaded
                .store(true, std::sync::atomic::Ordering::Release);
        }
        installed
    }

    /// Installs `bytes` as plugin `id`'s new version, as the admin API's upload does: compiled
    /// and validated off the request path, then swapped in atomically. On failure the serving
    /// version (if any) keeps serving.
    pub async fn install(&self, id: &str, bytes: Vec<u8>) -> Result<PluginStatus, LoadError> {
        let slot = self.registry.get(id).ok_or_else(|| LoadError {
            path: PathBuf::from("<upload>"),
            problem: LoadProblem::Unreadable(format!("plugin `{id}` is not configured")),
        })?;
        self.install_bytes(&slot, bytes, PathBuf::from("<upload>"))
            .await
    }

    async fn install_bytes(
        &self,
        slot: &Arc<PluginSlot>,
        bytes: Vec<u8>,
        source: PathBuf,
    ) -> Result<PluginStatus, LoadError> {
        let _one_at_a_time = slot.install_lock.lock().await;
        let config = slot.config.load_full();
        match self.prepare(&config, bytes, source).await {
            Ok(plugin) => {
                let version = plugin.version.clone();
                let sha = plugin.sha256.clone();
                slot.install(plugin);
                tracing::info!(plugin = %slot.id, %version, sha256 = %sha, "plugin version serving");
                Ok(slot.status())
            }
            Err(error) => {
                tracing::error!(plugin = %slot.id, %error, "plugin version refused; the serving version is unchanged");
                slot.record_error(error.clone());
                Err(error)
            }
        }
    }

    /// Makes the previous version of `id` serve again (and the current one the rollback target).
    pub fn rollback(&self, id: &str) -> Option<PluginStatus> {
        let slot = self.registry.get(id)?;
        let target = slot.rollback()?;
        tracing::info!(plugin = id, version = %target.version, "plugin rolled back");
        Some(slot.status())
    }

    /// The status of `id`.
    pub fn status(&self, id: &str) -> Option<PluginStatus> {
        self.registry.get(id).map(|s| s.status())
    }

    /// The status of every configured plugin.
    pub fn plugins(&self) -> Vec<PluginStatus> {
        self.registry.all().iter().map(|s| s.status()).collect()
    }

    /// The manifest of the version of `id` serving now.
    pub fn manifest(&self, id: &str) -> Option<wit::connector::PluginManifest> {
        Some(self.registry.get(id)?.current()?.manifest.clone())
    }

    /// The configuration of `id`.
    pub fn plugin_config(&self, id: &str) -> Option<Arc<SlotConfig>> {
        Some(self.registry.get(id)?.config.load_full())
    }

    /// Where connection secrets live (the vault's backend), for host-owned secrets kept beside
    /// them under scopes no plugin can have.
    pub fn secrets(&self) -> &Arc<dyn SecretStore> {
        &self.services.secrets
    }

    /// Egress metrics per plugin.
    pub fn egress_metrics(&self) -> &EgressMetrics {
        &self.services.egress_metrics
    }

    /// Host memory held for running calls now, and the ceiling.
    pub fn host_memory(&self) -> (usize, usize) {
        (self.memory_pool.used(), self.memory_pool.ceiling())
    }

    /// Fuel spent so far, per tenant and plugin.
    pub fn fuel(&self) -> &FuelLedger {
        &self.fuel
    }

    /// The configured component path of every plugin (what the watcher watches).
    pub fn plugin_paths(&self) -> Vec<(String, PathBuf)> {
        self.registry
            .all()
            .iter()
            .map(|s| (s.id.clone(), s.config.load().entry.path.clone()))
            .collect()
    }

    /// The plugins whose component lives at `path` (several when entries share a component;
    /// paths compared after resolving links and relative parts of their directories; the file
    /// itself may be mid-replace).
    pub fn plugins_at(&self, path: &Path) -> Vec<String> {
        let wanted = comparable(path);
        self.plugin_paths()
            .into_iter()
            .filter(|(_, p)| comparable(p) == wanted)
            .map(|(id, _)| id)
            .collect()
    }
}

fn comparable(path: &Path) -> Option<(PathBuf, std::ffi::OsString)> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Some((
        std::fs::canonicalize(dir).ok()?,
        path.file_name()?.to_os_string(),
    ))
}

//! Loaded plugins: per plugin, the version serving now, the one before it, and the slot's
//! concurrency permits. Swapping is one atomic pointer store; a call holds an `Arc` to the
//! version it started on, so it finishes there whatever happens to the slot meanwhile.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::Semaphore;

use super::error::LoadError;
use super::wit::connector::PluginManifest;
use super::wit::{ConnectorPre, ContractVersion};
use crate::capability::http::EgressPolicy;
use crate::config::PluginEntry;

/// One validated version of a plugin, ready to instantiate.
pub struct LoadedPlugin {
    /// What `manifest()` answered during validation.
    pub manifest: PluginManifest,
    /// The component's version, shared into every call's log fields.
    pub version: Arc<str>,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// Where the bytes came from.
    pub source: PathBuf,
    /// When this version was validated.
    pub loaded_at: SystemTime,
    pub(crate) pre: ConnectorPre,
}

/// The configuration a slot serves with, prepared once per configuration change.
pub struct SlotConfig {
    /// The entry from `plugins.toml`.
    pub entry: PluginEntry,
    /// Its egress grants, parsed.
    pub policy: Arc<EgressPolicy>,
    /// Its app settings.
    pub settings: Arc<BTreeMap<String, String>>,
    /// Its app secrets' sources.
    pub secrets: Arc<BTreeMap<String, crate::config::SecretSource>>,
    /// Its HTTP client (resolver guarded with its allowed ranges).
    pub client: reqwest::Client,
}

impl SlotConfig {
    /// Prepares `entry`. Fails only on grants `PluginsFile` would already have refused.
    pub fn new(entry: PluginEntry) -> Result<Self, String> {
        let policy = Arc::new(EgressPolicy::new(
            &entry.allowed_hosts,
            &entry.allowed_ranges,
        )?);
        Ok(SlotConfig {
            client: crate::capability::http::client(&policy),
            settings: Arc::new(entry.settings.clone()),
            secrets: Arc::new(entry.secrets.clone()),
            policy,
            entry,
        })
    }
}

/// The deadline of the `manifest()` self-check, whatever the plugin's own deadline: it must
/// answer without I/O, so anything slower is a component that cannot serve.
pub const MANIFEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

impl SlotConfig {
    /// The configuration `manifest()` is validated under: the plugin's limits with a deadline of
    /// at most [`MANIFEST_DEADLINE`], no egress grant and no app secrets.
    pub fn for_validation(&self) -> SlotConfig {
        let mut entry = self.entry.clone();
        entry.limits.deadline = entry.limits.deadline.min(MANIFEST_DEADLINE);
        let policy = Arc::new(EgressPolicy::new(&[], &[]).expect("no grants to parse"));
        SlotConfig {
            client: crate::capability::http::client(&policy),
            settings: self.settings.clone(),
            secrets: Arc::default(),
            policy,
            entry,
        }
    }
}

/// One configured plugin.
pub struct PluginSlot {
    /// The plugin id.
    pub id: String,
    pub(crate) config: ArcSwap<SlotConfig>,
    current: ArcSwapOption<LoadedPlugin>,
    previous: Mutex<Option<Arc<LoadedPlugin>>>,
    last_error: Mutex<Option<LoadError>>,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) max_concurrency: std::sync::atomic::AtomicUsize,
    swaps: AtomicU64,
    /// True from configuration until the first load attempt ended (served or refused).
    loading: AtomicBool,
    /// Serializes installs of this plugin, so validation of two uploads cannot interleave.
    pub(crate) install_lock: tokio::sync::Mutex<()>,
    /// Serving a version uploaded through the admin API: file changes do not replace it.
    pub(crate) uploaded: AtomicBool,
}

impl PluginSlot {
    fn new(config: SlotConfig) -> Self {
        let max = config.entry.limits.max_concurrency;
        PluginSlot {
            id: config.entry.id.clone(),
            config: ArcSwap::from_pointee(config),
            current: ArcSwapOption::empty(),
            previous: Mutex::new(None),
            last_error: Mutex::new(None),
            permits: Arc::new(Semaphore::new(max)),
            max_concurrency: std::sync::atomic::AtomicUsize::new(max),
            swaps: AtomicU64::new(0),
            loading: AtomicBool::new(true),
            install_lock: tokio::sync::Mutex::new(()),
            uploaded: AtomicBool::new(false),
        }
    }

    /// The version serving now.
    pub fn current(&self) -> Option<Arc<LoadedPlugin>> {
        self.current.load_full()
    }

    /// Makes `plugin` the serving version; the one it replaces becomes the rollback target.
    pub(crate) fn install(&self, plugin: Arc<LoadedPlugin>) {
        let replaced = self.current.swap(Some(plugin));
        if let Some(replaced) = replaced {
            *self.previous.lock().expect("previous version") = Some(replaced);
            self.swaps.fetch_add(1, Ordering::Relaxed);
        }
        *self.last_error.lock().expect("last error") = None;
        self.loading.store(false, Ordering::Release);
    }

    /// Swaps the serving and previous versions; `None` when there is no previous version.
    pub(crate) fn rollback(&self) -> Option<Arc<LoadedPlugin>> {
        let mut previous = self.previous.lock().expect("previous version");
        let target = previous.take()?;
        *previous = self.current.swap(Some(target.clone()));
        self.swaps.fetch_add(1, Ordering::Relaxed);
        Some(target)
    }

    pub(crate) fn record_error(&self, error: LoadError) {
        *self.last_error.lock().expect("last error") = Some(error);
        self.loading.store(false, Ordering::Release);
    }

    /// Changes how many calls may run at once: a larger cap admits more at once; a smaller one
    /// takes back free permits now and the rest as running calls end.
    fn resize(&self, max: usize) {
        let before = self.max_concurrency.swap(max, Ordering::AcqRel);
        if max > before {
            self.permits.add_permits(max - before);
        } else if before > max {
            let mut owed = before - max;
            owed -= self.permits.forget_permits(owed);
            if owed > 0 {
                let permits = self.permits.clone();
                tokio::spawn(async move {
                    if let Ok(taken) = permits.acquire_many(owed as u32).await {
                        taken.forget();
                    }
                });
            }
        }
    }

    /// Calls of this plugin running now.
    pub fn running(&self) -> usize {
        self.max_concurrency
            .load(Ordering::Acquire)
            .saturating_sub(self.permits.available_permits())
    }

    /// A description of the slot for operators.
    pub fn status(&self) -> PluginStatus {
        let current = self.current();
        let previous = self.previous.lock().expect("previous version").clone();
        PluginStatus {
            id: self.id.clone(),
            version: current.as_ref().map(|p| p.version.to_string()),
            contract: current.as_ref().map(|p| p.pre.version()),
            sha256: current.as_ref().map(|p| p.sha256.clone()),
            source: current.as_ref().map(|p| p.source.clone()),
            previous_version: previous.map(|p| p.version.to_string()),
            last_error: self
                .last_error
                .lock()
                .expect("last error")
                .as_ref()
                .map(|e| e.to_string()),
            swaps: self.swaps.load(Ordering::Relaxed),
            running: self.running(),
            loaded_at: current.as_ref().map(|p| p.loaded_at),
            loading: self.loading.load(Ordering::Acquire),
        }
    }
}

/// What an operator sees of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    /// The plugin id.
    pub id: String,
    /// The serving version, if one loaded.
    pub version: Option<String>,
    /// The contract version it was built against.
    pub contract: Option<ContractVersion>,
    /// Its sha256.
    pub sha256: Option<String>,
    /// Where it came from.
    pub source: Option<PathBuf>,
    /// The rollback target's version.
    pub previous_version: Option<String>,
    /// Why the last load failed, if it did (cleared by a successful load).
    pub last_error: Option<String>,
    /// Swaps and rollbacks so far.
    pub swaps: u64,
    /// Calls running now.
    pub running: usize,
    /// When the serving version was installed.
    pub loaded_at: Option<SystemTime>,
    /// Its first load is still under way.
    pub loading: bool,
}

/// Every configured plugin, by id.
#[derive(Default)]
pub struct Registry {
    slots: RwLock<BTreeMap<String, Arc<PluginSlot>>>,
}

impl Registry {
    /// The slot of `id`.
    pub fn get(&self, id: &str) -> Option<Arc<PluginSlot>> {
        self.slots.read().expect("registry").get(id).cloned()
    }

    /// The slot of `config`'s plugin, created if new; an existing slot takes the new
    /// configuration for calls that start from now on.
    pub fn upsert(&self, config: SlotConfig) -> Arc<PluginSlot> {
        let mut slots = self.slots.write().expect("registry");
        match slots.get(&config.entry.id) {
            Some(slot) => {
                slot.resize(config.entry.limits.max_concurrency);
                slot.config.store(Arc::new(config));
                slot.clone()
            }
            None => {
                let slot = Arc::new(PluginSlot::new(config));
                slots.insert(slot.id.clone(), slot.clone());
                slot
            }
        }
    }

    /// Every slot, in id order.
    pub fn all(&self) -> Vec<Arc<PluginSlot>> {
        self.slots
            .read()
            .expect("registry")
            .values()
            .cloned()
            .collect()
    }
}

//! Plugins as fleet state. An upload or a rollback through the admin API is a database change
//! ([`Store::record_upload`], [`Store::record_rollback`]); every replica serves what the
//! registry names. A replica applies a change when PostgreSQL notifies it (`LISTEN` on
//! [`PLUGINS_CHANNEL`]), and checks the registry every [`POLL`] as well, which is how SQLite
//! hosts and a replica whose listener reconnected catch up. At start, the registry is applied
//! once the plugin file's components loaded.
//!
//! Precedence: a plugin with an uploaded version serving runs it on every replica, across
//! restarts, whatever its component file holds; a change to that file is ignored until a
//! rollback makes the file's component serve again (the registry names it as "no digest").
//! A plugin never uploaded serves its file's component, hot-swapped when the file changes.
//! Compiled artifacts stay a local cache, keyed by digest.
//!
//! Configuration is live too. An entry set through the admin API ([`FleetPlugins::set_config`])
//! replaces the file's entry of that id as a whole, on every replica, until it is removed; it
//! can name a plugin the file does not, which then appears on every replica. Editing
//! `plugins.toml` applies on the replica that reads it, when its watcher reports it
//! ([`FleetPlugins::watch_file`]) or at the next poll at the latest: a file
//! with any problem is refused whole, with the reason logged and kept for `GET /admin/config`,
//! and the running configuration stays. A plugin removed from the file keeps serving until the
//! process restarts (its jobs would otherwise fail mid-flight).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{PluginEntry, PluginsFile, SecretSource};
use crate::runtime::{LoadError, LoadProblem, PluginStatus, Runtime};
use crate::store::{
    Backend, Millis, PLUGINS_CHANNEL, PluginConfigRow, PluginVersionRow, Store, StoreError,
    UploadedComponent,
};

/// How often a replica reads the registry even without a notification.
pub const POLL: Duration = Duration::from_secs(5);

/// Why an upload or rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The component does not validate; nothing was stored.
    #[error("{0}")]
    Invalid(LoadError),
    /// The configuration does not parse or validate; nothing was stored.
    #[error("{0}")]
    InvalidConfig(String),
    /// The database failed; nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What this replica has applied of the registry.
#[derive(Default)]
struct Applied {
    /// Generation of each plugin's version row.
    versions: HashMap<String, i64>,
    /// Generation of each plugin's configuration row.
    configs: HashMap<String, i64>,
    /// Plugins whose configuration the admin API sets now.
    overridden: HashSet<String>,
}

/// The plugin file as this replica last read it, and why a later read was refused.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FileState {
    /// The file.
    pub path: PathBuf,
    /// Why the last change to it was refused (the running configuration stayed), if it was.
    pub last_error: Option<String>,
    /// Plugins whose entry the admin API sets, replacing the file's.
    pub overridden: Vec<String>,
}

/// The registry as this replica applies it.
pub struct FleetPlugins {
    store: Store,
    runtime: Arc<Runtime>,
    /// What is applied; one sync at a time.
    applied: tokio::sync::Mutex<Applied>,
    /// The last plugin file read without a problem (entries and plugin directory).
    file: Mutex<PluginsFile>,
    /// The digest of the plugin file as last read, applied or refused (`None` until the host's
    /// file is set). Held while a read is applied, so reads apply one at a time.
    seen: tokio::sync::Mutex<Option<Option<[u8; 32]>>>,
    /// Why the last read of the file was refused.
    file_error: Mutex<Option<String>>,
    /// How many times the registry was read.
    reads: std::sync::atomic::AtomicU64,
}

impl FleetPlugins {
    /// The registry of `store`, applied to `runtime`.
    pub fn new(store: Store, runtime: Arc<Runtime>) -> Arc<Self> {
        Arc::new(FleetPlugins {
            store,
            runtime,
            applied: tokio::sync::Mutex::new(Applied::default()),
            file: Mutex::new(PluginsFile::parse(std::path::Path::new("plugins.toml"), "")),
            seen: tokio::sync::Mutex::new(None),
            file_error: Mutex::new(None),
            reads: Default::default(),
        })
    }

    /// How many times this replica has read the registry since it started.
    pub fn registry_reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The plugin file the host started with (already applied to the runtime); from now on
    /// a change of it is applied ([`FleetPlugins::reload_file_if_changed`]).
    pub async fn set_file(&self, file: PluginsFile) {
        let mut seen = self.seen.lock().await;
        *seen = Some(file.digest);
        *self.file.lock().expect("plugin file") = file;
    }

    /// The plugin file's state, for the admin API.
    pub async fn file_state(&self) -> FileState {
        let mut overridden: Vec<String> = self
            .applied
            .lock()
            .await
            .overridden
            .iter()
            .cloned()
            .collect();
        overridden.sort();
        FileState {
            path: self.file.lock().expect("plugin file").source.clone(),
            last_error: self.file_error.lock().expect("file error").clone(),
            overridden,
        }
    }

    /// Reads the plugin file again when its bytes changed since this host last read it
    /// (applied or refused) and applies it: every entry the admin API does not override is
    /// reconfigured (new plugins load). A file with any problem is refused whole and the
    /// running configuration stays; the reason is returned, logged and kept. `None` when the
    /// bytes did not change, or before the host's file is set. Besides the file watcher, the
    /// registry poll calls it, so a change no watcher reported still applies within [`POLL`]:
    /// one made while the host started, a Kubernetes ConfigMap update (a symlink swap beside
    /// the file), a host whose inotify instances ran out.
    pub async fn reload_file_if_changed(&self) -> Option<Result<usize, String>> {
        let mut seen = self.seen.lock().await;
        let last = (*seen)?;
        let file = PluginsFile::load(&self.file_path());
        if file.digest == last {
            return None;
        }
        Some(self.apply_file(file, &mut seen).await)
    }

    fn file_path(&self) -> PathBuf {
        self.file.lock().expect("plugin file").source.clone()
    }

    async fn apply_file(
        &self,
        file: PluginsFile,
        seen: &mut Option<Option<[u8; 32]>>,
    ) -> Result<usize, String> {
        *seen = Some(file.digest);
        let path = file.source.clone();
        // An entry this host's instance pool cannot serve is a problem of the file too.
        let unfit = file
            .plugins
            .iter()
            .filter_map(|entry| self.runtime.check_entry(entry).err());
        let problems: Vec<String> = file
            .problems
            .iter()
            .map(ToString::to_string)
            .chain(unfit)
            .collect();
        if !problems.is_empty() {
            let why = problems.join("; ");
            tracing::error!(file = %path.display(), problems = %why,
                "the plugin file changed but is refused; the running configuration stays");
            *self.file_error.lock().expect("file error") = Some(why.clone());
            return Err(why);
        }
        *self.file_error.lock().expect("file error") = None;
        *self.file.lock().expect("plugin file") = file.clone();
        let overridden = self.applied.lock().await.overridden.clone();
        let mut applied = 0;
        for entry in file.plugins.iter().filter(|e| !overridden.contains(&e.id)) {
            self.apply_entry(entry.clone()).await;
            applied += 1;
        }
        if let Err(error) = self.sync().await {
            tracing::warn!(%error, "reading the plugin registry failed; trying again");
        }
        tracing::info!(file = %path.display(), plugins = applied, "plugin file applied");
        Ok(applied)
    }

    /// Sets (`Some`, the keys of a `[plugins.<id>]` table as TOML) or removes (`None`) the
    /// configuration of plugin `id` for the fleet, and applies it here. App secrets set this
    /// way must come from the environment (`{ env = "…" }`): the database never holds them.
    pub async fn set_config(
        &self,
        id: &str,
        entry: Option<&str>,
        actor: &str,
        now: Millis,
    ) -> Result<(), FleetError> {
        if let Some(text) = entry {
            let parsed = self
                .parse_entry(id, text)
                .map_err(FleetError::InvalidConfig)?;
            if parsed
                .secrets
                .values()
                .any(|s| matches!(s, SecretSource::Value(_)))
            {
                return Err(FleetError::InvalidConfig(
                    "secrets set through the API name an environment variable ({ env = \"…\" }); values stay out of the database".into(),
                ));
            }
            self.runtime
                .check_entry(&parsed)
                .map_err(FleetError::InvalidConfig)?;
            // A new plugin needs a component to serve: its file here (an upload can follow).
            if self.runtime.status(id).is_none() && !parsed.path.is_file() {
                return Err(FleetError::InvalidConfig(format!(
                    "plugin `{id}` is new and its component {} is not on this host; ship it \
                     with the host (or name an existing file), then upload versions",
                    parsed.path.display()
                )));
            }
        }
        self.store.set_plugin_config(id, entry, actor, now).await?;
        self.sync().await?;
        Ok(())
    }

    /// The entry the admin API set for `id`, if it set one.
    pub async fn config_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .plugin_configs()
            .await?
            .into_iter()
            .find(|r| r.plugin == id)
            .and_then(|r| r.entry))
    }

    /// Plugin `id`'s entry from `text`, read like the file's entries.
    fn parse_entry(&self, id: &str, text: &str) -> Result<PluginEntry, String> {
        if !crate::config::valid_id(id) {
            return Err("plugin ids are 1-64 characters of a-z, 0-9 and '-'".into());
        }
        self.file.lock().expect("plugin file").parse_entry(id, text)
    }

    /// Reconfigures one plugin, logging what fails (the serving version stays).
    async fn apply_entry(&self, entry: PluginEntry) {
        let id = entry.id.clone();
        let new = self.runtime.status(&id).is_none();
        match self.runtime.reconfigure(entry).await {
            Ok(_) if new => tracing::info!(plugin = %id, "new plugin configured"),
            Ok(_) => {}
            Err(error) => tracing::error!(plugin = %id, %error, "plugin configured, not loaded"),
        }
    }

    /// Applies one configuration row of the admin API.
    async fn apply_config(&self, row: &PluginConfigRow, overridden: &mut HashSet<String>) {
        let entry = match &row.entry {
            Some(text) => match self.parse_entry(&row.plugin, text) {
                Ok(entry) => {
                    overridden.insert(row.plugin.clone());
                    Some(entry)
                }
                Err(error) => {
                    tracing::error!(plugin = %row.plugin, %error, "the fleet's configuration does not apply here");
                    None
                }
            },
            None => {
                overridden.remove(&row.plugin);
                let file = self.file.lock().expect("plugin file");
                file.plugin(&row.plugin).cloned()
            }
        };
        if let Some(entry) = entry {
            self.apply_entry(entry).await;
        }
    }

    /// Validates `bytes` as plugin `id`'s new version, stores it for the fleet and applies it
    /// here. Other replicas follow within seconds.
    pub async fn upload(
        &self,
        id: &str,
        bytes: Vec<u8>,
        actor: &str,
        now: Millis,
    ) -> Result<PluginStatus, FleetError> {
        let validated = self
            .runtime
            .validate_upload(id, bytes.clone())
            .await
            .map_err(FleetError::Invalid)?;
        let component = UploadedComponent {
            sha256: hex::encode(Sha256::digest(&bytes)),
            version: validated.version.to_string(),
            size_bytes: bytes.len() as i64,
            uploaded_by: actor.to_string(),
            uploaded_at: now,
        };
        drop(validated);
        self.store
            .record_upload(id, &component, &bytes, now)
            .await?;
        self.sync().await?;
        self.status(id)
    }

    /// Makes the previous version of `id` serve on every replica. `Ok(None)` when the
    /// registry holds no version of it.
    pub async fn rollback(
        &self,
        id: &str,
        actor: &str,
        now: Millis,
    ) -> Result<Option<PluginStatus>, FleetError> {
        match self.store.record_rollback(id, actor, now).await? {
            Some(_) => {
                self.sync().await?;
                self.status(id).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The registry's row for `id`, if it has one.
    pub async fn row(&self, id: &str) -> Result<Option<PluginVersionRow>, StoreError> {
        Ok(self
            .store
            .plugin_versions()
            .await?
            .into_iter()
            .find(|r| r.plugin == id))
    }

    /// Applies every registry change this replica has not applied yet; returns how many. A
    /// version that does not load here is recorded on its plugin (seen in `/admin/plugins`)
    /// and not tried again until the next change; a database failure is tried again.
    pub async fn sync(&self) -> Result<usize, StoreError> {
        let mut applied = self.applied.lock().await;
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut changed = 0;
        // Tenants' own egress ceilings travel with the registry: the same notification, the
        // same poll.
        self.runtime
            .tenant_ceilings()
            .replace(self.store.tenant_egress_ceilings().await?);
        for row in self.store.plugin_configs().await? {
            if applied.configs.get(&row.plugin) == Some(&row.generation) {
                continue;
            }
            let mut overridden = std::mem::take(&mut applied.overridden);
            self.apply_config(&row, &mut overridden).await;
            applied.overridden = overridden;
            applied.configs.insert(row.plugin.clone(), row.generation);
            changed += 1;
        }
        for row in self.store.plugin_versions().await? {
            if applied.versions.get(&row.plugin) == Some(&row.generation) {
                continue;
            }
            let Some(status) = self.runtime.status(&row.plugin) else {
                // Not configured on this replica: nothing to serve it with.
                continue;
            };
            let outcome = match &row.serving {
                Some(sha) if status.sha256.as_deref() == Some(sha.as_str()) => {
                    self.runtime.pin_uploaded(&row.plugin);
                    Ok(())
                }
                Some(sha) => {
                    let bytes = self.store.plugin_component(sha).await?;
                    self.runtime
                        .install_uploaded(&row.plugin, bytes)
                        .await
                        .map(drop)
                }
                None => self.runtime.reload_file(&row.plugin).await.map(drop),
            };
            if let Err(error) = outcome {
                tracing::error!(plugin = %row.plugin, generation = row.generation, %error,
                    "the fleet's plugin version does not load here; the serving version stays");
            }
            applied.versions.insert(row.plugin.clone(), row.generation);
            changed += 1;
        }
        Ok(changed)
    }

    /// Keeps this replica in step with the registry until the task is dropped: woken by
    /// PostgreSQL notifications (`database_url` on PostgreSQL), and every [`POLL`].
    pub fn follow(self: &Arc<Self>, database_url: Option<String>) -> tokio::task::JoinHandle<()> {
        let fleet = self.clone();
        let (wake, mut woken) = tokio::sync::mpsc::channel::<()>(1);
        if let Some(url) = database_url.filter(|_| fleet.store.backend() == Backend::Postgres) {
            tokio::spawn(listen(url, wake));
        }
        tokio::spawn(async move {
            loop {
                // Without a listener (SQLite) or once it is gone, the channel is closed and
                // answers at once: then only the poll paces the loop.
                if let Ok(None) = tokio::time::timeout(POLL, woken.recv()).await {
                    tokio::time::sleep(POLL).await;
                }
                if let Err(error) = fleet.sync().await {
                    tracing::warn!(%error, "reading the plugin registry failed; trying again");
                }
                // Outcomes are logged and kept by the read itself.
                let _ = fleet.reload_file_if_changed().await;
            }
        })
    }

    fn status(&self, id: &str) -> Result<PluginStatus, FleetError> {
        self.runtime.status(id).ok_or_else(|| {
            FleetError::Invalid(LoadError {
                path: id.into(),
                problem: LoadProblem::Unreadable(format!("plugin `{id}` is not configured")),
            })
        })
    }
}

impl FleetPlugins {
    /// Watches the plugin file and applies it when it changes (after the writes settle), until
    /// the returned watcher is dropped.
    pub fn watch_file(self: &Arc<Self>) -> notify::Result<notify::RecommendedWatcher> {
        use notify::{EventKind, RecursiveMode, Watcher};

        let path = self.file_path();
        let name = path.file_name().map(ToOwned::to_owned);
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_))
                    && event.paths.iter().any(|p| p.file_name() == name.as_deref())
                {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        let fleet = self.clone();
        tokio::spawn(async move {
            // A change made before the watch began (while the plugins loaded) is applied now.
            let _ = fleet.reload_file_if_changed().await;
            while rx.recv().await.is_some() {
                // Debounce: wait until the file is quiet.
                while let Ok(Some(())) =
                    tokio::time::timeout(crate::runtime::DEBOUNCE, rx.recv()).await
                {
                }
                let _ = fleet.reload_file_if_changed().await;
            }
        });
        Ok(watcher)
    }
}

/// Forwards registry notifications to `wake`, reconnecting after a failure.
async fn listen(url: String, wake: tokio::sync::mpsc::Sender<()>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(PLUGINS_CHANNEL).await {
                    tracing::warn!(%error, "listening for plugin changes failed");
                } else {
                    while listener.recv().await.is_ok() {
                        // A full channel already holds a wake-up.
                        let _ = wake.try_send(());
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "listening for plugin changes failed"),
        }
        if wake.is_closed() {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

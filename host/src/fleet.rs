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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::runtime::{LoadError, LoadProblem, PluginStatus, Runtime};
use crate::store::{
    Backend, Millis, PLUGINS_CHANNEL, PluginVersionRow, Store, StoreError, UploadedComponent,
};

/// How often a replica reads the registry even without a notification.
pub const POLL: Duration = Duration::from_secs(5);

/// Why an upload or rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The component does not validate; nothing was stored.
    #[error("{0}")]
    Invalid(LoadError),
    /// The database failed; nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registry as this replica applies it.
pub struct FleetPlugins {
    store: Store,
    runtime: Arc<Runtime>,
    /// The generation applied per plugin; one sync at a time.
    applied: tokio::sync::Mutex<HashMap<String, i64>>,
}

impl FleetPlugins {
    /// The registry of `store`, applied to `runtime`.
    pub fn new(store: Store, runtime: Arc<Runtime>) -> Arc<Self> {
        Arc::new(FleetPlugins {
            store,
            runtime,
            applied: tokio::sync::Mutex::new(HashMap::new()),
        })
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
        let mut changed = 0;
        for row in self.store.plugin_versions().await? {
            if applied.get(&row.plugin) == Some(&row.generation) {
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
            applied.insert(row.plugin.clone(), row.generation);
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
                let _ = tokio::time::timeout(POLL, woken.recv()).await;
                if let Err(error) = fleet.sync().await {
                    tracing::warn!(%error, "reading the plugin registry failed; trying again");
                }
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

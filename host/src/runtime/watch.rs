//! Hot swap from the plugin directory: a changed `.wasm` is reloaded after the writes settle.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::Runtime;

/// How long the directory must stay quiet after a change before the plugin is reloaded:
/// long enough for `cp` or a build to finish writing, short enough to feel immediate.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Watches a directory and reloads the plugins whose component changed. Stops when dropped.
pub struct PluginWatcher {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl PluginWatcher {
    /// Starts watching `dir` for `runtime`'s plugins. Must be called inside a tokio runtime.
    pub fn start(runtime: Arc<Runtime>, dir: &Path) -> notify::Result<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_))
                {
                    for path in event.paths {
                        let _ = tx.send(path);
                    }
                }
            })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut changed = BTreeSet::from([first]);
                // Debounce: keep collecting until the directory is quiet.
                while let Ok(Some(path)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    changed.insert(path);
                }
                for path in changed {
                    for id in runtime.plugins_at(&path) {
                        // Failures are logged by `reload`; the serving version stays.
                        let _ = runtime.reload(&id).await;
                    }
                }
            }
        });
        Ok(PluginWatcher {
            _watcher: watcher,
            task,
        })
    }
}

impl Drop for PluginWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

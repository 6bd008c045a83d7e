//! The fleet's plugin registry as database state: uploaded components (content-addressed by
//! sha256, with who uploaded them and when) and the version each plugin serves. Changes notify
//! the other replicas on PostgreSQL (`NOTIFY` on [`PLUGINS_CHANNEL`], delivered at commit).

use sqlx::Row;

use super::tenants::audit;
use super::{Backend, Millis, Store, StoreError};

/// The tenant the audit log files host-wide changes under (plugin uploads, rollbacks and
/// configuration): `GET /admin/audit?tenant=_host` lists them.
pub const HOST_TENANT: &str = "_host";

/// The PostgreSQL channel a registry change is announced on (the payload is the plugin id).
pub const PLUGINS_CHANNEL: &str = "postd_plugins";

/// Which version a plugin serves, fleet-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginVersionRow {
    /// The plugin.
    pub plugin: String,
    /// The uploaded component serving (its sha256); `None`: the `plugins.toml` file's.
    pub serving: Option<String>,
    /// The rollback target, in the same terms.
    pub previous: Option<String>,
    /// Grows with every change.
    pub generation: i64,
    /// Who made the last change (`admin`, `cli`).
    pub changed_by: String,
    /// When (Unix ms).
    pub changed_at: Millis,
}

/// An uploaded component, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedComponent {
    /// Its sha256 (hex).
    pub sha256: String,
    /// The version its manifest declares.
    pub version: String,
    /// Its size.
    pub size_bytes: i64,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When (Unix ms).
    pub uploaded_at: Millis,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// A write transaction on the registry: on PostgreSQL it first takes a transaction-scoped
    /// advisory lock, so two replicas changing plugins at once apply one after the other
    /// (SQLite's `BEGIN IMMEDIATE` already does).
    async fn begin_registry(&self) -> Result<Tx, StoreError> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::TEXT")
                .bind(PLUGINS_CHANNEL)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("locking the plugin registry"))?;
        }
        Ok(tx)
    }

    /// Stores an uploaded component (once per digest) and makes it the version `plugin` serves;
    /// what served before becomes the rollback target. Announced to the other replicas.
    pub async fn record_upload(
        &self,
        plugin: &str,
        component: &UploadedComponent,
        bytes: &[u8],
        now: Millis,
    ) -> Result<PluginVersionRow, StoreError> {
        let mut tx = self.begin_registry().await?;
        sqlx::query(
            "INSERT INTO plugin_components (sha256, bytes, size_bytes, version, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&component.sha256)
        .bind(bytes)
        .bind(component.size_bytes)
        .bind(&component.version)
        .bind(&component.uploaded_by)
        .bind(component.uploaded_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("storing an uploaded component"))?;
        let before = version_row(&mut tx, plugin).await?;
        let (previous, generation) = match &before {
            // The same component again changes nothing but the generation.
            Some(row) if row.serving.as_deref() == Some(&component.sha256) => {
                (row.previous.clone(), row.generation + 1)
            }
            Some(row) => (row.serving.clone(), row.generation + 1),
            None => (None, 1),
        };
        let row = PluginVersionRow {
            plugin: plugin.to_string(),
            serving: Some(component.sha256.clone()),
            previous,
            generation,
            changed_by: component.uploaded_by.clone(),
            changed_at: now,
        };
        let detail = format!(
            "version={} sha256={} size_bytes={}",
            component.version, component.sha256, component.size_bytes
        );
        self.write_version(tx, &row, "plugin.uploaded", &detail)
            .await?;
        Ok(row)
    }

    /// Swaps the serving and previous versions of `plugin`; `None` when the registry holds no
    /// version of it (nothing was ever uploaded). Announced to the other replicas.
    pub async fn record_rollback(
        &self,
        plugin: &str,
        actor: &str,
        now: Millis,
    ) -> Result<Option<PluginVersionRow>, StoreError> {
        let mut tx = self.begin_registry().await?;
        let Some(before) = version_row(&mut tx, plugin).await? else {
            return Ok(None);
        };
        let row = PluginVersionRow {
            plugin: plugin.to_string(),
            serving: before.previous,
            previous: before.serving,
            generation: before.generation + 1,
            changed_by: actor.to_string(),
            changed_at: now,
        };
        let detail = format!(
            "serving={}",
            row.serving.as_deref().unwrap_or("plugins.toml")
        );
        self.write_version(tx, &row, "plugin.rolled-back", &detail)
            .await?;
        Ok(Some(row))
    }

    /// Every plugin's registry row.
    pub async fn plugin_versions(&self) -> Result<Vec<PluginVersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT plugin, serving_sha256, previous_sha256, generation, changed_by, changed_at
             FROM plugin_versions ORDER BY plugin",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("reading the plugin registry"))?;
        Ok(rows.iter().map(row_from).collect())
    }

    /// An uploaded component's bytes.
    pub async fn plugin_component(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let bytes: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT bytes FROM plugin_components WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db("reading an uploaded component"))?;
        bytes.ok_or_else(|| StoreError::not_found("component", sha256))
    }

    /// What is known of an uploaded component, without its bytes.
    pub async fn uploaded_component(
        &self,
        sha256: &str,
    ) -> Result<Option<UploadedComponent>, StoreError> {
        let row = sqlx::query(
            "SELECT sha256, version, size_bytes, uploaded_by, uploaded_at FROM plugin_components
             WHERE sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("reading an uploaded component"))?;
        Ok(row.map(|r| UploadedComponent {
            sha256: r.get("sha256"),
            version: r.get("version"),
            size_bytes: r.get("size_bytes"),
            uploaded_by: r.get("uploaded_by"),
            uploaded_at: r.get("uploaded_at"),
        }))
    }

    /// Writes `row` with its audit entry (`action`, `detail`), announces it and commits.
    async fn write_version(
        &self,
        mut tx: Tx,
        row: &PluginVersionRow,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO plugin_versions (plugin, serving_sha256, previous_sha256, generation, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (plugin) DO UPDATE SET serving_sha256 = excluded.serving_sha256,
               previous_sha256 = excluded.previous_sha256, generation = excluded.generation,
               changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        )
        .bind(&row.plugin)
        .bind(&row.serving)
        .bind(&row.previous)
        .bind(row.generation)
        .bind(&row.changed_by)
        .bind(row.changed_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("changing the plugin registry"))?;
        audit(
            &mut tx,
            HOST_TENANT,
            row.changed_at,
            &row.changed_by,
            action,
            &row.plugin,
            detail,
        )
        .await?;
        self.announce_and_commit(tx, &row.plugin).await
    }

    /// Tells the other replicas (PostgreSQL `NOTIFY`, sent at commit) and commits.
    async fn announce_and_commit(&self, mut tx: Tx, plugin: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)::TEXT")
                .bind(PLUGINS_CHANNEL)
                .bind(plugin)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("announcing a plugin change"))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing a plugin change"))
    }
}

async fn version_row(tx: &mut Tx, plugin: &str) -> Result<Option<PluginVersionRow>, StoreError> {
    let row = sqlx::query(
        "SELECT plugin, serving_sha256, previous_sha256, generation, changed_by, changed_at
         FROM plugin_versions WHERE plugin = $1",
    )
    .bind(plugin)
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::db("reading the plugin registry"))?;
    Ok(row.as_ref().map(row_from))
}

fn row_from(row: &sqlx::any::AnyRow) -> PluginVersionRow {
    PluginVersionRow {
        plugin: row.get("plugin"),
        serving: row.get("serving_sha256"),
        previous: row.get("previous_sha256"),
        generation: row.get("generation"),
        changed_by: row.get("changed_by"),
        changed_at: row.get("changed_at"),
    }
}

/// A plugin's configuration as the admin API set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfigRow {
    /// The plugin.
    pub plugin: String,
    /// The entry (TOML, the body of a `[plugins.<id>]` table); `None`: the override was
    /// removed and the file's entry applies.
    pub entry: Option<String>,
    /// Grows with every change.
    pub generation: i64,
    /// Who made the last change.
    pub changed_by: String,
    /// When (Unix ms).
    pub changed_at: Millis,
}

impl Store {
    /// Sets (`Some`) or removes (`None`) the admin API's configuration of `plugin`. Announced
    /// to the other replicas.
    pub async fn set_plugin_config(
        &self,
        plugin: &str,
        entry: Option<&str>,
        actor: &str,
        now: Millis,
    ) -> Result<PluginConfigRow, StoreError> {
        let mut tx = self.begin_registry().await?;
        let before: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM plugin_configs WHERE plugin = $1")
                .bind(plugin)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::db("reading plugin configuration"))?;
        let row = PluginConfigRow {
            plugin: plugin.to_string(),
            entry: entry.map(str::to_string),
            generation: before.unwrap_or(0) + 1,
            changed_by: actor.to_string(),
            changed_at: now,
        };
        sqlx::query(
            "INSERT INTO plugin_configs (plugin, entry, generation, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (plugin) DO UPDATE SET entry = excluded.entry,
               generation = excluded.generation, changed_by = excluded.changed_by,
               changed_at = excluded.changed_at",
        )
        .bind(&row.plugin)
        .bind(&row.entry)
        .bind(row.generation)
        .bind(&row.changed_by)
        .bind(row.changed_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("storing plugin configuration"))?;
        let action = if entry.is_some() {
            "plugin.configured"
        } else {
            "plugin.configuration-removed"
        };
        audit(&mut tx, HOST_TENANT, now, actor, action, plugin, "").await?;
        self.announce_and_commit(tx, plugin).await?;
        Ok(row)
    }

    /// Every plugin configuration the admin API set (removed ones included).
    pub async fn plugin_configs(&self) -> Result<Vec<PluginConfigRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT plugin, entry, generation, changed_by, changed_at FROM plugin_configs ORDER BY plugin",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("reading plugin configuration"))?;
        Ok(rows
            .iter()
            .map(|r| PluginConfigRow {
                plugin: r.get("plugin"),
                entry: r.get("entry"),
                generation: r.get("generation"),
                changed_by: r.get("changed_by"),
                changed_at: r.get("changed_at"),
            })
            .collect())
    }
}

//! SQLite: one file, WAL mode, migrations from `migrations/sqlite` embedded in the binary.

use std::path::Path;
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use crate::capability::vault::{SealedSecret, SecretScope, VaultFault, VaultRecords, WrappedKey};

/// The SQLite database of an embedded host.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn fault(operation: &'static str) -> impl Fn(sqlx::Error) -> VaultFault {
    move |source| VaultFault(StoreError { operation, source }.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError {
                operation: "creating the data directory",
                source: sqlx::Error::Io(e),
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|source| StoreError {
                operation: "parsing the database path",
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError {
                operation: "opening the database",
                source,
            })?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this binary carries that the database lacks.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError {
                operation: "migrating",
                source: e.into(),
            })
    }
}

fn key_from_row(row: &sqlx::sqlite::SqliteRow) -> WrappedKey {
    WrappedKey {
        tenant: row.get("tenant"),
        version: row.get::<i64, _>("version") as u32,
        kek_id: row.get("kek_id"),
        wrapped: row.get("wrapped"),
    }
}

fn secret_from_row(row: &sqlx::sqlite::SqliteRow) -> SealedSecret {
    SealedSecret {
        key_version: row.get::<i64, _>("key_version") as u32,
        sealed: row.get("sealed"),
    }
}

#[async_trait::async_trait]
impl VaultRecords for SqliteStore {
    async fn current_key(&self, tenant: &str) -> Result<Option<WrappedKey>, VaultFault> {
        let row =
            sqlx::query("SELECT * FROM vault_keys WHERE tenant = ? ORDER BY version DESC LIMIT 1")
                .bind(tenant)
                .fetch_optional(&self.pool)
                .await
                .map_err(fault("reading the current data key"))?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultFault> {
        let row = sqlx::query("SELECT * FROM vault_keys WHERE tenant = ? AND version = ?")
            .bind(tenant)
            .bind(version as i64)
            .fetch_optional(&self.pool)
            .await
            .map_err(fault("reading a data key"))?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn insert_key(&self, key: WrappedKey) -> Result<WrappedKey, VaultFault> {
        sqlx::query("INSERT INTO vault_keys (tenant, version, kek_id, wrapped) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(&key.tenant)
            .bind(key.version as i64)
            .bind(&key.kek_id)
            .bind(&key.wrapped)
            .execute(&self.pool)
            .await
            .map_err(fault("storing a data key"))?;
        self.key(&key.tenant, key.version)
            .await?
            .ok_or_else(|| VaultFault("a stored data key vanished".into()))
    }

    async fn rewrap_key(
        &self,
        tenant: &str,
        version: u32,
        kek_id: &str,
        wrapped: Vec<u8>,
    ) -> Result<(), VaultFault> {
        let done = sqlx::query(
            "UPDATE vault_keys SET kek_id = ?, wrapped = ?, rotated_at = unixepoch() WHERE tenant = ? AND version = ?",
        )
        .bind(kek_id)
        .bind(wrapped)
        .bind(tenant)
        .bind(version as i64)
        .execute(&self.pool)
        .await
        .map_err(fault("re-wrapping a data key"))?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(VaultFault(format!(
                "no data key v{version} for tenant `{tenant}`"
            )))
        }
    }

    async fn keys(&self) -> Result<Vec<WrappedKey>, VaultFault> {
        let rows = sqlx::query("SELECT * FROM vault_keys ORDER BY tenant, version")
            .fetch_all(&self.pool)
            .await
            .map_err(fault("listing data keys"))?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    async fn secret(
        &self,
        scope: &SecretScope,
        name: &str,
    ) -> Result<Option<SealedSecret>, VaultFault> {
        let row = sqlx::query("SELECT key_version, sealed FROM vault_secrets WHERE tenant = ? AND connection = ? AND name = ?")
            .bind(&scope.tenant)
            .bind(&scope.connection)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(fault("reading a secret"))?;
        Ok(row.as_ref().map(secret_from_row))
    }

    async fn commit(
        &self,
        scope: &SecretScope,
        changes: Vec<(String, Option<SealedSecret>)>,
    ) -> Result<(), VaultFault> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(fault("starting a vault transaction"))?;
        for (name, change) in changes {
            match change {
                Some(secret) => {
                    sqlx::query(
                        "INSERT INTO vault_secrets (tenant, connection, name, key_version, sealed) VALUES (?, ?, ?, ?, ?)
                         ON CONFLICT (tenant, connection, name)
                         DO UPDATE SET key_version = excluded.key_version, sealed = excluded.sealed, updated_at = unixepoch()",
                    )
                    .bind(&scope.tenant)
                    .bind(&scope.connection)
                    .bind(&name)
                    .bind(secret.key_version as i64)
                    .bind(secret.sealed)
                    .execute(&mut *tx)
                    .await
                    .map_err(fault("writing a secret"))?;
                }
                None => {
                    sqlx::query("DELETE FROM vault_secrets WHERE tenant = ? AND connection = ? AND name = ?")
                        .bind(&scope.tenant)
                        .bind(&scope.connection)
                        .bind(&name)
                        .execute(&mut *tx)
                        .await
                        .map_err(fault("deleting a secret"))?;
                }
            }
        }
        tx.commit().await.map_err(fault("committing vault writes"))
    }

    async fn secrets_older_than(
        &self,
        tenant: &str,
        version: u32,
    ) -> Result<Vec<(SecretScope, String, SealedSecret)>, VaultFault> {
        let rows = sqlx::query("SELECT * FROM vault_secrets WHERE tenant = ? AND key_version < ?")
            .bind(tenant)
            .bind(version as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(fault("listing secrets to re-encrypt"))?;
        Ok(rows
            .iter()
            .map(|row| {
                let scope = SecretScope {
                    tenant: row.get("tenant"),
                    connection: row.get("connection"),
                };
                (scope, row.get("name"), secret_from_row(row))
            })
            .collect())
    }

    async fn replace_if_unchanged(
        &self,
        scope: &SecretScope,
        name: &str,
        old: &SealedSecret,
        new: SealedSecret,
    ) -> Result<bool, VaultFault> {
        let done = sqlx::query(
            "UPDATE vault_secrets SET key_version = ?, sealed = ?, updated_at = unixepoch()
             WHERE tenant = ? AND connection = ? AND name = ? AND key_version = ? AND sealed = ?",
        )
        .bind(new.key_version as i64)
        .bind(new.sealed)
        .bind(&scope.tenant)
        .bind(&scope.connection)
        .bind(name)
        .bind(old.key_version as i64)
        .bind(&old.sealed)
        .execute(&self.pool)
        .await
        .map_err(fault("re-encrypting a secret"))?;
        Ok(done.rows_affected() == 1)
    }
}

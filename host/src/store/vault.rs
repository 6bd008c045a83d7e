//! The vault's records: wrapped data keys and sealed secrets (no plaintext ever reaches here).
//!
//! Each secret row carries the plugin that wrote it and the format of its associated data. Rows
//! are read only by their own plugin, and a put never replaces another plugin's row: it fails
//! the commit instead. A row with an empty plugin predates the column and could not be matched
//! to a connection by the migration; it is read and replaced by any plugin (its connection does
//! not exist, so no plugin's call should be running in it).

use sqlx::Row;

use super::{Store, StoreError};
use crate::capability::vault::{SealedSecret, SecretScope, VaultFault, VaultRecords, WrappedKey};

fn fault(operation: &'static str) -> impl Fn(sqlx::Error) -> VaultFault {
    move |source| VaultFault(StoreError::Database { operation, source }.to_string())
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn key_from_row(row: &sqlx::any::AnyRow) -> WrappedKey {
    WrappedKey {
        tenant: row.get("tenant"),
        version: row.get::<i64, _>("version") as u32,
        kek_id: row.get("kek_id"),
        wrapped: row.get("wrapped"),
    }
}

fn secret_from_row(row: &sqlx::any::AnyRow) -> SealedSecret {
    SealedSecret {
        key_version: row.get::<i64, _>("key_version") as u32,
        aad_version: row.get::<i64, _>("aad_version") as u32,
        sealed: row.get("sealed"),
    }
}

#[async_trait::async_trait]
impl VaultRecords for Store {
    async fn current_key(&self, tenant: &str) -> Result<Option<WrappedKey>, VaultFault> {
        let row =
            sqlx::query("SELECT * FROM vault_keys WHERE tenant = $1 ORDER BY version DESC LIMIT 1")
                .bind(tenant)
                .fetch_optional(&self.pool)
                .await
                .map_err(fault("reading the current data key"))?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultFault> {
        let row = sqlx::query("SELECT * FROM vault_keys WHERE tenant = $1 AND version = $2")
            .bind(tenant)
            .bind(version as i64)
            .fetch_optional(&self.pool)
            .await
            .map_err(fault("reading a data key"))?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn insert_key(&self, key: WrappedKey) -> Result<WrappedKey, VaultFault> {
        sqlx::query("INSERT INTO vault_keys (tenant, version, kek_id, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(&key.tenant)
            .bind(key.version as i64)
            .bind(&key.kek_id)
            .bind(&key.wrapped)
            .execute(&self.writer)
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
            "UPDATE vault_keys SET kek_id = $1, wrapped = $2, rotated_at = $5 WHERE tenant = $3 AND version = $4",
        )
        .bind(kek_id)
        .bind(wrapped)
        .bind(tenant)
        .bind(version as i64)
        .bind(unix_seconds())
        .execute(&self.writer)
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
        let row = sqlx::query(
            "SELECT key_version, aad_version, sealed FROM vault_secrets
             WHERE tenant = $1 AND connection = $2 AND name = $3 AND plugin IN ($4, '')",
        )
        .bind(&scope.tenant)
        .bind(&scope.connection)
        .bind(name)
        .bind(&scope.plugin)
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
                    let written = sqlx::query(
                        "INSERT INTO vault_secrets (tenant, connection, name, plugin, key_version, aad_version, sealed, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (tenant, connection, name)
                         DO UPDATE SET plugin = excluded.plugin, key_version = excluded.key_version,
                             aad_version = excluded.aad_version, sealed = excluded.sealed, updated_at = excluded.updated_at
                         WHERE vault_secrets.plugin IN (excluded.plugin, '')",
                    )
                    .bind(&scope.tenant)
                    .bind(&scope.connection)
                    .bind(&name)
                    .bind(&scope.plugin)
                    .bind(secret.key_version as i64)
                    .bind(secret.aad_version as i64)
                    .bind(secret.sealed)
                    .bind(unix_seconds())
                    .execute(&mut *tx)
                    .await
                    .map_err(fault("writing a secret"))?;
                    if written.rows_affected() != 1 {
                        // Dropping the transaction rolls the other changes back.
                        return Err(VaultFault(format!(
                            "secret `{name}` of this connection belongs to another plugin; nothing was written"
                        )));
                    }
                }
                None => {
                    sqlx::query(
                        "DELETE FROM vault_secrets
                         WHERE tenant = $1 AND connection = $2 AND name = $3 AND plugin IN ($4, '')",
                    )
                    .bind(&scope.tenant)
                    .bind(&scope.connection)
                    .bind(&name)
                    .bind(&scope.plugin)
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
        let rows =
            sqlx::query("SELECT * FROM vault_secrets WHERE tenant = $1 AND key_version < $2")
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
                    plugin: row.get("plugin"),
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
            "UPDATE vault_secrets SET key_version = $1, sealed = $2, updated_at = $8, aad_version = $9
             WHERE tenant = $3 AND connection = $4 AND name = $5 AND key_version = $6 AND sealed = $7
             AND plugin = $10",
        )
        .bind(new.key_version as i64)
        .bind(new.sealed)
        .bind(&scope.tenant)
        .bind(&scope.connection)
        .bind(name)
        .bind(old.key_version as i64)
        .bind(&old.sealed)
        .bind(unix_seconds())
        .bind(new.aad_version as i64)
        .bind(&scope.plugin)
        .execute(&self.writer)
        .await
        .map_err(fault("re-encrypting a secret"))?;
        Ok(done.rows_affected() == 1)
    }
}

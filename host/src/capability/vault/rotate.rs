//! Rotation: re-wrap every data key under a new key-encryption key, and optionally re-encrypt a
//! tenant's secrets under a fresh data key. Both steps are idempotent per row, so an interrupted
//! rotation is finished by running it again; no secret is ever unreadable in between, because a
//! row is only replaced by one that decrypts. Re-encryption also seals each secret under the
//! current associated-data format (see [`super::encrypted`]).

use super::VaultFault;
use super::encrypted::{CURRENT_AAD_VERSION, EncryptedSecretStore, secret_aad_as};
use super::records::SealedSecret;

/// What a rotation step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Data keys re-wrapped under the current key-encryption key.
    pub rewrapped: usize,
    /// Data keys that were already wrapped by it.
    pub already_current: usize,
    /// Secrets re-encrypted under a newer data key.
    pub reencrypted: usize,
    /// Secrets skipped because they changed during re-encryption (they are already current).
    pub changed_meanwhile: usize,
}

impl EncryptedSecretStore {
    /// Re-wraps up to `limit` data keys (all when `None`) that the current key-encryption key
    /// did not wrap. The ring must still hold the keys that wrapped them.
    pub async fn rewrap_keys(&self, limit: Option<usize>) -> Result<RotationReport, VaultFault> {
        let current = self.ring().current().clone();
        let mut report = RotationReport::default();
        for key in self.records().keys().await? {
            if key.kek_id == current.id() {
                report.already_current += 1;
                continue;
            }
            if limit.is_some_and(|limit| report.rewrapped >= limit) {
                break;
            }
            let plain = self.unwrap(&key).await?;
            let wrapped = current.wrap(&key.tenant, &plain).await?;
            // Prove the new wrapping opens before replacing the old one.
            let check = current.unwrap(&key.tenant, &wrapped).await?;
            if check.expose() != plain.expose() {
                return Err(VaultFault(format!(
                    "re-wrapped key of `{}` does not round-trip; left as it was",
                    key.tenant
                )));
            }
            self.records()
                .rewrap_key(&key.tenant, key.version, current.id(), wrapped)
                .await?;
            report.rewrapped += 1;
        }
        tracing::info!(?report, kek = current.id(), "data keys re-wrapped");
        Ok(report)
    }

    /// Moves `tenant`'s secrets to a fresh data key version. If an earlier run was interrupted
    /// (some secrets still on older versions), finishes moving them to the newest version
    /// instead of starting another.
    pub async fn reencrypt_tenant(&self, tenant: &str) -> Result<RotationReport, VaultFault> {
        let newest = self.records().current_key(tenant).await?;
        let newest_version = newest.as_ref().map_or(0, |k| k.version);
        let stragglers = self
            .records()
            .secrets_older_than(tenant, newest_version)
            .await?;
        let (version, key) = if newest.is_some() && !stragglers.is_empty() {
            self.current_key(tenant).await?
        } else {
            self.new_key_version(tenant, newest_version + 1).await?
        };
        let mut report = RotationReport::default();
        for (scope, name, old) in self.records().secrets_older_than(tenant, version).await? {
            let plain = self.open(&scope, &name, &old).await?;
            // Moving a secret also moves it to the current associated-data format, unless the
            // record does not say which plugin it belongs to (a leftover of a connection that
            // was never created, from before secrets recorded their plugin).
            let aad_version = if scope.plugin.is_empty() {
                old.aad_version
            } else {
                CURRENT_AAD_VERSION
            };
            let aad = secret_aad_as(aad_version, &scope, &name, version)
                .ok_or_else(|| VaultFault(format!("secret `{name}`: unknown format")))?;
            let sealed = key.seal(&aad, plain.as_bytes());
            let new = SealedSecret {
                key_version: version,
                aad_version,
                sealed,
            };
            if self
                .records()
                .replace_if_unchanged(&scope, &name, &old, new)
                .await?
            {
                report.reencrypted += 1;
            } else {
                report.changed_meanwhile += 1;
            }
        }
        tracing::info!(tenant, version, ?report, "secrets re-encrypted");
        Ok(report)
    }
}

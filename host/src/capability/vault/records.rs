//! What the vault stores: wrapped data keys per tenant and sealed secrets per connection.
//! No plaintext ever reaches a [`VaultRecords`] implementation.
//!
//! A secret is recorded with the plugin of its [`SecretScope`]. An implementation never hands
//! one plugin's secret to another and never lets one plugin's write replace another plugin's
//! secret of the same connection and name (a connection belongs to one plugin, so this only
//! happens when something upstream went wrong); the plugin in the associated data is the second
//! line.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{SecretScope, VaultFault};

/// One version of a tenant's data key, wrapped under a key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The tenant.
    pub tenant: String,
    /// Version, from 1; the highest is the one new secrets are sealed under.
    pub version: u32,
    /// Which key-encryption key wrapped it ([`KeyProvider::id`](super::KeyProvider::id)).
    pub kek_id: String,
    /// The wrapped key.
    pub wrapped: Vec<u8>,
}

/// One secret, sealed under a version of its tenant's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The data key version.
    pub key_version: u32,
    /// The format of the associated data it was sealed with
    /// ([`AAD_V1`](super::AAD_V1), [`AAD_V2`](super::AAD_V2)).
    pub aad_version: u32,
    /// `nonce || ciphertext+tag`.
    pub sealed: Vec<u8>,
}

/// Storage of wrapped keys and sealed secrets.
#[async_trait::async_trait]
pub trait VaultRecords: Send + Sync {
    /// The tenant's newest data key.
    async fn current_key(&self, tenant: &str) -> Result<Option<WrappedKey>, VaultFault>;
    /// One version of the tenant's data key.
    async fn key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultFault>;
    /// Stores `key` unless that (tenant, version) exists; returns what is stored afterwards, so
    /// of two replicas racing to create a key both end up using the same one.
    async fn insert_key(&self, key: WrappedKey) -> Result<WrappedKey, VaultFault>;
    /// Replaces the wrapping of one key version (rotation of the key-encryption key).
    async fn rewrap_key(
        &self,
        tenant: &str,
        version: u32,
        kek_id: &str,
        wrapped: Vec<u8>,
    ) -> Result<(), VaultFault>;
    /// Every key version of every tenant.
    async fn keys(&self) -> Result<Vec<WrappedKey>, VaultFault>;
    /// One secret.
    async fn secret(
        &self,
        scope: &SecretScope,
        name: &str,
    ) -> Result<Option<SealedSecret>, VaultFault>;
    /// Applies puts (`Some`) and deletes (`None`) to `scope` atomically. A put over a secret
    /// that another plugin recorded fails the whole commit.
    async fn commit(
        &self,
        scope: &SecretScope,
        changes: Vec<(String, Option<SealedSecret>)>,
    ) -> Result<(), VaultFault>;
    /// The tenant's secrets sealed under a key version older than `version`.
    async fn secrets_older_than(
        &self,
        tenant: &str,
        version: u32,
    ) -> Result<Vec<(SecretScope, String, SealedSecret)>, VaultFault>;
    /// Replaces a secret only if it still equals `old` (so re-encryption never clobbers a write
    /// that happened meanwhile); true when replaced.
    async fn replace_if_unchanged(
        &self,
        scope: &SecretScope,
        name: &str,
        old: &SealedSecret,
        new: SealedSecret,
    ) -> Result<bool, VaultFault>;
}

/// Records in memory: for tests and runs without a database.
#[derive(Debug, Default)]
pub struct MemoryVaultRecords {
    keys: Mutex<HashMap<(String, u32), WrappedKey>>,
    secrets: Mutex<HashMap<(SecretScope, String), SealedSecret>>,
}

impl MemoryVaultRecords {
    /// Writes a sealed secret as-is, bypassing the vault (tests use it to move ciphertexts).
    pub fn put_raw(&self, scope: &SecretScope, name: &str, secret: SealedSecret) {
        self.secrets
            .lock()
            .expect("secrets")
            .insert((scope.clone(), name.to_string()), secret);
    }

    /// Every stored secret's bytes (tests check no plaintext is among them).
    pub fn raw_secrets(&self) -> Vec<SealedSecret> {
        self.secrets
            .lock()
            .expect("secrets")
            .values()
            .cloned()
            .collect()
    }
}

#[async_trait::async_trait]
impl VaultRecords for MemoryVaultRecords {
    async fn current_key(&self, tenant: &str) -> Result<Option<WrappedKey>, VaultFault> {
        let keys = self.keys.lock().expect("keys");
        Ok(keys
            .values()
            .filter(|k| k.tenant == tenant)
            .max_by_key(|k| k.version)
            .cloned())
    }

    async fn key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultFault> {
        Ok(self
            .keys
            .lock()
            .expect("keys")
            .get(&(tenant.to_string(), version))
            .cloned())
    }

    async fn insert_key(&self, key: WrappedKey) -> Result<WrappedKey, VaultFault> {
        let mut keys = self.keys.lock().expect("keys");
        Ok(keys
            .entry((key.tenant.clone(), key.version))
            .or_insert(key)
            .clone())
    }

    async fn rewrap_key(
        &self,
        tenant: &str,
        version: u32,
        kek_id: &str,
        wrapped: Vec<u8>,
    ) -> Result<(), VaultFault> {
        let mut keys = self.keys.lock().expect("keys");
        let key = keys
            .get_mut(&(tenant.to_string(), version))
            .ok_or_else(|| VaultFault(format!("no data key v{version} for tenant `{tenant}`")))?;
        key.kek_id = kek_id.to_string();
        key.wrapped = wrapped;
        Ok(())
    }

    async fn keys(&self) -> Result<Vec<WrappedKey>, VaultFault> {
        let mut keys: Vec<WrappedKey> = self.keys.lock().expect("keys").values().cloned().collect();
        keys.sort_by(|a, b| (&a.tenant, a.version).cmp(&(&b.tenant, b.version)));
        Ok(keys)
    }

    async fn secret(
        &self,
        scope: &SecretScope,
        name: &str,
    ) -> Result<Option<SealedSecret>, VaultFault> {
        Ok(self
            .secrets
            .lock()
            .expect("secrets")
            .get(&(scope.clone(), name.to_string()))
            .cloned())
    }

    async fn commit(
        &self,
        scope: &SecretScope,
        changes: Vec<(String, Option<SealedSecret>)>,
    ) -> Result<(), VaultFault> {
        let mut secrets = self.secrets.lock().expect("secrets");
        for (name, change) in changes {
            match change {
                Some(sealed) => secrets.insert((scope.clone(), name), sealed),
                None => secrets.remove(&(scope.clone(), name)),
            };
        }
        Ok(())
    }

    async fn secrets_older_than(
        &self,
        tenant: &str,
        version: u32,
    ) -> Result<Vec<(SecretScope, String, SealedSecret)>, VaultFault> {
        let secrets = self.secrets.lock().expect("secrets");
        Ok(secrets
            .iter()
            .filter(|((scope, _), s)| scope.tenant == tenant && s.key_version < version)
            .map(|((scope, name), s)| (scope.clone(), name.clone(), s.clone()))
            .collect())
    }

    async fn replace_if_unchanged(
        &self,
        scope: &SecretScope,
        name: &str,
        old: &SealedSecret,
        new: SealedSecret,
    ) -> Result<bool, VaultFault> {
        let mut secrets = self.secrets.lock().expect("secrets");
        match secrets.get_mut(&(scope.clone(), name.to_string())) {
            Some(current) if current == old => {
                *current = new;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

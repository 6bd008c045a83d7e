//! The production [`SecretStore`]: envelope encryption over any [`VaultRecords`].
//!
//! Each tenant has a data key (versioned), wrapped by the [`KeyRing`]'s current key-encryption
//! key. Each secret is sealed with AES-256-GCM under a fresh 96-bit nonce, with associated data
//! binding tenant, plugin, connection, secret name and key version: a ciphertext copied to another
//! row, connection, plugin or tenant does not decrypt. Unwrapped data keys are cached for a bounded
//! time so a KMS round trip is not paid on every read.
//!
//! The associated data has a format version, recorded with every sealed secret
//! ([`SealedSecret::aad_version`]): secrets are opened under the version they were sealed with
//! and every write seals under [`CURRENT_AAD_VERSION`]. Version 1 (tenant, connection, name, key
//! version) predates binding the plugin; secrets sealed under it keep opening, and move to
//! version 2 the next time the connector writes them or a `--reencrypt` rotation moves them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::envelope::DataKey;
use super::keys::KeyProvider;
use super::records::{SealedSecret, VaultRecords, WrappedKey};
use super::{SecretScope, SecretStore, SecretWrite, VaultFault};

/// How long an unwrapped data key stays in memory: short enough that revoking KMS access takes
/// effect quickly, long enough that a burst of calls for a tenant costs one unwrap.
pub const DEFAULT_KEY_CACHE_TTL: Duration = Duration::from_secs(300);

/// The key-encryption keys the vault knows: the current one (wraps new keys) and older ones
/// (still unwrap keys not yet rotated).
#[derive(Clone)]
pub struct KeyRing {
    current: Arc<dyn KeyProvider>,
    older: Vec<Arc<dyn KeyProvider>>,
}

impl KeyRing {
    /// A ring whose only key is `current`.
    pub fn new(current: Arc<dyn KeyProvider>) -> Self {
        KeyRing {
            current,
            older: Vec::new(),
        }
    }

    /// The same ring, also able to unwrap keys wrapped by `older`.
    pub fn with_older(mut self, older: Arc<dyn KeyProvider>) -> Self {
        self.older.push(older);
        self
    }

    /// The provider that wraps new keys.
    pub fn current(&self) -> &Arc<dyn KeyProvider> {
        &self.current
    }

    /// The provider whose id is `kek_id`.
    pub fn provider(&self, kek_id: &str) -> Result<&Arc<dyn KeyProvider>, VaultFault> {
        std::iter::once(&self.current)
            .chain(self.older.iter())
            .find(|p| p.id() == kek_id)
            .ok_or_else(|| VaultFault(format!("no key-encryption key `{kek_id}` is configured")))
    }
}

/// Envelope-encrypted secrets.
pub struct EncryptedSecretStore {
    ring: KeyRing,
    records: Arc<dyn VaultRecords>,
    cache: Mutex<HashMap<(String, u32), (DataKey, Instant)>>,
    ttl: Duration,
}

/// Associated data of secrets sealed before the plugin was bound in: tenant, connection, name and
/// key version. Read only: nothing is sealed under it any more.
pub const AAD_V1: u32 = 1;
/// Associated data binding tenant, plugin, connection, name and key version.
pub const AAD_V2: u32 = 2;
/// The format every write seals under.
pub const CURRENT_AAD_VERSION: u32 = AAD_V2;

/// The associated data of a secret in the current format ([`CURRENT_AAD_VERSION`]).
pub fn secret_aad(scope: &SecretScope, name: &str, key_version: u32) -> Vec<u8> {
    secret_aad_as(CURRENT_AAD_VERSION, scope, name, key_version)
        .expect("the current format is known")
}

/// The associated data of a secret in format `aad_version`, `None` for a format this host does
/// not know. Every field is length-prefixed, so no two different tuples encode alike, and each
/// format starts with its own tag, so no tuple of one format encodes like one of another.
pub fn secret_aad_as(
    aad_version: u32,
    scope: &SecretScope,
    name: &str,
    key_version: u32,
) -> Option<Vec<u8>> {
    let (tag, fields): (&[u8], Vec<&[u8]>) = match aad_version {
        AAD_V1 => (
            b"postd-secret/v1",
            vec![
                scope.tenant.as_bytes(),
                scope.connection.as_bytes(),
                name.as_bytes(),
            ],
        ),
        AAD_V2 => (
            b"postd-secret/v2",
            vec![
                scope.tenant.as_bytes(),
                scope.plugin.as_bytes(),
                scope.connection.as_bytes(),
                name.as_bytes(),
            ],
        ),
        _ => return None,
    };
    let mut aad = tag.to_vec();
    for field in fields {
        aad.extend_from_slice(&(field.len() as u32).to_be_bytes());
        aad.extend_from_slice(field);
    }
    aad.extend_from_slice(&key_version.to_be_bytes());
    Some(aad)
}

impl EncryptedSecretStore {
    /// A store over `records` with keys from `ring`.
    pub fn new(ring: KeyRing, records: Arc<dyn VaultRecords>) -> Self {
        EncryptedSecretStore {
            ring,
            records,
            cache: Mutex::new(HashMap::new()),
            ttl: DEFAULT_KEY_CACHE_TTL,
        }
    }

    /// The same store with another data-key cache lifetime (zero disables the cache).
    pub fn with_key_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The key ring.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The records.
    pub fn records(&self) -> &Arc<dyn VaultRecords> {
        &self.records
    }

    /// Data key `version` of `tenant`, when the cache holds it unwrapped.
    fn cached_key(&self, tenant: &str, version: u32) -> Option<DataKey> {
        let cache = self.cache.lock().expect("key cache");
        let (key, at) = cache.get(&(tenant.to_string(), version))?;
        (at.elapsed() < self.ttl).then(|| key.clone())
    }

    /// Unwraps `key` (through the cache).
    pub(crate) async fn unwrap(&self, key: &WrappedKey) -> Result<DataKey, VaultFault> {
        if let Some(cached) = self.cached_key(&key.tenant, key.version) {
            return Ok(cached);
        }
        let slot = (key.tenant.clone(), key.version);
        let plain = self
            .ring
            .provider(&key.kek_id)?
            .unwrap(&key.tenant, &key.wrapped)
            .await?;
        if !self.ttl.is_zero() {
            self.cache
                .lock()
                .expect("key cache")
                .insert(slot, (plain.clone(), Instant::now()));
        }
        Ok(plain)
    }

    /// Forgets cached data keys (after a rotation, or to re-check KMS access).
    pub fn clear_key_cache(&self) {
        self.cache.lock().expect("key cache").clear();
    }

    /// The tenant's newest data key, created (version 1) if it has none.
    pub(crate) async fn current_key(&self, tenant: &str) -> Result<(u32, DataKey), VaultFault> {
        if let Some(key) = self.records.current_key(tenant).await? {
            return Ok((key.version, self.unwrap(&key).await?));
        }
        self.new_key_version(tenant, 1).await
    }

    /// Creates data key `version` for `tenant` (or adopts the one a racing replica stored).
    pub(crate) async fn new_key_version(
        &self,
        tenant: &str,
        version: u32,
    ) -> Result<(u32, DataKey), VaultFault> {
        let current = self.ring.current();
        let (plain, wrapped) = current.generate(tenant).await?;
        let candidate = WrappedKey {
            tenant: tenant.to_string(),
            version,
            kek_id: current.id().to_string(),
            wrapped,
        };
        let stored = self.records.insert_key(candidate.clone()).await?;
        if stored == candidate {
            return Ok((version, plain));
        }
        Ok((stored.version, self.unwrap(&stored).await?))
    }

    /// Opens a sealed secret of `scope`.
    pub(crate) async fn open(
        &self,
        scope: &SecretScope,
        name: &str,
        secret: &SealedSecret,
    ) -> Result<String, VaultFault> {
        let aad = secret_aad_as(secret.aad_version, scope, name, secret.key_version).ok_or_else(
            || {
                VaultFault(format!(
                    "secret `{name}` is sealed under an unknown format v{}",
                    secret.aad_version
                ))
            },
        )?;
        // A data key's plain bytes never change (a key rotation re-wraps them, a new version is
        // a new key): one held unwrapped needs no read of its row.
        let plain = match self.cached_key(&scope.tenant, secret.key_version) {
            Some(plain) => plain,
            None => {
                let key = self
                    .records
                    .key(&scope.tenant, secret.key_version)
                    .await?
                    .ok_or_else(|| {
                        VaultFault(format!(
                            "secret `{name}` refers to a missing data key v{}",
                            secret.key_version
                        ))
                    })?;
                self.unwrap(&key).await?
            }
        };
        let bytes = plain.open(&aad, &secret.sealed).ok_or_else(|| {
            VaultFault(format!(
                "secret `{name}` does not decrypt for this tenant, plugin and connection"
            ))
        })?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| VaultFault(format!("secret `{name}` is not UTF-8")))
    }
}

#[async_trait::async_trait]
impl SecretStore for EncryptedSecretStore {
    async fn get(&self, scope: &SecretScope, name: &str) -> Result<Option<String>, VaultFault> {
        match self.records.secret(scope, name).await? {
            Some(secret) => self.open(scope, name, &secret).await.map(Some),
            None => Ok(None),
        }
    }

    async fn commit(
        &self,
        scope: &SecretScope,
        writes: Vec<SecretWrite>,
    ) -> Result<(), VaultFault> {
        let (version, key) = self.current_key(&scope.tenant).await?;
        let changes = writes
            .into_iter()
            .map(|write| match write {
                SecretWrite::Put(name, value) => {
                    let sealed = key.seal(&secret_aad(scope, &name, version), value.as_bytes());
                    (
                        name,
                        Some(SealedSecret {
                            key_version: version,
                            aad_version: CURRENT_AAD_VERSION,
                            sealed,
                        }),
                    )
                }
                SecretWrite::Delete(name) => (name, None),
            })
            .collect();
        self.records.commit(scope, changes).await
    }
}

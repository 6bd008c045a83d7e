//! Connection secrets and the plugin's app configuration.
//!
//! A call reads through to the [`SecretStore`] and buffers its writes; the runtime commits them
//! in one [`SecretStore::commit`] when the guest returns (with a value or a connector error), and
//! drops them when the call traps or hits a limit. A refresh that rotates both tokens therefore
//! stores both or neither.
//!
//! # Scope
//!
//! A call's secrets are those of one [`SecretScope`]: tenant, plugin and connection. The plugin
//! is part of the scope because a plugin is untrusted code: even if a connection id of plugin A
//! reached a call of plugin B (the API refuses that before any plugin runs), B would find none
//! of A's secrets and could replace none of them:
//!
//! - the records keep the plugin with each secret and answer only the scope's own
//!   ([`VaultRecords`]);
//! - the plugin is sealed into each secret's AES-GCM associated data ([`secret_aad`]), so a
//!   ciphertext moved to another plugin's row (or a row whose plugin was rewritten) does not
//!   decrypt.
//!
//! Secrets sealed before the plugin was bound in carry associated-data format 1 (recorded per
//! secret, the default of the column the migration added) and keep opening under it; writes seal
//! under format 2. The database migration filled in the plugin of each existing secret from its
//! connection, so the records already keep those apart too. Format-1 secrets move to format 2
//! when the connector writes them again (tokens do at each refresh) or when
//! `postd-host vault rotate --reencrypt` moves them to a new data key; rewriting them in place
//! on read was set aside: every read would then be able to write, racing the connector's own
//! buffered writes of the same call.

mod encrypted;
mod envelope;
mod host;
mod keys;
mod kms;
mod memory;
mod records;
mod rotate;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use encrypted::{
    AAD_V1, AAD_V2, CURRENT_AAD_VERSION, DEFAULT_KEY_CACHE_TTL, EncryptedSecretStore, KeyRing,
    secret_aad, secret_aad_as,
};
pub use envelope::DataKey;
pub use keys::{KeyProvider, KeySpec, LocalKeyProvider};
pub use kms::AwsKmsProvider;
pub use memory::MemorySecretStore;
pub use records::{MemoryVaultRecords, SealedSecret, VaultRecords, WrappedKey};
pub use rotate::RotationReport;

use super::Redactor;
use super::memory::CallMemory;
use crate::config::SecretSource;

/// Whose secrets: one connection of one tenant, as one plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretScope {
    /// The tenant.
    pub tenant: String,
    /// The plugin whose call reads and writes them.
    pub plugin: String,
    /// The connection.
    pub connection: String,
}

impl SecretScope {
    /// The secrets of `connection` of `tenant`, for `plugin`.
    pub fn new(
        tenant: impl Into<String>,
        plugin: impl Into<String>,
        connection: impl Into<String>,
    ) -> Self {
        SecretScope {
            tenant: tenant.into(),
            plugin: plugin.into(),
            connection: connection.into(),
        }
    }
}

/// One buffered change.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretWrite {
    /// Set `name` to the value.
    Put(String, String),
    /// Remove `name`.
    Delete(String),
}

impl std::fmt::Debug for SecretWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretWrite::Put(name, _) => write!(f, "Put({name}, <redacted>)"),
            SecretWrite::Delete(name) => write!(f, "Delete({name})"),
        }
    }
}

/// A fault of the secret store (never carries a secret).
#[derive(Debug, Clone, thiserror::Error)]
#[error("secret store: {0}")]
pub struct VaultFault(pub String);

/// Where connection secrets live, as the vault capability sees them (plaintext in, plaintext
/// out). [`EncryptedSecretStore`] is the real one; [`MemorySecretStore`] keeps plaintext in
/// memory for tests of code that does not care about encryption.
#[async_trait::async_trait]
pub trait SecretStore: Send + Sync {
    /// The current value of `name` in `scope`.
    async fn get(&self, scope: &SecretScope, name: &str) -> Result<Option<String>, VaultFault>;
    /// Applies `writes` to `scope` atomically: all of them or none.
    async fn commit(&self, scope: &SecretScope, writes: Vec<SecretWrite>)
    -> Result<(), VaultFault>;
}

/// Longest secret name.
pub const MAX_NAME_LEN: usize = 128;
/// Largest secret value, in bytes.
pub const MAX_VALUE_LEN: usize = 64 << 10;

/// The `vault` capability of one call.
pub struct VaultState {
    store: Arc<dyn SecretStore>,
    scope: Option<SecretScope>,
    pending: Vec<SecretWrite>,
    app_secrets: Arc<BTreeMap<String, SecretSource>>,
    app_settings: Arc<BTreeMap<String, String>>,
    redactor: Redactor,
    memory: CallMemory,
}

impl VaultState {
    /// The vault of one call; `scope` is `None` for calls without a connection.
    pub fn new(
        store: Arc<dyn SecretStore>,
        scope: Option<SecretScope>,
        app_secrets: Arc<BTreeMap<String, SecretSource>>,
        app_settings: Arc<BTreeMap<String, String>>,
        redactor: Redactor,
    ) -> Self {
        VaultState {
            store,
            scope,
            pending: Vec::new(),
            app_secrets,
            app_settings,
            redactor,
            memory: CallMemory::unlimited(),
        }
    }

    /// Charges the call's buffered writes to `memory`.
    pub fn with_memory(mut self, memory: CallMemory) -> Self {
        self.memory = memory;
        self
    }

    /// The redactor of the call: every secret value the call was handed or wrote.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Commits the call's buffered writes. Called by the runtime when the guest returned.
    pub async fn commit(&mut self) -> Result<usize, VaultFault> {
        let writes = std::mem::take(&mut self.pending);
        match (&self.scope, writes.is_empty()) {
            (Some(scope), false) => {
                let count = writes.len();
                self.store.commit(scope, writes).await?;
                Ok(count)
            }
            _ => Ok(0),
        }
    }

    /// The latest buffered write to `name`, if the call made one.
    fn pending(&self, name: &str) -> Option<Option<&str>> {
        self.pending.iter().rev().find_map(|w| match w {
            SecretWrite::Put(n, v) if n == name => Some(Some(v.as_str())),
            SecretWrite::Delete(n) if n == name => Some(None),
            _ => None,
        })
    }
}

/// Secret names: 1-128 characters of `a-z`, `0-9`, `.`, `_`, `:` and `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".:_-".contains(&b))
}

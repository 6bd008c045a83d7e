//! Connection secrets and the plugin's app configuration.
//!
//! A call reads through to the [`SecretStore`] and buffers its writes; the runtime commits them
//! in one [`SecretStore::commit`] when the guest returns (with a value or a connector error), and
//! drops them when the call traps or hits a limit. A refresh that rotates both tokens therefore
//! stores both or neither.

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

pub use encrypted::{DEFAULT_KEY_CACHE_TTL, EncryptedSecretStore, KeyRing, secret_aad};
pub use envelope::DataKey;
pub use keys::{KeyProvider, KeySpec, LocalKeyProvider};
pub use kms::AwsKmsProvider;
pub use memory::MemorySecretStore;
pub use records::{MemoryVaultRecords, SealedSecret, VaultRecords, WrappedKey};
pub use rotate::RotationReport;

use super::Redactor;
use super::memory::CallMemory;
use crate::config::SecretSource;

/// Whose secrets: one connection of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretScope {
    /// The tenant.
    pub tenant: String,
    /// The connection.
    pub connection: String,
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

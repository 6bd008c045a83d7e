//! An in-memory [`SecretStore`], for tests and for running without a database.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{SecretScope, SecretStore, SecretWrite, VaultFault};

/// Secrets in a map; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<(SecretScope, String), String>>,
}

impl MemorySecretStore {
    /// Sets a secret directly, as a completed connection would have.
    pub fn insert(&self, scope: &SecretScope, name: &str, value: &str) {
        self.secrets
            .lock()
            .expect("secret map")
            .insert((scope.clone(), name.into()), value.into());
    }

    /// The names of the secrets `scope` holds, sorted.
    pub fn names(&self, scope: &SecretScope) -> Vec<String> {
        let mut names: Vec<String> = self
            .secrets
            .lock()
            .expect("secret map")
            .keys()
            .filter(|(s, _)| s == scope)
            .map(|(_, name)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Reads a secret directly.
    pub fn value(&self, scope: &SecretScope, name: &str) -> Option<String> {
        self.secrets
            .lock()
            .expect("secret map")
            .get(&(scope.clone(), name.to_string()))
            .cloned()
    }
}

#[async_trait::async_trait]
impl SecretStore for MemorySecretStore {
    async fn get(&self, scope: &SecretScope, name: &str) -> Result<Option<String>, VaultFault> {
        Ok(self.value(scope, name))
    }

    async fn commit(
        &self,
        scope: &SecretScope,
        writes: Vec<SecretWrite>,
    ) -> Result<(), VaultFault> {
        let mut secrets = self.secrets.lock().expect("secret map");
        for write in writes {
            match write {
                SecretWrite::Put(name, value) => {
                    secrets.insert((scope.clone(), name), value);
                }
                SecretWrite::Delete(name) => {
                    secrets.remove(&(scope.clone(), name));
                }
            }
        }
        Ok(())
    }
}

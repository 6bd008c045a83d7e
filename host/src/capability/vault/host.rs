//! The WIT `vault` adapter.

use super::{MAX_VALUE_LEN, SecretWrite, VaultState, valid_name};
use crate::runtime::wit::vault::{self, VaultError};

impl VaultState {
    fn check_name(&self, name: &str) -> Result<(), VaultError> {
        if !valid_name(name) {
            return Err(VaultError::InvalidName(name.chars().take(64).collect()));
        }
        if self.scope.is_none() {
            return Err(VaultError::NoConnection);
        }
        Ok(())
    }
}

/// A fault of the secret store: the connector cannot fix it, so the call ends (a trap) and the
/// job is retried, rather than the connector reading "no secret" or an error it could ignore.
#[derive(Debug, thiserror::Error)]
#[error("the secret store failed: {0}")]
pub struct StoreFault(pub String);

/// What the vault answers a guest, inside what the host may end the call with (a trap when the
/// call's host memory is spent).
type Answer<T> = wasmtime::Result<Result<T, VaultError>>;

impl vault::Host for VaultState {
    async fn get(&mut self, name: String) -> Answer<Option<String>> {
        if let Err(refused) = self.check_name(&name) {
            return Ok(Err(refused));
        }
        if let Some(pending) = self.pending(&name) {
            return Ok(Ok(pending.map(str::to_string)));
        }
        let scope = self.scope.as_ref().expect("checked above");
        let value = match self.store.get(scope, &name).await {
            Ok(value) => value,
            Err(fault) => return Err(StoreFault(fault.0).into()),
        };
        if let Some(value) = &value {
            self.redactor.remember(value)?;
        }
        Ok(Ok(value))
    }

    fn put(&mut self, name: String, value: String) -> Answer<()> {
        if let Err(refused) = self.check_name(&name) {
            return Ok(Err(refused));
        }
        if value.len() > MAX_VALUE_LEN {
            return Ok(Err(VaultError::TooLarge(MAX_VALUE_LEN as u64)));
        }
        // Held twice until the call ends: as the pending write and as a value to redact.
        self.memory.charge(name.len() + value.len())?;
        self.redactor.remember(&value)?;
        self.pending.push(SecretWrite::Put(name, value));
        Ok(Ok(()))
    }

    async fn delete(&mut self, name: String) -> Answer<bool> {
        let existed = match vault::Host::get(self, name.clone()).await? {
            Ok(value) => value.is_some(),
            Err(refused) => return Ok(Err(refused)),
        };
        self.memory.charge(name.len())?;
        self.pending.push(SecretWrite::Delete(name));
        Ok(Ok(existed))
    }

    fn app_secret(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        let Some(value) = self.app_secrets.get(&name).and_then(|s| s.resolve()) else {
            return Ok(None);
        };
        self.redactor.remember(&value)?;
        Ok(Some(value))
    }

    fn app_setting(&mut self, name: String) -> Option<String> {
        self.app_settings.get(&name).cloned()
    }
}

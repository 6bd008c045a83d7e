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

impl vault::Host for VaultState {
    async fn get(&mut self, name: String) -> Result<Option<String>, VaultError> {
        self.check_name(&name)?;
        if let Some(pending) = self.pending(&name) {
            return Ok(pending.map(str::to_string));
        }
        let scope = self.scope.as_ref().expect("checked above");
        let value = self
            .store
            .get(scope, &name)
            .await
            .map_err(|e| VaultError::Unavailable(e.0))?;
        if let Some(value) = &value {
            self.redactor.remember(value);
        }
        Ok(value)
    }

    fn put(&mut self, name: String, value: String) -> Result<(), VaultError> {
        self.check_name(&name)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(VaultError::TooLarge(MAX_VALUE_LEN as u64));
        }
        self.redactor.remember(&value);
        self.pending.push(SecretWrite::Put(name, value));
        Ok(())
    }

    async fn delete(&mut self, name: String) -> Result<bool, VaultError> {
        let existed = vault::Host::get(self, name.clone()).await?.is_some();
        self.pending.push(SecretWrite::Delete(name));
        Ok(existed)
    }

    fn app_secret(&mut self, name: String) -> Option<String> {
        let value = self.app_secrets.get(&name)?.resolve()?;
        self.redactor.remember(&value);
        Some(value)
    }

    fn app_setting(&mut self, name: String) -> Option<String> {
        self.app_settings.get(&name).cloned()
    }
}

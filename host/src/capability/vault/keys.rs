//! Key-encryption keys: what wraps each tenant's data key.
//!
//! A [`KeyProvider`] generates data keys and wraps/unwraps them; the data keys encrypt the
//! secrets. Two providers exist: [`LocalKeyProvider`] (a key file, for the embedded default and
//! development) and [`AwsKmsProvider`](super::kms::AwsKmsProvider) (production). Every wrapped key
//! records the id of the provider key that wrapped it, so rotation can tell what is left to do.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::VaultFault;
use super::envelope::DataKey;

/// Wraps and unwraps tenants' data keys under a key-encryption key.
#[async_trait::async_trait]
pub trait KeyProvider: Send + Sync {
    /// Identifies the key-encryption key (`local:<fingerprint>`, `aws-kms:<key id>`).
    fn id(&self) -> &str;
    /// A fresh data key for `tenant`, in plaintext and wrapped.
    async fn generate(&self, tenant: &str) -> Result<(DataKey, Vec<u8>), VaultFault>;
    /// Wraps an existing data key of `tenant` (rotation re-wraps keys this way).
    async fn wrap(&self, tenant: &str, key: &DataKey) -> Result<Vec<u8>, VaultFault>;
    /// Unwraps a data key of `tenant`; fails if it was wrapped for another tenant.
    async fn unwrap(&self, tenant: &str, wrapped: &[u8]) -> Result<DataKey, VaultFault>;
}

/// A key-encryption key kept in a local file. For the embedded default and development only:
/// whoever reads the file can read every secret.
pub struct LocalKeyProvider {
    id: String,
    kek: DataKey,
}

impl LocalKeyProvider {
    /// A provider around `kek`.
    pub fn from_key(kek: DataKey) -> Self {
        let fingerprint = hex::encode(&Sha256::digest(kek.expose())[..8]);
        LocalKeyProvider {
            id: format!("local:{fingerprint}"),
            kek,
        }
    }

    /// Opens the existing key file at `path`.
    pub fn open(path: &Path) -> Result<Self, VaultFault> {
        if !path.exists() {
            return Err(VaultFault(format!("{}: no such key file", path.display())));
        }
        Self::open_or_create(path)
    }

    /// Opens the key file at `path` (64 hex characters), creating it with a random key and
    /// mode 0600 when it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, VaultFault> {
        let fault =
            |what: &str, e: std::io::Error| VaultFault(format!("{what} {}: {e}", path.display()));
        if !path.exists() {
            if let Some(dir) = path.parent() {
                crate::files::create_private_dir(dir)
                    .map_err(|e| fault("creating the directory of", e))?;
            }
            let key = DataKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .map_err(|e| fault("creating the key file", e))?;
            writeln!(file, "{}", hex::encode(key.expose()))
                .map_err(|e| fault("writing the key file", e))?;
            tracing::warn!(path = %path.display(), "created a local key-encryption key: development only, use aws-kms in production");
        }
        let text = std::fs::read_to_string(path).map_err(|e| fault("reading the key file", e))?;
        let key = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| DataKey::from_slice(&bytes))
            .ok_or_else(|| VaultFault(format!("{}: not a 256-bit hex key", path.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| fault("reading", e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the key file is readable by other users; chmod 600 it");
            }
        }
        Ok(Self::from_key(key))
    }

    fn aad(tenant: &str) -> Vec<u8> {
        format!("postd-kek/v1|{tenant}").into_bytes()
    }
}

#[async_trait::async_trait]
impl KeyProvider for LocalKeyProvider {
    fn id(&self) -> &str {
        &self.id
    }

    async fn generate(&self, tenant: &str) -> Result<(DataKey, Vec<u8>), VaultFault> {
        let key = DataKey::generate();
        let wrapped = self.wrap(tenant, &key).await?;
        Ok((key, wrapped))
    }

    async fn wrap(&self, tenant: &str, key: &DataKey) -> Result<Vec<u8>, VaultFault> {
        Ok(self.kek.seal(&Self::aad(tenant), key.expose()))
    }

    async fn unwrap(&self, tenant: &str, wrapped: &[u8]) -> Result<DataKey, VaultFault> {
        self.kek
            .open(&Self::aad(tenant), wrapped)
            .and_then(|bytes| DataKey::from_slice(&bytes))
            .ok_or_else(|| {
                VaultFault(format!(
                    "data key of tenant `{tenant}` does not unwrap under {}",
                    self.id
                ))
            })
    }
}

/// Names a key-encryption key on the command line or in configuration:
/// `local:<key file>` or `aws-kms:<key id, ARN or alias>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpec {
    /// A local key file.
    Local(std::path::PathBuf),
    /// A KMS key; the endpoint and credentials come from the standard AWS configuration
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, profiles, instance roles).
    AwsKms(String),
}

impl KeySpec {
    /// Parses `local:<path>` or `aws-kms:<key id>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some(("local", path)) if !path.is_empty() => Ok(KeySpec::Local(path.into())),
            Some(("aws-kms", key)) if !key.is_empty() => Ok(KeySpec::AwsKms(key.to_string())),
            _ => Err(format!(
                "`{text}`: expected local:<key file> or aws-kms:<key id>"
            )),
        }
    }

    /// The provider; `create` makes a missing local key file (for a rotation's new key).
    pub async fn provider(
        &self,
        create: bool,
    ) -> Result<std::sync::Arc<dyn KeyProvider>, VaultFault> {
        Ok(match self {
            KeySpec::Local(path) if create => {
                std::sync::Arc::new(LocalKeyProvider::open_or_create(path)?)
            }
            KeySpec::Local(path) => std::sync::Arc::new(LocalKeyProvider::open(path)?),
            KeySpec::AwsKms(key) => {
                let client = super::AwsKmsProvider::client(None).await;
                std::sync::Arc::new(super::AwsKmsProvider::new(client, key.clone()))
            }
        })
    }
}

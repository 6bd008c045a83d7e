//! AWS KMS as the key-encryption key: `GenerateDataKey`, `Encrypt` and `Decrypt`, each with the
//! tenant in the encryption context, so a data key wrapped for one tenant never unwraps for
//! another (and CloudTrail shows which tenant each use was for).

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;

use super::VaultFault;
use super::envelope::DataKey;
use super::keys::KeyProvider;

/// The encryption-context key naming the tenant.
const TENANT_CONTEXT: &str = "postd:tenant";

/// A KMS key wrapping tenants' data keys.
pub struct AwsKmsProvider {
    client: Client,
    key_id: String,
    id: String,
}

impl AwsKmsProvider {
    /// Uses KMS key `key_id` (id, ARN or alias) through `client`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        let key_id = key_id.into();
        AwsKmsProvider {
            id: format!("aws-kms:{key_id}"),
            client,
            key_id,
        }
    }

    /// A client from the standard AWS configuration chain (environment, profile, instance role),
    /// optionally pointed at `endpoint` (a KMS-compatible server such as moto's, for tests).
    pub async fn client(endpoint: Option<&str>) -> Client {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Client::new(&loader.load().await)
    }
}

fn fault(operation: &str, error: impl std::fmt::Display) -> VaultFault {
    VaultFault(format!("KMS {operation} failed: {error}"))
}

#[async_trait::async_trait]
impl KeyProvider for AwsKmsProvider {
    fn id(&self) -> &str {
        &self.id
    }

    async fn generate(&self, tenant: &str) -> Result<(DataKey, Vec<u8>), VaultFault> {
        let answer = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(TENANT_CONTEXT, tenant)
            .send()
            .await
            .map_err(|e| {
                fault(
                    "GenerateDataKey",
                    aws_sdk_kms::error::DisplayErrorContext(e),
                )
            })?;
        let plaintext = answer
            .plaintext
            .ok_or_else(|| fault("GenerateDataKey", "no plaintext key"))?;
        let wrapped = answer
            .ciphertext_blob
            .ok_or_else(|| fault("GenerateDataKey", "no wrapped key"))?;
        let key = DataKey::from_slice(plaintext.as_ref())
            .ok_or_else(|| fault("GenerateDataKey", "key is not 256 bits"))?;
        Ok((key, wrapped.into_inner()))
    }

    async fn wrap(&self, tenant: &str, key: &DataKey) -> Result<Vec<u8>, VaultFault> {
        let answer = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(key.expose().to_vec()))
            .encryption_context(TENANT_CONTEXT, tenant)
            .send()
            .await
            .map_err(|e| fault("Encrypt", aws_sdk_kms::error::DisplayErrorContext(e)))?;
        Ok(answer
            .ciphertext_blob
            .ok_or_else(|| fault("Encrypt", "no ciphertext"))?
            .into_inner())
    }

    async fn unwrap(&self, tenant: &str, wrapped: &[u8]) -> Result<DataKey, VaultFault> {
        let answer = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped.to_vec()))
            .encryption_context(TENANT_CONTEXT, tenant)
            .send()
            .await
            .map_err(|e| fault("Decrypt", aws_sdk_kms::error::DisplayErrorContext(e)))?;
        let plaintext = answer
            .plaintext
            .ok_or_else(|| fault("Decrypt", "no plaintext"))?;
        DataKey::from_slice(plaintext.as_ref())
            .ok_or_else(|| fault("Decrypt", "key is not 256 bits"))
    }
}

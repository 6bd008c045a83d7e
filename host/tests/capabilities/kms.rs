//! The `aws-kms` key provider against moto's KMS server (real AWS SDK, real HTTP on loopback).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use postd_host::capability::vault::{
    AwsKmsProvider, DataKey, EncryptedSecretStore, KeyProvider, KeyRing, LocalKeyProvider,
    MemoryVaultRecords, SecretScope, SecretStore, SecretWrite,
};

/// moto's server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed to run moto's KMS server");
        let mut moto = Moto { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!(
                    "moto's server exited ({status}); `make test` installs it with pip install 'moto[server]'"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto's server did not listen on 127.0.0.1:{port} within 20 s");
    }

    fn client(&self) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(format!("http://127.0.0.1:{}", self.port))
            .build();
        aws_sdk_kms::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn kms_key(client: &aws_sdk_kms::Client) -> String {
    let created = client
        .create_key()
        .description("postd test")
        .send()
        .await
        .expect("CreateKey on moto");
    created.key_metadata.unwrap().key_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_wraps_data_keys_bound_to_their_tenant() {
    let moto = Moto::start();
    let client = moto.client();
    let provider = AwsKmsProvider::new(client.clone(), kms_key(&client).await);

    let (plain, wrapped) = provider.generate("tenant-a").await.unwrap();
    assert_eq!(
        provider
            .unwrap("tenant-a", &wrapped)
            .await
            .unwrap()
            .expose(),
        plain.expose()
    );
    assert!(
        provider.unwrap("tenant-b", &wrapped).await.is_err(),
        "the encryption context binds the tenant"
    );

    let rewrapped = provider.wrap("tenant-a", &plain).await.unwrap();
    assert_eq!(
        provider
            .unwrap("tenant-a", &rewrapped)
            .await
            .unwrap()
            .expose(),
        plain.expose()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_survive_rotation_from_a_local_key_to_kms() {
    let moto = Moto::start();
    let client = moto.client();
    let records = Arc::new(MemoryVaultRecords::default());
    let local = Arc::new(LocalKeyProvider::from_key(DataKey::generate()));
    let scope = SecretScope::new("tenant-a", "meta", "conn-1");
    EncryptedSecretStore::new(KeyRing::new(local.clone()), records.clone())
        .commit(
            &scope,
            vec![SecretWrite::Put(
                "refresh-token".into(),
                "rt-before-rotation".into(),
            )],
        )
        .await
        .unwrap();

    let kms = Arc::new(AwsKmsProvider::new(client.clone(), kms_key(&client).await));
    let rotating =
        EncryptedSecretStore::new(KeyRing::new(kms.clone()).with_older(local), records.clone());
    assert_eq!(rotating.rewrap_keys(None).await.unwrap().rewrapped, 1);

    let kms_only = EncryptedSecretStore::new(KeyRing::new(kms), records);
    assert_eq!(
        kms_only
            .get(&scope, "refresh-token")
            .await
            .unwrap()
            .as_deref(),
        Some("rt-before-rotation")
    );
}

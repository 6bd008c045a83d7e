//! The vault: envelope encryption bound to tenant and connection, rotation, redaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use postd_host::capability::log::LogState;
use postd_host::capability::vault::{
    AAD_V1, AAD_V2, DataKey, EncryptedSecretStore, KeyProvider, KeyRing, LocalKeyProvider,
    MemoryVaultRecords, SealedSecret, SecretScope, SecretStore, SecretWrite, VaultRecords,
    VaultState, secret_aad_as,
};
use postd_host::capability::{CallContext, Redactor};
use postd_host::config::SecretSource;
use postd_host::runtime::wit::log::{Host as _, Level};
use postd_host::runtime::wit::vault::{Host as _, VaultError};

fn scope(tenant: &str, connection: &str) -> SecretScope {
    SecretScope::new(tenant, "meta", connection)
}

fn local_ring() -> (KeyRing, Arc<LocalKeyProvider>) {
    let provider = Arc::new(LocalKeyProvider::from_key(DataKey::generate()));
    (KeyRing::new(provider.clone()), provider)
}

async fn put(store: &EncryptedSecretStore, scope: &SecretScope, name: &str, value: &str) {
    store
        .commit(scope, vec![SecretWrite::Put(name.into(), value.into())])
        .await
        .unwrap();
}

#[tokio::test]
async fn secrets_round_trip_and_are_stored_only_as_ciphertext() {
    let records = Arc::new(MemoryVaultRecords::default());
    let (ring, _) = local_ring();
    let store = EncryptedSecretStore::new(ring, records.clone());
    let a = scope("tenant-a", "conn-1");
    put(&store, &a, "access-token", "EAAB-very-secret-token").await;
    assert_eq!(
        store.get(&a, "access-token").await.unwrap().as_deref(),
        Some("EAAB-very-secret-token")
    );
    assert_eq!(store.get(&a, "refresh-token").await.unwrap(), None);
    for stored in records.raw_secrets() {
        assert!(
            !stored.sealed.windows(4).any(|w| w == b"EAAB"),
            "plaintext found in storage"
        );
    }
    let key = records.current_key("tenant-a").await.unwrap().unwrap();
    assert!(
        key.wrapped.len() > 32,
        "the data key is stored wrapped, not raw"
    );
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_connection_or_tenant_does_not_decrypt() {
    let records = Arc::new(MemoryVaultRecords::default());
    let (ring, _) = local_ring();
    let store = EncryptedSecretStore::new(ring, records.clone());
    let (a1, a2, b1) = (
        scope("tenant-a", "conn-1"),
        scope("tenant-a", "conn-2"),
        scope("tenant-b", "conn-1"),
    );
    put(&store, &a1, "access-token", "token-of-a1").await;
    put(&store, &b1, "other", "token-of-b1").await;
    let stolen = records.secret(&a1, "access-token").await.unwrap().unwrap();

    records.put_raw(&a2, "access-token", stolen.clone());
    let error = store.get(&a2, "access-token").await.unwrap_err();
    assert!(error.to_string().contains("does not decrypt"), "{error}");
    assert!(!error.to_string().contains("token-of-a1"));

    records.put_raw(&b1, "access-token", stolen.clone());
    assert!(store.get(&b1, "access-token").await.is_err());

    records.put_raw(&a1, "refresh-token", stolen);
    assert!(
        store.get(&a1, "refresh-token").await.is_err(),
        "another name in the same row set fails too"
    );
    assert_eq!(
        store.get(&a1, "access-token").await.unwrap().as_deref(),
        Some("token-of-a1")
    );
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_plugin_does_not_decrypt() {
    let records = Arc::new(MemoryVaultRecords::default());
    let (ring, _) = local_ring();
    let store = EncryptedSecretStore::new(ring, records.clone());
    let (meta, snoop) = (
        SecretScope::new("tenant-a", "meta", "conn-1"),
        SecretScope::new("tenant-a", "snoop", "conn-1"),
    );
    put(&store, &meta, "access-token", "token-of-meta").await;
    assert_eq!(
        store.get(&snoop, "access-token").await.unwrap(),
        None,
        "another plugin's secret is not its own"
    );
    let stolen = records
        .secret(&meta, "access-token")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stolen.aad_version, AAD_V2,
        "written under the current format"
    );
    records.put_raw(&snoop, "access-token", stolen);
    let error = store.get(&snoop, "access-token").await.unwrap_err();
    assert!(error.to_string().contains("does not decrypt"), "{error}");
    assert!(!error.to_string().contains("token-of-meta"));
}

/// Seals `value` the way the vault did before the plugin was bound in (format 1).
async fn seal_legacy(
    store: &EncryptedSecretStore,
    records: &MemoryVaultRecords,
    provider: &LocalKeyProvider,
    scope: &SecretScope,
    name: &str,
    value: &str,
) {
    // Any write creates the tenant's data key.
    let other = SecretScope::new(&scope.tenant, "other", "conn-other");
    put(store, &other, "x", "creates-the-key").await;
    let wrapped = records.current_key(&scope.tenant).await.unwrap().unwrap();
    let key = provider
        .unwrap(&scope.tenant, &wrapped.wrapped)
        .await
        .unwrap();
    let aad = secret_aad_as(AAD_V1, scope, name, wrapped.version).unwrap();
    records.put_raw(
        scope,
        name,
        SealedSecret {
            key_version: wrapped.version,
            aad_version: AAD_V1,
            sealed: key.seal(&aad, value.as_bytes()),
        },
    );
}

#[tokio::test]
async fn secrets_sealed_before_the_plugin_was_bound_keep_opening_and_move_on_write() {
    let records = Arc::new(MemoryVaultRecords::default());
    let (ring, provider) = local_ring();
    let store = EncryptedSecretStore::new(ring, records.clone());
    let meta = SecretScope::new("tenant-a", "meta", "conn-1");
    seal_legacy(
        &store,
        &records,
        &provider,
        &meta,
        "refresh-token",
        "legacy-refresh",
    )
    .await;
    assert_eq!(
        store.get(&meta, "refresh-token").await.unwrap().as_deref(),
        Some("legacy-refresh")
    );
    // The next write seals it under the current format.
    put(&store, &meta, "refresh-token", "rotated-refresh").await;
    let stored = records
        .secret(&meta, "refresh-token")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.aad_version, AAD_V2);
    assert_eq!(
        store.get(&meta, "refresh-token").await.unwrap().as_deref(),
        Some("rotated-refresh")
    );
    // So does re-encryption.
    seal_legacy(&store, &records, &provider, &meta, "api-key", "legacy-key").await;
    store.reencrypt_tenant("tenant-a").await.unwrap();
    let moved = records.secret(&meta, "api-key").await.unwrap().unwrap();
    assert_eq!((moved.key_version, moved.aad_version), (2, AAD_V2));
    assert_eq!(
        store.get(&meta, "api-key").await.unwrap().as_deref(),
        Some("legacy-key")
    );
    // An unknown format is refused, naming it.
    let mut unknown = moved.clone();
    unknown.aad_version = 9;
    records.put_raw(&meta, "api-key", unknown);
    let error = store.get(&meta, "api-key").await.unwrap_err();
    assert!(error.to_string().contains("unknown format v9"), "{error}");
}

async fn seed(store: &EncryptedSecretStore) -> Vec<(SecretScope, String, String)> {
    let mut written = Vec::new();
    for tenant in ["t1", "t2", "t3"] {
        for connection in ["c1", "c2"] {
            let s = scope(tenant, connection);
            let value = format!("secret-of-{tenant}-{connection}");
            put(store, &s, "access-token", &value).await;
            written.push((s, "access-token".to_string(), value));
        }
    }
    written
}

async fn all_readable(store: &EncryptedSecretStore, written: &[(SecretScope, String, String)]) {
    for (s, name, value) in written {
        assert_eq!(
            store.get(s, name).await.unwrap().as_deref(),
            Some(value.as_str()),
            "{s:?}"
        );
    }
}

#[tokio::test]
async fn rotation_rewraps_every_key_resumably_and_keeps_every_secret_readable() {
    let records = Arc::new(MemoryVaultRecords::default());
    let (old_ring, old) = local_ring();
    let written = seed(&EncryptedSecretStore::new(old_ring, records.clone())).await;

    let new = Arc::new(LocalKeyProvider::from_key(DataKey::generate()));
    let rotating = EncryptedSecretStore::new(
        KeyRing::new(new.clone()).with_older(old.clone()),
        records.clone(),
    );
    // Interrupted after one key...
    let first = rotating.rewrap_keys(Some(1)).await.unwrap();
    assert_eq!(first.rewrapped, 1);
    all_readable(&rotating, &written).await;
    // ...and resumed.
    let rest = rotating.rewrap_keys(None).await.unwrap();
    assert_eq!((rest.rewrapped, rest.already_current), (2, 1));
    assert_eq!(
        rotating.rewrap_keys(None).await.unwrap().rewrapped,
        0,
        "nothing left to do"
    );

    // The old key-encryption key is no longer needed.
    let after = EncryptedSecretStore::new(KeyRing::new(new), records.clone());
    all_readable(&after, &written).await;
    let without_new = EncryptedSecretStore::new(KeyRing::new(old), records.clone());
    assert!(
        without_new
            .get(&written[0].0, "access-token")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn reencryption_moves_secrets_to_a_fresh_data_key() {
    let records = Arc::new(MemoryVaultRecords::default());
    let (ring, _) = local_ring();
    let store = EncryptedSecretStore::new(ring, records.clone());
    let written = seed(&store).await;
    let report = store.reencrypt_tenant("t1").await.unwrap();
    assert_eq!(report.reencrypted, 2);
    assert_eq!(records.current_key("t1").await.unwrap().unwrap().version, 2);
    assert!(
        records
            .secrets_older_than("t1", 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        records.current_key("t2").await.unwrap().unwrap().version,
        1,
        "other tenants untouched"
    );
    all_readable(&store, &written).await;
}

#[tokio::test]
async fn the_vault_capability_is_scoped_to_its_connection() {
    let secrets: Arc<dyn SecretStore> = {
        let (ring, _) = local_ring();
        Arc::new(EncryptedSecretStore::new(
            ring,
            Arc::new(MemoryVaultRecords::default()),
        ))
    };
    let app = Arc::new(BTreeMap::from([(
        "client-secret".to_string(),
        SecretSource::Value("app-secret-value".into()),
    )]));
    let mut call_1 = VaultState::new(
        secrets.clone(),
        Some(scope("t", "c1")),
        app.clone(),
        Arc::default(),
        Redactor::default(),
    );
    call_1
        .put("access-token".into(), "token-c1".into())
        .unwrap()
        .unwrap();
    assert_eq!(
        call_1
            .get("access-token".into())
            .await
            .unwrap()
            .unwrap()
            .as_deref(),
        Some("token-c1"),
        "a call reads its own writes"
    );
    call_1.commit().await.unwrap();

    let mut call_2 = VaultState::new(
        secrets.clone(),
        Some(scope("t", "c2")),
        app.clone(),
        Arc::default(),
        Redactor::default(),
    );
    assert_eq!(
        call_2.get("access-token".into()).await.unwrap().unwrap(),
        None,
        "another connection sees nothing"
    );
    assert_eq!(
        call_2
            .app_secret("client-secret".into())
            .unwrap()
            .as_deref(),
        Some("app-secret-value")
    );
    assert!(matches!(
        call_2.get("../etc".into()).await.unwrap(),
        Err(VaultError::InvalidName(_))
    ));

    let mut no_connection =
        VaultState::new(secrets, None, app, Arc::default(), Redactor::default());
    assert!(matches!(
        no_connection.get("access-token".into()).await.unwrap(),
        Err(VaultError::NoConnection)
    ));
}

#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Routes this thread's tracing events into a buffer until the guard drops.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn a_vault_value_written_to_the_log_is_redacted() {
    let (captured, _guard) = capture_logs();

    let memory = Arc::new(postd_host::capability::vault::MemorySecretStore::default());
    memory.insert(&scope("t", "c"), "access-token", "EAAB-leaky-token-123");
    let redactor = Redactor::default();
    let app = Arc::new(BTreeMap::from([(
        "client-secret".to_string(),
        SecretSource::Value("app-secret-456".into()),
    )]));
    let mut vault = VaultState::new(
        memory,
        Some(scope("t", "c")),
        app,
        Arc::default(),
        redactor.clone(),
    );
    let token = vault
        .get("access-token".into())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let secret = vault.app_secret("client-secret".into()).unwrap().unwrap();

    let context = CallContext::tenant("t").with_connection("c");
    let mut log = LogState::new(Arc::from("meta"), Arc::from("1.0.0"), context, redactor);
    log.emit(
        Level::Info,
        format!("calling with {token}"),
        vec![
            ("auth".into(), format!("Bearer {token}")),
            ("app".into(), secret),
        ],
    );
    log.captured_output("stdout", b"debug: EAAB-leaky-token-123\n");

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("calling with [redacted]"), "{text}");
    assert!(text.contains("Bearer [redacted]"), "{text}");
    assert!(!text.contains("EAAB-leaky-token-123"), "{text}");
    assert!(!text.contains("app-secret-456"), "{text}");
}

#[tokio::test]
async fn a_call_that_logs_too_much_has_the_rest_dropped_and_counted() {
    let (captured, _guard) = capture_logs();

    let mut log = LogState::new(
        Arc::from("chatty"),
        Arc::from("1.0.0"),
        CallContext::tenant("t"),
        Redactor::default(),
    );
    let line = "x".repeat(1024);
    for _ in 0..100 {
        log.emit(Level::Info, line.clone(), vec![]);
    }
    assert_eq!(
        log.dropped(),
        100 - 64,
        "64 KiB of 1 KiB events fit the budget"
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches(&line).count(), 64);
    assert_eq!(
        text.matches("log budget spent").count(),
        1,
        "the overflow is reported once"
    );
}

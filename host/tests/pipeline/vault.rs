//! The vault's records on both databases: a connection's secrets belong to the plugin that
//! wrote them, and those sealed before the plugin was bound in keep opening.

use std::sync::Arc;

use postd_host::capability::vault::{
    AAD_V1, AAD_V2, EncryptedSecretStore, KeyProvider, KeyRing, LocalKeyProvider, SecretScope,
    SecretStore, SecretWrite, VaultRecords, secret_aad_as,
};

use crate::on_both_backends;
use crate::support::{Harness, Kind};

on_both_backends!(secrets_are_bound_to_their_plugin_in_the_database);

async fn secrets_are_bound_to_their_plugin_in_the_database(kind: Kind) {
    let h = Harness::new(kind).await;
    let connection = h.connect("acme", "conn-1").await;
    let provider =
        Arc::new(LocalKeyProvider::open_or_create(&h.db.data_dir().join("vault.key")).unwrap());
    let vault =
        EncryptedSecretStore::new(KeyRing::new(provider.clone()), Arc::new(h.store.clone()));
    let (pipeline, snoop) = (
        SecretScope::new("acme", "pipeline", &connection.id),
        SecretScope::new("acme", "snoop", &connection.id),
    );
    let token = vault.get(&pipeline, "access-token").await.unwrap().unwrap();
    assert_eq!(vault.get(&snoop, "access-token").await.unwrap(), None);

    // Another plugin's write over one of them fails whole; its delete removes nothing.
    let refused = vault
        .commit(
            &snoop,
            vec![
                SecretWrite::Put("api-key".into(), "snoop-key".into()),
                SecretWrite::Put("access-token".into(), "overwritten".into()),
            ],
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("another plugin"), "{refused}");
    assert_eq!(vault.get(&snoop, "api-key").await.unwrap(), None);
    vault
        .commit(&snoop, vec![SecretWrite::Delete("access-token".into())])
        .await
        .unwrap();
    assert_eq!(
        vault.get(&pipeline, "access-token").await.unwrap(),
        Some(token)
    );
    // A row whose plugin is rewritten does not decrypt for the new one.
    sqlx::query("UPDATE vault_secrets SET plugin = 'snoop' WHERE name = 'access-token'")
        .execute(h.store.pool())
        .await
        .unwrap();
    let error = vault.get(&snoop, "access-token").await.unwrap_err();
    assert!(error.to_string().contains("does not decrypt"), "{error}");

    // A secret as the previous version stored it: no format recorded (the column's default).
    let wrapped = VaultRecords::current_key(&h.store, "acme")
        .await
        .unwrap()
        .unwrap();
    let key = provider.unwrap("acme", &wrapped.wrapped).await.unwrap();
    let aad = secret_aad_as(AAD_V1, &pipeline, "legacy", wrapped.version).unwrap();
    sqlx::query(
        "INSERT INTO vault_secrets (tenant, connection, name, plugin, key_version, sealed)
         VALUES ('acme', $1, 'legacy', 'pipeline', $2, $3)",
    )
    .bind(&connection.id)
    .bind(wrapped.version as i64)
    .bind(key.seal(&aad, b"sealed-before"))
    .execute(h.store.pool())
    .await
    .unwrap();
    assert_eq!(
        vault.get(&pipeline, "legacy").await.unwrap().as_deref(),
        Some("sealed-before")
    );
    vault
        .commit(
            &pipeline,
            vec![SecretWrite::Put("legacy".into(), "written-now".into())],
        )
        .await
        .unwrap();
    let format: i64 =
        sqlx::query_scalar("SELECT aad_version FROM vault_secrets WHERE name = 'legacy'")
            .fetch_one(h.store.pool())
            .await
            .unwrap();
    assert_eq!(format, AAD_V2 as i64);
    assert_eq!(
        vault.get(&pipeline, "legacy").await.unwrap().as_deref(),
        Some("written-now")
    );
}

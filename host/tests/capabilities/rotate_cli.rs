//! `postd-host vault rotate` against a real SQLite file: resumable, nothing lost.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use postd_host::capability::vault::{
    EncryptedSecretStore, KeyRing, LocalKeyProvider, SecretScope, SecretStore, SecretWrite,
    VaultRecords,
};
use postd_host::store::Store;

fn rotate(data: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(["vault", "rotate"])
        .args(args)
        .env("POSTD_DATA_DIR", data)
        .env("POSTD_LOG", "error")
        .output()
        .expect("running postd-host vault rotate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn vault(data: &Path, key: &Path) -> (EncryptedSecretStore, Store) {
    let store = Store::open(&format!("sqlite://{}", data.join("postd.db").display()))
        .await
        .unwrap();
    let provider = LocalKeyProvider::open_or_create(key).unwrap();
    (
        EncryptedSecretStore::new(KeyRing::new(Arc::new(provider)), Arc::new(store.clone())),
        store,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_through_the_cli_resumes_and_keeps_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (old_key, new_key) = (data.join("old.key"), data.join("new.key"));
    let scopes: Vec<SecretScope> = ["t1", "t2", "t3"]
        .iter()
        .map(|t| SecretScope::new(*t, "meta", "conn"))
        .collect();
    {
        let (vault, _) = vault(data, &old_key).await;
        for scope in &scopes {
            let value = format!("refresh-of-{}", scope.tenant);
            vault
                .commit(scope, vec![SecretWrite::Put("refresh-token".into(), value)])
                .await
                .unwrap();
        }
    }
    let from = format!("local:{}", old_key.display());
    let to = format!("local:{}", new_key.display());

    let (ok, out) = rotate(data, &["--from", &from, "--to", &to, "--batch", "1"]);
    assert!(ok, "{out}");
    assert!(out.contains("re-wrapped 1 data keys"), "{out}");
    let (ok, out) = rotate(data, &["--from", &from, "--to", &to, "--reencrypt"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("re-wrapped 2 data keys (1 already under the new key)"),
        "{out}"
    );
    assert!(out.contains("tenant t2: re-encrypted 1 secrets"), "{out}");

    let (vault, store) = vault(data, &new_key).await;
    for scope in &scopes {
        let value = vault.get(scope, "refresh-token").await.unwrap();
        assert_eq!(value, Some(format!("refresh-of-{}", scope.tenant)));
    }
    for scope in &scopes {
        assert_eq!(
            store
                .current_key(&scope.tenant)
                .await
                .unwrap()
                .unwrap()
                .version,
            2
        );
        let left = store.secrets_older_than(&scope.tenant, 2).await.unwrap();
        assert!(left.is_empty(), "every secret moved to the fresh data key");
    }
}

#[test]
fn rotation_refuses_a_missing_old_key_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("local:{}", dir.path().join("absent.key").display());
    let new = format!("local:{}", dir.path().join("new.key").display());
    let (ok, out) = rotate(dir.path(), &["--from", &missing, "--to", &new]);
    assert!(!ok);
    assert!(
        out.contains("no such key file") && out.contains("run the same command again"),
        "{out}"
    );
    let (ok, out) = rotate(dir.path(), &["--from", "vault-key", "--to", &new]);
    assert!(!ok);
    assert!(
        out.contains("expected local:<key file> or aws-kms:<key id>"),
        "{out}"
    );
    let (ok, out) = rotate(dir.path(), &["--to", &new]);
    assert!(!ok);
    assert!(
        out.contains("required arguments were not provided") && out.contains("--from"),
        "{out}"
    );
}

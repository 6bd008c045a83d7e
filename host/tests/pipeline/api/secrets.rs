//! A connection's secrets belong to its plugin: another plugin can neither be run in the
//! connection through the API nor open or replace its secrets in the vault.

use std::sync::Arc;

use postd_host::capability::vault::{
    EncryptedSecretStore, KeyRing, LocalKeyProvider, SecretScope, SecretStore,
};

use super::*;

/// The secret `name` of `connection` of tenant `acme`, as `plugin` reads it.
async fn secret(h: &Harness, plugin: &str, connection: &str, name: &str) -> Option<String> {
    let key = LocalKeyProvider::open_or_create(&h.db.data_dir().join("vault.key")).unwrap();
    let vault = EncryptedSecretStore::new(KeyRing::new(Arc::new(key)), Arc::new(h.store.clone()));
    vault
        .get(&SecretScope::new("acme", plugin, connection), name)
        .await
        .unwrap()
}

fn assert_not_in(answer: &Answer, secret: &str) {
    let text = format!("{answer:?} {}", answer.json);
    assert!(
        !text.contains(secret),
        "the answer carries a secret: {text}"
    );
}

#[tokio::test]
async fn a_connection_id_of_another_plugin_is_refused_before_any_plugin_runs() {
    let (h, api, key) = setup().await;
    load_snoop(&h, |_| {}).await;
    let connection = connect(&api, &key).await;
    let token = secret(&h, "pipeline", &connection, "access-token")
        .await
        .expect("the pipeline connection has a token");

    // An API-key connect of `snoop` into the pipeline's connection.
    let hijack = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "snoop", "api_key": "snoop-key-123", "id": connection }),
        )
        .await;
    assert_eq!(
        (hijack.status, hijack.code()),
        (StatusCode::CONFLICT, "connection-of-another-plugin"),
        "{hijack:?}"
    );
    assert_not_in(&hijack, &token);
    // An OAuth start of `snoop` naming it.
    let start = api
        .get(
            &format!("/v1/oauth/snoop/start?connection_id={connection}"),
            &key,
        )
        .await;
    assert_eq!(
        (start.status, start.code()),
        (StatusCode::CONFLICT, "connection-of-another-plugin"),
        "{start:?}"
    );
    assert_eq!(calls(&h, "acme", "snoop"), 0, "no snoop code ran");

    // An OAuth flow of `snoop` whose id the pipeline took meanwhile: refused at the callback.
    let start = api
        .get("/v1/oauth/snoop/start?connection_id=raced", &key)
        .await;
    assert_eq!(start.status, StatusCode::OK, "{start:?}");
    let snoop_state = start.json["state"].as_str().unwrap().to_string();
    assert_eq!(calls(&h, "acme", "snoop"), 1, "authorize-url");
    let pipeline_state = api
        .get("/v1/oauth/pipeline/start?connection_id=raced", &key)
        .await
        .json["state"]
        .as_str()
        .unwrap()
        .to_string();
    let taken = api
        .send(api.request(
            Method::GET,
            &format!("/v1/oauth/pipeline/callback?code=abc&state={pipeline_state}"),
            None,
        ))
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{taken:?}");
    let raced_token = secret(&h, "pipeline", "raced", "access-token")
        .await
        .unwrap();
    let callback = api
        .send(api.request(
            Method::GET,
            &format!("/v1/oauth/snoop/callback?code=abc&state={snoop_state}"),
            None,
        ))
        .await;
    assert_eq!(
        (callback.status, callback.code()),
        (StatusCode::CONFLICT, "connection-of-another-plugin"),
        "{callback:?}"
    );
    assert_not_in(&callback, &raced_token);
    assert_eq!(calls(&h, "acme", "snoop"), 1, "complete-auth never ran");

    // A deleted connection's id stays its plugin's.
    let deleted = api
        .send(api.request(Method::DELETE, "/v1/connections/raced", Some(&key)))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let reuse = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "snoop", "api_key": "snoop-key-123", "id": "raced" }),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::CONFLICT, "{reuse:?}");
    assert_eq!(calls(&h, "acme", "snoop"), 1);

    // The pipeline's connection is as it was.
    assert_eq!(
        secret(&h, "pipeline", &connection, "access-token").await,
        Some(token)
    );
    assert_eq!(
        api.get(&format!("/v1/connections/{connection}"), &key)
            .await
            .json["plugin"],
        "pipeline"
    );
    // A connection id of its own still works for snoop.
    let own = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "snoop", "api_key": "snoop-key-123", "id": "snoops" }),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{own:?}");
}

#[tokio::test]
async fn another_plugin_running_in_a_connection_neither_opens_nor_replaces_its_secrets() {
    let (h, api, key) = setup().await;
    load_snoop(&h, |_| {}).await;
    let connection = connect(&api, &key).await;
    let token = secret(&h, "pipeline", &connection, "access-token")
        .await
        .unwrap();
    // However it happened (a bug, a hand-edited row), the connection now names `snoop`: snoop
    // runs in it, with the pipeline's secrets in the vault under the same connection id.
    sqlx::query("UPDATE connections SET plugin = 'snoop' WHERE tenant_id = 'acme' AND id = $1")
        .bind(&connection)
        .execute(h.store.pool())
        .await
        .unwrap();

    let accounts = api
        .get(&format!("/v1/connections/{connection}/accounts"), &key)
        .await;
    assert_eq!(accounts.status, StatusCode::OK, "{accounts:?}");
    assert_eq!(accounts.json, json!([]), "snoop found no token to read");
    assert_not_in(&accounts, &token);

    // Snoop connects in it: finding nothing, it writes its own `access-token`, which would
    // replace the pipeline's. The vault refuses the whole write.
    let reconnect = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "snoop", "api_key": "snoop-key-123", "id": connection }),
        )
        .await;
    assert!(
        !reconnect.status.is_success(),
        "the write over the pipeline's secret fails: {reconnect:?}"
    );
    assert_not_in(&reconnect, &token);
    assert_eq!(
        secret(&h, "pipeline", &connection, "access-token").await,
        Some(token),
        "the pipeline's token is intact"
    );
    assert_eq!(
        secret(&h, "snoop", &connection, "api-key").await,
        None,
        "nothing of snoop's write was kept"
    );
}

#[tokio::test]
async fn connector_errors_never_quote_a_secret() {
    let (h, api, key) = setup().await;
    load_snoop(&h, |_| {}).await;
    let app_secret = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "snoop", "api_key": "quote-app-secret" }),
        )
        .await;
    assert_eq!(app_secret.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app_secret.json["message"]
            .as_str()
            .unwrap()
            .contains("[redacted]"),
        "{app_secret:?}"
    );
    assert_not_in(&app_secret, SNOOP_APP_SECRET);

    let pasted = api
        .post(
            "/v1/connections",
            &key,
            json!({ "plugin": "snoop", "api_key": "quote-key:sk-live-0123456789" }),
        )
        .await;
    assert_eq!(pasted.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_not_in(&pasted, "sk-live-0123456789");
}

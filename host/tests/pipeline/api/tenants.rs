//! Tenant administration through the admin API: tenants listed, read, disabled (keys refused,
//! jobs held), re-enabled (jobs resumed) and deleted (secrets erased, jobs cancelled, keys
//! revoked); named keys created, rotated with a grace period and revoked; the audit log read
//! with filters; malformed requests refused without a change.

use super::*;
use crate::on_both_backends;
use crate::support::Harness;

fn admin(api: &Api, method: Method, path: &str) -> reqwest::RequestBuilder {
    api.request(method, path, Some(ADMIN_KEY))
}

async fn admin_post(api: &Api, path: &str, body: Value) -> Answer {
    api.send(with_json(admin(api, Method::POST, path), &body))
        .await
}

async fn admin_get(api: &Api, path: &str) -> Answer {
    api.send(admin(api, Method::GET, path)).await
}

/// Rows of `table` whose column `column` is `tenant`.
async fn rows(h: &Harness, table: &str, column: &str, tenant: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {table} WHERE {column} = $1"
    )))
    .bind(tenant)
    .fetch_one(h.store.pool())
    .await
    .unwrap()
}

async fn job_states(h: &Harness, tenant: &str) -> Vec<(String, Option<String>)> {
    h.store
        .tenant(tenant)
        .jobs(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.state.as_str().to_string(), j.state_reason))
        .collect()
}

on_both_backends!(a_tenant_is_disabled_re_enabled_and_deleted);

async fn a_tenant_is_disabled_re_enabled_and_deleted(kind: Kind) {
    let h = Harness::new(kind).await;
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    for (id, name) in [("initech", "Initech"), ("globex", "Globex")] {
        h.clock.advance(1);
        let created = admin_post(&api, "/admin/tenants", json!({ "id": id, "name": name })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        assert!(created.json["key_id"].as_str().unwrap().starts_with("key_"));
    }
    let (listed, pages) = all_pages(&api, ADMIN_KEY, "/admin/tenants?", 2).await;
    let ids: Vec<&str> = listed.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!((ids, pages), (vec!["acme", "initech", "globex"], 2));
    assert!(listed.iter().all(|t| t["status"] == "active"));

    // A post waits to run when the tenant is disabled.
    let connection = connect(&api, &key).await;
    let accepted = publish(&api, &key, "k1", &post_body(&connection, "held")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    let disabled = admin_post(
        &api,
        "/admin/tenants/acme/disable",
        json!({ "reason": "invoice unpaid" }),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{disabled:?}");
    assert_eq!(
        (&disabled.json["status"], &disabled.json["disabled_reason"]),
        (&json!("disabled"), &json!("invoice unpaid"))
    );
    let refused = api.get("/v1/connections", &key).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "tenant-disabled"),
        "{refused:?}"
    );
    assert_eq!(h.pipeline.run_due().await, 0, "a held job is not claimed");
    assert_eq!(
        job_states(&h, "acme").await,
        vec![("paused".into(), Some("tenant-disabled".into()))]
    );
    assert_eq!(
        h.platform.with(|s| s.published.len()),
        0,
        "nothing reached the platform"
    );
    // Other tenants are untouched.
    let initech = admin_get(&api, "/admin/tenants/initech").await;
    assert_eq!(initech.json["status"], "active");
    let only_disabled = admin_get(&api, "/admin/tenants?status=disabled").await;
    assert_eq!(only_disabled.json.as_array().unwrap().len(), 1);
    assert_eq!(only_disabled.json[0]["id"], "acme");

    let seen = admin_get(&api, "/admin/tenants/acme").await;
    assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
    assert_eq!(seen.json["connections"], json!({ "healthy": 1 }));
    assert_eq!(
        seen.json["plugins"],
        json!([{ "plugin": "pipeline", "enabled": true, "source": "plugins.toml" }])
    );
    assert_eq!(seen.json["keys"].as_array().unwrap().len(), 1);
    let connections = admin_get(&api, "/admin/tenants/acme/connections?limit=10").await;
    assert_eq!(connections.json[0]["id"], connection.as_str());

    let enabled = admin_post(&api, "/admin/tenants/acme/enable", json!({})).await;
    assert_eq!(enabled.json["status"], "active", "{enabled:?}");
    assert_eq!(
        api.get("/v1/connections", &key).await.status,
        StatusCode::OK
    );
    assert_eq!(h.pipeline.run_due().await, 1, "the held job runs");
    assert_eq!(job_states(&h, "acme").await[0].0, "published");

    let audit = admin_get(&api, "/admin/audit?tenant=acme&action=tenant.disabled").await;
    assert_eq!(audit.json.as_array().unwrap().len(), 1, "{audit:?}");
    assert_eq!(audit.json[0]["actor"], "admin");
    assert_eq!(audit.json[0]["detail"], "jobs_held=1 reason=invoice unpaid");
    let resumed = admin_get(&api, "/admin/audit?action=tenant.enabled").await;
    assert_eq!(resumed.json[0]["detail"], "resumed_jobs=1");

    // A second post waits; deleting the tenant cancels it and erases every secret.
    let queued = publish(&api, &key, "k2", &post_body(&connection, "never")).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED);
    assert!(rows(&h, "vault_secrets", "tenant", "acme").await > 0);
    let deleted = api
        .send(admin(&api, Method::DELETE, "/admin/tenants/acme"))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_eq!(deleted.json["jobs_cancelled"], 1);
    assert_eq!(deleted.json["keys_revoked"], 1);
    assert_eq!(deleted.json["connections_deleted"], 1);
    assert!(deleted.json["secrets_erased"].as_u64().unwrap() > 0);
    assert_eq!(rows(&h, "vault_secrets", "tenant", "acme").await, 0);
    assert_eq!(rows(&h, "vault_keys", "tenant", "acme").await, 0);
    let gone = api.get("/v1/connections", &key).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED, "{gone:?}");
    assert_eq!(h.pipeline.run_due().await, 0);
    assert_eq!(
        h.platform.with(|s| s.published.len()),
        1,
        "only the first post"
    );
    let tombstone = admin_get(&api, "/admin/tenants/acme").await;
    assert_eq!(tombstone.json["status"], "deleted");
    let again = admin_post(&api, "/admin/tenants", json!({ "id": "acme", "name": "x" })).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "ids are not reused");
    let key_for_deleted =
        admin_post(&api, "/admin/tenants/acme/keys", json!({ "name": "x" })).await;
    assert_eq!(
        (key_for_deleted.status, key_for_deleted.code()),
        (StatusCode::CONFLICT, "tenant-deleted")
    );
    let deleted_twice = api
        .send(admin(&api, Method::DELETE, "/admin/tenants/acme"))
        .await;
    assert_eq!(deleted_twice.status, StatusCode::NOT_FOUND);
    let audit = admin_get(&api, "/admin/audit?tenant=acme&action=tenant.deleted").await;
    assert_eq!(audit.json.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn named_keys_rotate_with_a_grace_period_and_revoke() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    let first = h.tenant_key("acme").await;
    let ci = admin_post(&api, "/admin/tenants/acme/keys", json!({ "name": "ci" })).await;
    assert_eq!(ci.status, StatusCode::CREATED, "{ci:?}");
    let ci_key = ci.json["api_key"].as_str().unwrap().to_string();
    let ci_id = ci.json["id"].as_str().unwrap().to_string();
    assert_eq!(ci.json["name"], "ci");
    assert_eq!(ci.json["prefix"], &ci_key[..12]);
    assert_eq!(
        api.get("/v1/connections", &ci_key).await.status,
        StatusCode::OK
    );
    let listed = admin_get(&api, "/admin/tenants/acme/keys").await;
    assert_eq!(listed.json.as_array().unwrap().len(), 2);
    let text = listed.json.to_string();
    assert!(
        !text.contains(&ci_key) && !text.contains(&first),
        "a listing never shows a key: {text}"
    );

    let rotated = admin_post(
        &api,
        &format!("/admin/tenants/acme/keys/{ci_id}/rotate"),
        json!({ "grace_secs": 60 }),
    )
    .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{rotated:?}");
    assert_eq!(rotated.json["name"], "ci");
    let new_key = rotated.json["api_key"].as_str().unwrap().to_string();
    let new_id = rotated.json["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get("/v1/connections", &ci_key).await.status,
        StatusCode::OK,
        "in its grace"
    );
    assert_eq!(
        api.get("/v1/connections", &new_key).await.status,
        StatusCode::OK
    );
    h.clock.advance(61_000);
    assert_eq!(
        api.get("/v1/connections", &ci_key).await.status,
        StatusCode::UNAUTHORIZED,
        "after its grace"
    );
    assert_eq!(
        api.get("/v1/connections", &new_key).await.status,
        StatusCode::OK
    );
    let stale = admin_post(
        &api,
        &format!("/admin/tenants/acme/keys/{ci_id}/rotate"),
        json!({}),
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "a revoked key is not rotated"
    );

    let revoke = |id: String| {
        let api = &api;
        async move {
            api.send(admin(
                api,
                Method::DELETE,
                &format!("/admin/tenants/acme/keys/{id}"),
            ))
            .await
        }
    };
    let revoked = revoke(new_id.clone()).await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(
        api.get("/v1/connections", &new_key).await.status,
        StatusCode::UNAUTHORIZED
    );
    h.clock.advance(5_000);
    let twice = revoke(new_id).await;
    assert_eq!(
        twice.json["revoked_at"], revoked.json["revoked_at"],
        "revoked once"
    );
    assert_eq!(
        revoke("key_nope".into()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/v1/connections", &first).await.status,
        StatusCode::OK
    );

    // The audit trail, newest first and paged; it names keys by id, never by value.
    let (entries, pages) = all_pages(&api, ADMIN_KEY, "/admin/audit?tenant=acme", 2).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "api-key.revoked",
            "api-key.revoked",
            "api-key.rotated",
            "api-key.created",
            "api-key.created",
            "api-key.created",
        ]
    );
    assert_eq!(pages, 4);
    let text = serde_json::to_string(&entries).unwrap();
    for key in [&first, &ci_key, &new_key] {
        assert!(!text.contains(key.as_str()), "a key in the audit log");
    }
    let since = entries[1]["at"].as_i64().unwrap();
    let recent = admin_get(&api, &format!("/admin/audit?tenant=acme&since_ms={since}")).await;
    assert_eq!(recent.json.as_array().unwrap().len(), 2, "{recent:?}");
    let until = admin_get(&api, &format!("/admin/audit?tenant=acme&until_ms={since}")).await;
    assert_eq!(until.json.as_array().unwrap().len(), 4, "{until:?}");
    let by_nobody = admin_get(&api, "/admin/audit?actor=nobody").await;
    assert_eq!(by_nobody.json, json!([]));
}

#[tokio::test]
async fn malformed_tenant_requests_are_refused_and_change_nothing() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    let key = h.tenant_key("acme").await;
    let before = admin_get(&api, "/admin/tenants/acme").await.json;
    let audit_before = admin_get(&api, "/admin/audit").await.json;
    for (path, body) in [
        ("/admin/tenants/acme/keys", json!({ "name": "" })),
        ("/admin/tenants/acme/keys", json!({ "name": "a\u{7}b" })),
        (
            "/admin/tenants/acme/keys",
            json!({ "name": "x".repeat(65) }),
        ),
        (
            "/admin/tenants/acme/keys",
            json!({ "name": "ok", "scope": "all" }),
        ),
        (
            "/admin/tenants/acme/disable",
            json!({ "reason": "r".repeat(501) }),
        ),
        ("/admin/tenants/acme/disable", json!({ "why": "typo" })),
        ("/admin/tenants", json!({ "id": "bad id", "name": "x" })),
        (
            "/admin/tenants",
            json!({ "id": "ok", "name": "n".repeat(201) }),
        ),
    ] {
        let answer = admin_post(&api, path, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {answer:?}"
        );
    }
    let first = before["keys"][0]["id"].as_str().unwrap();
    let long_grace = admin_post(
        &api,
        &format!("/admin/tenants/acme/keys/{first}/rotate"),
        json!({ "grace_secs": 1_000_000_000u64 }),
    )
    .await;
    assert_eq!(long_grace.status, StatusCode::BAD_REQUEST);
    for path in [
        "/admin/tenants?status=sleeping",
        "/admin/tenants?cursor=nodot",
        "/admin/audit?since_ms=soon",
        "/admin/audit?cursor=%01",
        "/admin/audit?colour=red",
    ] {
        let answer = admin_get(&api, path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}: {answer:?}");
    }
    for path in ["/admin/tenants/nope", "/admin/tenants/nope/plugins"] {
        assert_eq!(
            admin_get(&api, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in ["/admin/tenants/nope/disable", "/admin/tenants/nope/enable"] {
        let answer = admin_post(&api, path, json!({})).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    // A tenant's key is not the admin key.
    let as_tenant = api
        .send(api.request(Method::POST, "/admin/tenants/acme/disable", Some(&key)))
        .await;
    assert_eq!(as_tenant.status, StatusCode::UNAUTHORIZED);
    // Past the cap on working keys.
    for i in 1..MAX_ACTIVE_KEYS {
        let made = admin_post(
            &api,
            "/admin/tenants/acme/keys",
            json!({ "name": format!("k{i}") }),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "key {i}");
    }
    let over = admin_post(
        &api,
        "/admin/tenants/acme/keys",
        json!({ "name": "one-too-many" }),
    )
    .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{over:?}");

    let after = admin_get(&api, "/admin/tenants/acme").await.json;
    assert_eq!(after["status"], before["status"]);
    assert_eq!(after["disabled_reason"], before["disabled_reason"]);
    assert_eq!(
        api.get("/v1/connections", &key).await.status,
        StatusCode::OK
    );
    let audit_after = admin_get(&api, "/admin/audit?action=tenant.disabled")
        .await
        .json;
    assert_eq!(audit_after, json!([]), "nothing disabled: {audit_before}");
}

const MAX_ACTIVE_KEYS: i64 = postd_host::store::MAX_ACTIVE_KEYS;

/// `postd-host <args>` on the database at `url`: exit code and standard output.
fn cli(args: &[&str], url: &str) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(args)
        .env("POSTD_DATABASE_URL", url)
        .env("POSTD_LOG", "warn")
        .env_remove("POSTD_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
    )
}

/// Two `postd-host` processes on one PostgreSQL database, as two replicas run: a tenant
/// disabled through one (by the admin API, then by the CLI) is refused by the other at once.
#[tokio::test]
async fn a_tenant_disabled_through_one_replica_is_refused_by_the_other() {
    use std::process::Stdio;

    use super::binary::HostProcess;
    use crate::support::backend::Database;

    let db = Database::create(Kind::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let env = [
        ("POSTD_DATABASE_URL", db.url.as_str()),
        ("POSTD_ADMIN_KEY", ADMIN_KEY),
    ];
    let a = HostProcess::start(&a_dir, &a_dir, "", &env, Stdio::inherit()).await;
    let key = a.key.clone();
    let b = HostProcess::restart(&b_dir, &b_dir, "", &env, &key).await;
    let status = async |host: &HostProcess| host.api.get("/v1/connections", &key).await.status;
    assert_eq!(status(&b).await, StatusCode::OK);

    let disabled = admin_post(&a.api, "/admin/tenants/default/disable", json!({})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{disabled:?}");
    assert_eq!(
        status(&b).await,
        StatusCode::FORBIDDEN,
        "the other replica, at once"
    );

    let (code, listed) = cli(&["tenant", "list"], &db.url);
    assert_eq!(code, Some(0), "{listed}");
    let row = listed.lines().find(|l| l.starts_with("default ")).unwrap();
    assert!(row.contains(" disabled "), "{listed}");
    assert_eq!(cli(&["tenant", "enable", "default"], &db.url).0, Some(0));
    assert_eq!(status(&a).await, StatusCode::OK);
    assert_eq!(status(&b).await, StatusCode::OK);
    let (code, out) = cli(
        &["tenant", "disable", "default", "--reason", "audit"],
        &db.url,
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("\"status\":\"disabled\""), "{out}");
    assert_eq!(status(&a).await, StatusCode::FORBIDDEN);
    // Deletion wants a confirmation; without it nothing changes.
    assert_eq!(cli(&["tenant", "delete", "default"], &db.url).0, Some(2));
    let seen = admin_get(&b.api, "/admin/tenants/default").await;
    assert_eq!(seen.json["status"], "disabled", "{seen:?}");
    let audit = admin_get(&b.api, "/admin/audit?tenant=default&actor=cli").await;
    let actions: Vec<&str> = audit
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["tenant.disabled", "tenant.enabled"]);

    a.signal("-TERM");
    b.signal("-TERM");
    assert!(a.exited_cleanly().await && b.exited_cleanly().await);
}

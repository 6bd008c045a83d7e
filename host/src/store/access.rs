//! API keys (stored as SHA-256 digests, shown once) and OAuth `state` values (single use, also
//! stored as digests).
//!
//! Both are looked up by digest: the database compares digests of what a caller presents, never
//! the secrets themselves, so whatever the timing of an index lookup reveals concerns a digest of
//! the caller's own guess and nothing about a stored key (the digest of a guess cannot be steered
//! towards a stored digest). A leaked database or backup holds no usable key or state.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::tenants::audit;
use super::{Millis, Store, StoreError, TenantStore, new_id};

/// Working API keys a tenant may hold at once.
pub const MAX_ACTIVE_KEYS: i64 = 50;

/// An API key as the admin API shows it: never the key, only its first characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ApiKeyRecord {
    /// Its id (`key_…`), for revoking or rotating it.
    pub id: String,
    /// Its name, as the admin gave it (`default` for a tenant's first key).
    pub name: String,
    /// The key's first 12 characters, to recognise it.
    pub prefix: String,
    /// When it was made (Unix ms).
    pub created_at: Millis,
    /// When it stopped or stops working (Unix ms; later than now during a rotation's grace).
    pub revoked_at: Option<Millis>,
}

/// A key just made: its record, and the key itself, shown once.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// What is kept of it.
    pub record: ApiKeyRecord,
    /// The key.
    pub key: String,
}

fn key_from_row(row: &sqlx::any::AnyRow) -> ApiKeyRecord {
    ApiKeyRecord {
        id: row.get("id"),
        name: row.get("name"),
        prefix: row.get("prefix"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    }
}

/// A pending OAuth authorization, as `state` binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// The tenant that started it.
    pub tenant_id: String,
    /// The plugin it is for.
    pub plugin: String,
    /// The connection it creates (or re-authorizes).
    pub connection_id: String,
    /// The redirect URI given to the platform.
    pub redirect_uri: String,
    /// Where the user's browser goes when the flow ends (the tenant's app), if the tenant said.
    pub return_to: Option<String>,
}

pub(super) fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A secret token: `prefix` and 244 random bits from the operating system's generator (two v4
/// UUIDs), as hex.
pub fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What a stored state binds, if it is for `plugin` and has not expired.
fn bound_state(row: &sqlx::any::AnyRow, plugin: &str, now: Millis) -> Option<OAuthState> {
    let expires_at: Millis = row.get("expires_at");
    let bound = OAuthState {
        tenant_id: row.get("tenant_id"),
        plugin: row.get("plugin"),
        connection_id: row.get("connection_id"),
        redirect_uri: row.get("redirect_uri"),
        return_to: row.get("return_to"),
    };
    (bound.plugin == plugin && expires_at > now).then_some(bound)
}

/// What [`StoreError::NotFound`] names when an OAuth state is already used up.
pub const OAUTH_STATE: &str = "OAuth state";

/// Uses up OAuth `state` inside `tx`: [`StoreError::NotFound`] for [`OAUTH_STATE`] when it is
/// already gone (another callback with the same state won the race), so `tx` rolls back.
pub(super) async fn use_oauth_state(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    state: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM oauth_states WHERE state = $1")
        .bind(digest(state))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db("using up an OAuth state"))?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what: OAUTH_STATE,
            id: "(used by another callback)".into(),
        })
    }
}

impl TenantStore {
    /// Creates an API key named `default` for this tenant; the key is returned once and only
    /// its digest kept.
    pub async fn create_api_key(&self, actor: &str, now: Millis) -> Result<String, StoreError> {
        Ok(self.add_api_key("default", actor, now).await?.key)
    }

    /// Creates a named API key (at most [`MAX_ACTIVE_KEYS`] work at once). Audited.
    pub async fn add_api_key(
        &self,
        name: &str,
        actor: &str,
        now: Millis,
    ) -> Result<NewApiKey, StoreError> {
        let mut tx = self.store.begin().await?;
        let made = self.insert_key(&mut tx, name, actor, now).await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing an API key"))?;
        Ok(made)
    }

    /// This tenant's keys, revoked ones included, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, created_at, revoked_at FROM api_keys WHERE tenant_id = $1
             ORDER BY created_at, id",
        )
        .bind(&self.tenant)
        .fetch_all(&self.store.pool)
        .await
        .map_err(StoreError::db("listing API keys"))?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    /// Revokes a key now (a key already revoked stays revoked at its time; a key in its
    /// rotation grace period is revoked now). Audited.
    pub async fn revoke_api_key(
        &self,
        id: &str,
        actor: &str,
        now: Millis,
    ) -> Result<ApiKeyRecord, StoreError> {
        let mut tx = self.store.begin().await?;
        self.end_key(&mut tx, id, now).await?;
        audit(&mut tx, &self.tenant, now, actor, "api-key.revoked", id, "").await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a revocation"))?;
        self.api_key(id).await
    }

    /// Replaces a working key by a new one with the same name; the old key keeps working for
    /// `grace_ms` (0: revoked at once), so clients can switch without an outage. Audited.
    pub async fn rotate_api_key(
        &self,
        id: &str,
        grace_ms: Millis,
        actor: &str,
        now: Millis,
    ) -> Result<NewApiKey, StoreError> {
        let old = self.api_key(id).await?;
        if old.revoked_at.is_some_and(|at| at <= now) {
            return Err(StoreError::Conflict(format!(
                "API key `{id}` is revoked; create a new one"
            )));
        }
        let mut tx = self.store.begin().await?;
        self.end_key(&mut tx, id, now.saturating_add(grace_ms.max(0)))
            .await?;
        let made = self.insert_key(&mut tx, &old.name, actor, now).await?;
        let detail = format!("replaced={id} grace_ms={grace_ms}");
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "api-key.rotated",
            &made.record.id,
            &detail,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing a rotation"))?;
        Ok(made)
    }

    /// One key of this tenant.
    pub async fn api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, prefix, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(StoreError::db("reading an API key"))?;
        row.as_ref()
            .map(key_from_row)
            .ok_or_else(|| StoreError::not_found("API key", id))
    }

    /// Makes a key inside `tx`, refusing past [`MAX_ACTIVE_KEYS`] working keys.
    async fn insert_key(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        name: &str,
        actor: &str,
        now: Millis,
    ) -> Result<NewApiKey, StoreError> {
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND (revoked_at IS NULL OR revoked_at > $2)",
        )
        .bind(&self.tenant)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(StoreError::db("counting API keys"))?;
        if active >= MAX_ACTIVE_KEYS {
            return Err(StoreError::Conflict(format!(
                "tenant `{}` has {MAX_ACTIVE_KEYS} working API keys; revoke one first",
                self.tenant
            )));
        }
        let key = random_token("pdk_");
        let record = ApiKeyRecord {
            id: new_id("key"),
            name: name.to_string(),
            prefix: key[..12].to_string(),
            created_at: now,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (key_sha256, tenant_id, prefix, created_at, id, name) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(digest(&key))
        .bind(&self.tenant)
        .bind(&record.prefix)
        .bind(now)
        .bind(&record.id)
        .bind(name)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db("storing an API key"))?;
        let detail = format!("name={name} prefix={}", record.prefix);
        audit(
            tx,
            &self.tenant,
            now,
            actor,
            "api-key.created",
            &record.id,
            &detail,
        )
        .await?;
        Ok(NewApiKey { record, key })
    }

    /// Sets a key's end to `at` unless it already ended earlier; not found when the tenant has
    /// no such key.
    async fn end_key(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: &str,
        at: Millis,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = CASE WHEN revoked_at IS NULL OR revoked_at > $3 THEN $3 ELSE revoked_at END
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant)
        .bind(id)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::db("revoking an API key"))?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::not_found("API key", id))
        }
    }

    /// The origins an OAuth `return_to` of this tenant may name.
    pub async fn return_origins(&self) -> Result<Vec<String>, StoreError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT return_origins FROM tenants WHERE id = $1")
                .bind(&self.tenant)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(StoreError::db("reading return origins"))?;
        Ok(stored
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    /// Replaces the origins an OAuth `return_to` may name (already checked). Audited.
    pub async fn set_return_origins(
        &self,
        origins: &[String],
        actor: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let joined = origins.join(" ");
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE tenants SET return_origins = $2 WHERE id = $1")
            .bind(&self.tenant)
            .bind(&joined)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("storing return origins"))?;
        audit(
            &mut tx,
            &self.tenant,
            now,
            actor,
            "oauth.return-origins.changed",
            &self.tenant,
            &joined,
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::db("committing return origins"))
    }

    /// Remembers an OAuth `state` (its digest) until `expires_at`.
    pub async fn put_oauth_state(
        &self,
        state: &str,
        pending: &OAuthState,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_states (state, tenant_id, plugin, connection_id, redirect_uri, expires_at, return_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(digest(state))
        .bind(&self.tenant)
        .bind(&pending.plugin)
        .bind(&pending.connection_id)
        .bind(&pending.redirect_uri)
        .bind(expires_at)
        .bind(&pending.return_to)
        .execute(&self.store.writer)
        .await
        .map_err(StoreError::db("storing an OAuth state"))?;
        Ok(())
    }
}

impl Store {
    /// Reads an OAuth `state` for `plugin` without using it up: what it binds if it exists, is
    /// for that plugin and has not expired. It is used up by the transaction that stores the
    /// connection ([`TenantStore::complete_oauth`]) or by [`Store::take_oauth_state`], so a
    /// callback that fails on the way (the platform, the connector or the database) can be
    /// retried with the same state.
    pub async fn find_oauth_state(
        &self,
        state: &str,
        plugin: &str,
        now: Millis,
    ) -> Result<Option<OAuthState>, StoreError> {
        self.oauth_state(
            "SELECT tenant_id, plugin, connection_id, redirect_uri, expires_at, return_to FROM oauth_states WHERE state = $1",
            "reading an OAuth state",
            state,
            plugin,
            now,
        )
        .await
    }

    /// Takes an OAuth `state` for `plugin`: returns what it binds if it exists, is for that
    /// plugin and has not expired, and deletes it either way, so it works once.
    pub async fn take_oauth_state(
        &self,
        state: &str,
        plugin: &str,
        now: Millis,
    ) -> Result<Option<OAuthState>, StoreError> {
        self.oauth_state(
            "DELETE FROM oauth_states WHERE state = $1 RETURNING tenant_id, plugin, connection_id, redirect_uri, expires_at, return_to",
            "taking an OAuth state",
            state,
            plugin,
            now,
        )
        .await
    }

    /// Runs `sql` (one state row by digest) and reads what the row binds for `plugin`.
    async fn oauth_state(
        &self,
        sql: &'static str,
        operation: &'static str,
        state: &str,
        plugin: &str,
        now: Millis,
    ) -> Result<Option<OAuthState>, StoreError> {
        // Taking a state deletes it: a write.
        let pool = if sql.starts_with("DELETE") {
            &self.writer
        } else {
            &self.pool
        };
        let row = sqlx::query(sql)
            .bind(digest(state))
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db(operation))?;
        Ok(row.and_then(|row| bound_state(&row, plugin, now)))
    }

    /// Deletes OAuth states that expired before `now` (never completed); returns how many.
    pub async fn purge_expired_oauth_states(&self, now: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(now)
            .execute(&self.writer)
            .await
            .map_err(StoreError::db("purging expired OAuth states"))?;
        Ok(done.rows_affected())
    }
}

//! The admin API for tenants (platform team): create, list, read, disable, re-enable and
//! delete tenants; their named API keys (create, rotate with a grace period, revoke); their
//! effective plugin enablement and connections; the audit log with filters.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{Admin, ApiError, ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, ApiState, paging};
use crate::store::{
    ApiKeyRecord, AuditFilter, AuditRecord, Millis, NewApiKey, TenantDeletion, TenantRecord,
    TenantStatus,
};

/// `POST /admin/tenants`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// The tenant id (1-64 characters of letters, digits, '-', '_').
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A new tenant's first API key, shown once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TenantCreated {
    /// The tenant.
    pub id: String,
    /// The key; only its digest is stored.
    pub api_key: String,
    /// The key's id, for rotating or revoking it.
    pub key_id: String,
}

/// A tenant with what the platform team looks at first.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TenantView {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: TenantRecord,
    /// Its API keys (never the keys themselves).
    pub keys: Vec<ApiKeyRecord>,
    /// Whether it may use each configured plugin, and what decides.
    pub plugins: Vec<PluginEnablement>,
    /// Its connections by status (`healthy`, `attention`, …), deleted ones left out.
    pub connections: BTreeMap<String, u64>,
}

/// Whether a tenant may use a plugin.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PluginEnablement {
    /// The plugin.
    pub plugin: String,
    /// The outcome.
    pub enabled: bool,
    /// `override` (the admin API) or `plugins.toml` (its `tenants` list).
    pub source: &'static str,
}

/// An API key just made, shown once with what is kept of it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct KeyCreated {
    /// What is kept.
    #[serde(flatten)]
    pub record: ApiKeyRecord,
    /// The key itself; only its digest is stored.
    pub api_key: String,
}

impl From<NewApiKey> for KeyCreated {
    fn from(made: NewApiKey) -> Self {
        KeyCreated {
            record: made.record,
            api_key: made.key,
        }
    }
}

/// `PUT /admin/tenants/{tenant}/plugins/{id}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enablement {
    /// Whether the tenant may use the plugin.
    pub enabled: bool,
}

/// `POST /admin/tenants/{tenant}/disable`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    /// Why, for the audit log and the tenant's record (at most 500 characters).
    #[serde(default)]
    pub reason: String,
}

/// `POST /admin/tenants/{tenant}/keys`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A name to tell it apart (1-64 characters, e.g. `ci`, `backend-eu`).
    pub name: String,
}

/// `POST /admin/tenants/{tenant}/keys/{id}/rotate`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the old key keeps working (seconds, at most 30 days; default 0: at once).
    #[serde(default)]
    pub grace_secs: u64,
}

/// `GET /admin/tenants` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantsQuery {
    /// `active`, `disabled` or `deleted`.
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next-cursor` header.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `GET /admin/audit` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// One tenant's entries.
    #[serde(default)]
    pub tenant: Option<String>,
    /// One action (`tenant.disabled`, `api-key.revoked`, …).
    #[serde(default)]
    pub action: Option<String>,
    /// One actor (`admin`, `cli`, `api`, …).
    #[serde(default)]
    pub actor: Option<String>,
    /// At or after (Unix ms).
    /// One subject (the key, connection, plugin, … the entry is about).
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub since_ms: Option<Millis>,
    /// Before (Unix ms).
    #[serde(default)]
    pub until_ms: Option<Millis>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next-cursor` header.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The longest grace a rotation may give the old key.
const MAX_GRACE_SECS: u64 = 30 * 24 * 3600;

/// `POST /admin/tenants`: creates a tenant and its first API key.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<TenantCreated>), ApiError> {
    let valid = (1..=64).contains(&body.id.len())
        && body
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(ApiError::bad_request(
            "tenant ids are 1-64 characters of letters, digits, '-' and '_'",
        ));
    }
    if body.name.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "tenant names are at most 200 characters",
        ));
    }
    let now = state.pipeline.now();
    if state.store().tenant_exists(&body.id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "tenant `{}` exists (ids of deleted tenants are not reused)",
                body.id
            ),
        ));
    }
    state
        .store()
        .create_tenant(&body.id, &body.name, now)
        .await?;
    let made = state
        .store()
        .tenant(&body.id)
        .add_api_key("default", admin.actor(), now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            id: body.id,
            api_key: made.key,
            key_id: made.record.id,
        }),
    ))
}

/// `GET /admin/tenants`: oldest first, paged.
pub async fn list(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<TenantsQuery>,
) -> Result<paging::Page<TenantRecord>, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(word) => Some(TenantStatus::parse(word).ok_or_else(|| {
            ApiError::bad_request("`status` is `active`, `disabled` or `deleted`")
        })?),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let after = paging::parse_time_and_id(query.cursor.as_deref())?;
    let tenants = state.store().tenants_after(status, limit, after).await?;
    Ok(paging::Page::new(tenants, limit, |t| {
        paging::time_and_id(t.created_at, &t.id)
    }))
}

/// `GET /admin/tenants/{tenant}`
pub async fn get(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<TenantView>, ApiError> {
    let record = state.store().tenant_record(&tenant).await?;
    let scoped = state.store().tenant(&tenant);
    Ok(Json(TenantView {
        tenant: record,
        keys: scoped.api_keys().await?,
        plugins: enablement(&state, &tenant).await?,
        connections: scoped.connection_counts().await?,
    }))
}

/// `POST /admin/tenants/{tenant}/disable`: keys refused on every replica, jobs held.
pub async fn disable(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Disable>,
) -> Result<Json<TenantRecord>, ApiError> {
    if body.reason.chars().count() > 500 {
        return Err(ApiError::bad_request("`reason` is at most 500 characters"));
    }
    let now = state.pipeline.now();
    Ok(Json(
        state
            .store()
            .disable_tenant(&tenant, &body.reason, admin.actor(), now)
            .await?,
    ))
}

/// `PUT /admin/tenants/{tenant}/limits`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    /// Egress requests a second across plugins (0: no ceiling); `null` or absent: the host's
    /// `tenant_egress_per_second`.
    #[serde(default)]
    pub egress_per_second: Option<u32>,
}

/// The largest egress ceiling a tenant can be given: far above any platform's budget.
const MAX_EGRESS_PER_SECOND: u32 = 1_000_000;

/// `PUT /admin/tenants/{tenant}/limits`: the tenant's own egress ceiling, applied on every
/// replica.
pub async fn set_limits(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<TenantLimits>,
) -> Result<Json<TenantRecord>, ApiError> {
    if body
        .egress_per_second
        .is_some_and(|n| n > MAX_EGRESS_PER_SECOND)
    {
        return Err(ApiError::bad_request(format!(
            "`egress_per_second` is at most {MAX_EGRESS_PER_SECOND} (0 for no ceiling)"
        )));
    }
    let now = state.pipeline.now();
    let record = state
        .store()
        .set_tenant_egress(&tenant, body.egress_per_second, admin.actor(), now)
        .await?;
    state
        .pipeline
        .runtime()
        .tenant_ceilings()
        .set(&tenant, record.egress_per_second);
    Ok(Json(record))
}

/// `POST /admin/tenants/{tenant}/enable`: keys work again, held jobs are queued.
pub async fn enable_tenant(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<TenantRecord>, ApiError> {
    let now = state.pipeline.now();
    Ok(Json(
        state
            .store()
            .enable_tenant(&tenant, admin.actor(), now)
            .await?,
    ))
}

/// `DELETE /admin/tenants/{tenant}`: secrets erased, jobs cancelled, keys revoked.
pub async fn delete(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<TenantDeletion>, ApiError> {
    let now = state.pipeline.now();
    Ok(Json(
        state
            .store()
            .delete_tenant(&tenant, admin.actor(), now)
            .await?,
    ))
}

/// `GET /admin/tenants/{tenant}/keys`
pub async fn keys(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<Vec<ApiKeyRecord>>, ApiError> {
    live(&state, &tenant).await?;
    Ok(Json(state.store().tenant(&tenant).api_keys().await?))
}

/// `POST /admin/tenants/{tenant}/keys`: a named key, shown once.
pub async fn add_key(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<KeyCreated>), ApiError> {
    let name = body.name.trim();
    if !(1..=64).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "key names are 1-64 characters without control characters",
        ));
    }
    live(&state, &tenant).await?;
    let made = state
        .store()
        .tenant(&tenant)
        .add_api_key(name, admin.actor(), state.pipeline.now())
        .await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// `DELETE /admin/tenants/{tenant}/keys/{id}`: refused from now on.
pub async fn revoke_key(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<Json<ApiKeyRecord>, ApiError> {
    live(&state, &tenant).await?;
    Ok(Json(
        state
            .store()
            .tenant(&tenant)
            .revoke_api_key(&id, admin.actor(), state.pipeline.now())
            .await?,
    ))
}

/// `POST /admin/tenants/{tenant}/keys/{id}/rotate`: a new key with the same name; the old one
/// works for `grace_secs` more.
pub async fn rotate_key(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Rotate>,
) -> Result<(StatusCode, Json<KeyCreated>), ApiError> {
    if body.grace_secs > MAX_GRACE_SECS {
        return Err(ApiError::bad_request(format!(
            "`grace_secs` is at most {MAX_GRACE_SECS} (30 days)"
        )));
    }
    live(&state, &tenant).await?;
    let made = state
        .store()
        .tenant(&tenant)
        .rotate_api_key(
            &id,
            body.grace_secs as Millis * 1000,
            admin.actor(),
            state.pipeline.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// `GET /admin/tenants/{tenant}/plugins`: the effective enablement of every configured plugin.
pub async fn plugins(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<Vec<PluginEnablement>>, ApiError> {
    state.store().tenant_record(&tenant).await?;
    Ok(Json(enablement(&state, &tenant).await?))
}

/// `GET /admin/tenants/{tenant}/connections`: paged like `GET /v1/connections`.
pub async fn connections(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(query): ApiQuery<super::connections::ListQuery>,
) -> Result<paging::Page<crate::store::Connection>, ApiError> {
    state.store().tenant_record(&tenant).await?;
    super::connections::page(&state, &tenant, query).await
}

/// `GET /admin/audit`: newest first, paged, narrowed by the query.
pub async fn audit(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<paging::Page<AuditRecord>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let before = paging::cursor(query.cursor.as_deref())?;
    let filter = AuditFilter {
        tenant: query.tenant,
        action: query.action,
        actor: query.actor,
        subject: query.subject,
        since_ms: query.since_ms,
        until_ms: query.until_ms,
    };
    let entries = state.store().audit_entries(&filter, limit, before).await?;
    Ok(paging::Page::new(entries, limit, |e: &AuditRecord| {
        e.id.clone()
    }))
}

/// `PUT /admin/tenants/{tenant}/plugins/{id}`: overrides `plugins.toml` for one tenant.
pub async fn enable_plugin(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Enablement>,
) -> Result<StatusCode, ApiError> {
    known(&state, &tenant, &id).await?;
    state
        .store()
        .tenant(&tenant)
        .set_plugin_enabled(&id, body.enabled, admin.actor(), state.pipeline.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/tenants/{tenant}/plugins/{id}`: back to `plugins.toml`.
pub async fn clear_plugin(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    known(&state, &tenant, &id).await?;
    state
        .store()
        .tenant(&tenant)
        .clear_plugin_enabled(&id, admin.actor(), state.pipeline.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every configured plugin with whether `tenant` may use it.
pub(crate) async fn enablement(
    state: &ApiState,
    tenant: &str,
) -> Result<Vec<PluginEnablement>, ApiError> {
    let runtime = state.pipeline.runtime();
    let overrides = state.store().tenant(tenant).plugin_overrides().await?;
    let mut out = Vec::new();
    for plugin in runtime.plugins() {
        let (enabled, source) = match overrides.get(&plugin.id).copied() {
            Some(enabled) => (enabled, "override"),
            None => (
                runtime
                    .plugin_config(&plugin.id)
                    .is_some_and(|c| c.entry.serves_tenant(tenant)),
                "plugins.toml",
            ),
        };
        out.push(PluginEnablement {
            plugin: plugin.id,
            enabled,
            source,
        });
    }
    Ok(out)
}

/// Not found for an unknown tenant; conflict for a deleted one (nothing of it changes again).
async fn live(state: &ApiState, tenant: &str) -> Result<(), ApiError> {
    if state.store().tenant_record(tenant).await?.status == TenantStatus::Deleted {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "tenant-deleted",
            format!("tenant `{tenant}` is deleted"),
        ));
    }
    Ok(())
}

async fn known(state: &ApiState, tenant: &str, plugin: &str) -> Result<(), ApiError> {
    live(state, tenant).await?;
    if state.pipeline.runtime().status(plugin).is_none() {
        return Err(ApiError::not_found(format!(
            "plugin `{plugin}` is not configured"
        )));
    }
    Ok(())
}

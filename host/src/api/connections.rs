//! Connections: API-key connections, the OAuth flow (state bound to tenant and plugin, single
//! use, ten minutes), listing, deletion (secrets erased), manual refresh and accounts.
//!
//! A connection id belongs to the plugin that created it, for good (a deleted connection's row
//! stays, and so does its plugin). Every route that names a plugin and a connection id — an
//! API-key connect, an OAuth start with `connection_id`, its callback — checks that the id is
//! free or the plugin's own before any plugin code runs, and answers 409
//! `connection-of-another-plugin` otherwise (409, not 404: the id exists in the caller's own
//! namespace, and the caller may read it). The routes that name only a connection (refresh,
//! accounts, delete, posts) run the connection's own plugin.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::return_to::{check_return_to, redirect};
use super::{ApiError, ApiJson, ApiPath, ApiQuery, ApiState, Caller, OAUTH_STATE_TTL, paging};
use crate::capability::CallContext;
use crate::jobs::{RefreshOutcome, RefreshTrigger};
use crate::runtime::wit::connector::{AuthCallback, AuthKind, AuthorizeRequest, ConnectionInfo};
use crate::runtime::wit::types::ConnectorError;
use crate::runtime::{Answer, Invocation};
use crate::store::{
    Connection, NewConnection, OAUTH_STATE, OAuthState, StoreError, new_id, random_token,
};

/// `POST /v1/connections`: a connection authorized by an API key the user pastes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyConnection {
    /// The plugin (its manifest's auth kind must be `api-key`).
    pub plugin: String,
    /// The key.
    pub api_key: String,
    /// The connection id to use (or re-authorize); generated when absent.
    #[serde(default)]
    pub id: Option<String>,
}

/// An account a connection can post to.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccountView {
    /// The platform's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `page`, `instagram`, `organization`, `location`, `audience`…
    pub kind: String,
    /// The account it belongs to.
    pub parent_id: Option<String>,
}

/// The answer to `GET /v1/oauth/{plugin}/start`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OAuthStart {
    /// Where to send the user.
    pub authorize_url: String,
    /// The single-use state bound to this tenant and plugin.
    pub state: String,
    /// Until when the state is accepted (Unix seconds).
    pub expires_at: i64,
    /// The connection the callback will create.
    pub connection_id: String,
}

/// Query of `GET /v1/oauth/{plugin}/start`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    /// Re-authorize this connection instead of creating one.
    #[serde(default)]
    pub connection_id: Option<String>,
    /// Where to send the user's browser when the flow ends, under one of the tenant's return
    /// origins; without it the callback answers JSON.
    #[serde(default)]
    pub return_to: Option<String>,
}

fn valid_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "ids are 1-64 characters of letters, digits, '-' and '_'",
        ))
    }
}

/// The call context of `tenant` on `plugin`, with its enablement override.
pub(super) async fn context(
    state: &ApiState,
    tenant: &str,
    plugin: &str,
) -> Result<CallContext, ApiError> {
    let enabled = state.store().tenant(tenant).plugin_enabled(plugin).await?;
    Ok(CallContext::tenant(tenant).with_enabled(enabled))
}

/// Refuses `connection` when it belongs to another plugin of `tenant` than `plugin`. Runs before
/// any plugin code: the connection's secrets are its plugin's alone.
async fn check_owner(
    state: &ApiState,
    tenant: &str,
    plugin: &str,
    connection: &str,
) -> Result<(), ApiError> {
    match state
        .store()
        .tenant(tenant)
        .connection_plugin(connection)
        .await?
    {
        Some(owner) if owner != plugin => Err(ApiError::new(
            StatusCode::CONFLICT,
            "connection-of-another-plugin",
            format!(
                "connection `{connection}` belongs to another plugin; leave `id` out for a new one"
            ),
        )),
        _ => Ok(()),
    }
}

/// Runs `complete-auth` and stores the connection; on failure, erases what the connector put
/// in the vault for a connection that does not exist.
/// Runs `complete-auth` and stores the connection it describes. With `oauth_state`, that state
/// is used up in the transaction that stores the connection. What the call wrote to the vault is
/// erased when the connection cannot be stored (unless another callback with the same state
/// stored it: those secrets are then its).
async fn complete(
    state: &ApiState,
    tenant: &str,
    plugin: &str,
    connection: &str,
    callback: AuthCallback,
    oauth_state: Option<&str>,
) -> Result<Connection, ApiError> {
    check_owner(state, tenant, plugin, connection).await?;
    let context = context(state, tenant, plugin)
        .await?
        .with_connection(connection);
    let outcome = state
        .pipeline
        .runtime()
        .invoke(plugin, context, Invocation::CompleteAuth(callback))
        .await;
    let info: Result<ConnectionInfo, ApiError> = match outcome {
        Ok(served) => match served.answer {
            Answer::CompleteAuth(Ok(info)) => Ok(info),
            Answer::CompleteAuth(Err(e)) => Err(e.into()),
            _ => unreachable!("complete-auth answers with connection info"),
        },
        Err(e) => Err(e.into()),
    };
    let info = match info {
        Ok(info) => info,
        Err(error) => {
            state
                .store()
                .erase_orphan_secrets(tenant, connection, plugin)
                .await?;
            return Err(error);
        }
    };
    let new = NewConnection {
        id: connection.to_string(),
        plugin: plugin.to_string(),
        external_id: info.external_id,
        display_name: info.display_name,
        scopes: info.scopes,
        expires_at: info.expires_at.map(|s| s.saturating_mul(1000)),
        refresh_expires_at: info.refresh_expires_at.map(|s| s.saturating_mul(1000)),
    };
    let tenant_store = state.store().tenant(tenant);
    let now = state.pipeline.now();
    let stored = match oauth_state {
        Some(used) => tenant_store.complete_oauth(used, &new, "api", now).await,
        None => tenant_store.upsert_connection(&new, "api", now).await,
    };
    let (connection, _resumed) = match stored {
        Ok(stored) => stored,
        Err(StoreError::NotFound { what, .. }) if what == OAUTH_STATE => {
            return Err(invalid_state());
        }
        Err(error) => {
            // Another plugin took the id while this one was authorizing, or the database
            // failed: what this call wrote is erased; another plugin's secrets were never
            // readable or writable by it.
            state
                .store()
                .erase_orphan_secrets(tenant, connection, plugin)
                .await?;
            return Err(error.into());
        }
    };
    // Best effort: webhooks that name a page or an organization find the connection through
    // its accounts; a connector that cannot list them yet still connects.
    if let Err(error) = list_and_record_accounts(state, tenant, plugin, &connection.id).await {
        tracing::info!(plugin, error = %error.message, "accounts not recorded at connect");
    }
    Ok(connection)
}

fn auth_kind(state: &ApiState, plugin: &str) -> Result<AuthKind, ApiError> {
    state
        .pipeline
        .runtime()
        .manifest(plugin)
        .map(|m| m.auth)
        .ok_or_else(|| ApiError::not_found(format!("plugin `{plugin}` is not serving")))
}

/// Asks the connector for the connection's accounts and records them.
async fn list_and_record_accounts(
    state: &ApiState,
    tenant: &str,
    plugin: &str,
    connection: &str,
) -> Result<Vec<AccountView>, ApiError> {
    let context = context(state, tenant, plugin)
        .await?
        .with_connection(connection);
    let served = state
        .pipeline
        .runtime()
        .invoke(plugin, context, Invocation::ListAccounts)
        .await?;
    let accounts: Vec<AccountView> = match served.answer {
        Answer::ListAccounts(Ok(accounts)) => accounts
            .into_iter()
            .map(|a| AccountView {
                id: a.id,
                name: a.name,
                kind: a.kind,
                parent_id: a.parent_id,
            })
            .collect(),
        Answer::ListAccounts(Err(e)) => return Err(e.into()),
        _ => unreachable!("list-accounts answers with accounts"),
    };
    let rows: Vec<(String, String, String, Option<String>)> = accounts
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                a.kind.clone(),
                a.name.clone(),
                a.parent_id.clone(),
            )
        })
        .collect();
    state
        .store()
        .tenant(tenant)
        .record_accounts(connection, &rows, state.pipeline.now())
        .await?;
    Ok(accounts)
}

/// `GET /v1/connections`
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<paging::Page<Connection>, ApiError> {
    page(&state, &caller.tenant, query).await
}

/// One page of `tenant`'s connections, oldest first (also the admin API's view of them).
pub(super) async fn page(
    state: &ApiState,
    tenant: &str,
    query: ListQuery,
) -> Result<paging::Page<Connection>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let after = paging::parse_time_and_id(query.cursor.as_deref())?;
    let connections = state
        .store()
        .tenant(tenant)
        .connections_after(after, i64::from(limit))
        .await?;
    Ok(paging::Page::new(connections, limit, |c| {
        paging::time_and_id(c.created_at, &c.id)
    }))
}

/// `GET /v1/connections` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next-cursor` header.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `GET /v1/connections/{id}`
pub async fn get(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Connection>, ApiError> {
    Ok(Json(
        state.store().tenant(&caller.tenant).connection(&id).await?,
    ))
}

/// `DELETE /v1/connections/{id}`: erases its secrets and cancels its pending jobs.
pub async fn delete(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store()
        .tenant(&caller.tenant)
        .delete_connection(&id, "api", state.pipeline.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/connections`
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewApiKeyConnection>,
) -> Result<(StatusCode, Json<Connection>), ApiError> {
    if auth_kind(&state, &body.plugin)? != AuthKind::ApiKey {
        return Err(ApiError::bad_request(format!(
            "plugin `{}` connects through OAuth: use /v1/oauth/{}/start",
            body.plugin, body.plugin
        )));
    }
    let id = body.id.unwrap_or_else(|| new_id("conn"));
    valid_id(&id)?;
    let callback = AuthCallback {
        params: vec![("api-key".into(), body.api_key)],
        redirect_uri: String::new(),
    };
    let connection = complete(&state, &caller.tenant, &body.plugin, &id, callback, None).await?;
    Ok((StatusCode::CREATED, Json(connection)))
}

/// `POST /v1/connections/{id}/refresh`
pub async fn refresh(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Connection>, ApiError> {
    let store = state.store().tenant(&caller.tenant);
    store.connection(&id).await?;
    match state
        .pipeline
        .refresh(&caller.tenant, &id, RefreshTrigger::Manual)
        .await
    {
        RefreshOutcome::Refreshed | RefreshOutcome::AlreadyFresh => {
            Ok(Json(store.connection(&id).await?))
        }
        RefreshOutcome::Failed {
            paused: true,
            error,
        } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reconnect-required",
            error,
        )),
        RefreshOutcome::Failed {
            paused: false,
            error,
        } => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "refresh-failed",
            error,
        )),
    }
}

/// `GET /v1/connections/{id}/accounts`
pub async fn accounts(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let connection = state.store().tenant(&caller.tenant).connection(&id).await?;
    Ok(Json(
        list_and_record_accounts(&state, &caller.tenant, &connection.plugin, &id).await?,
    ))
}

/// `GET /v1/oauth/{plugin}/start`
pub async fn oauth_start(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(plugin): ApiPath<String>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<Json<OAuthStart>, ApiError> {
    // A plugin whose manifest names API keys may still offer OAuth (Mailchimp does): its
    // `authorize-url` decides, and answers not-supported when it does not.
    auth_kind(&state, &plugin)?;
    let connection_id = query.connection_id.unwrap_or_else(|| new_id("conn"));
    valid_id(&connection_id)?;
    let return_to = match &query.return_to {
        Some(given) => {
            let allowed = state
                .store()
                .tenant(&caller.tenant)
                .return_origins()
                .await?;
            Some(check_return_to(given, &allowed)?.to_string())
        }
        None => None,
    };
    check_owner(&state, &caller.tenant, &plugin, &connection_id).await?;
    let redirect_uri = format!("{}/v1/oauth/{plugin}/callback", state.public_url);
    let oauth_state = random_token("st_");
    let context = context(&state, &caller.tenant, &plugin).await?;
    let request = AuthorizeRequest {
        state: oauth_state.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes: vec![],
    };
    let served = state
        .pipeline
        .runtime()
        .invoke(&plugin, context, Invocation::AuthorizeUrl(request))
        .await?;
    let authorize_url = match served.answer {
        Answer::AuthorizeUrl(Ok(url)) => url,
        Answer::AuthorizeUrl(Err(ConnectorError::NotSupported(_))) => {
            return Err(ApiError::bad_request(format!(
                "plugin `{plugin}` does not connect through OAuth: POST /v1/connections with an API key"
            )));
        }
        Answer::AuthorizeUrl(Err(e)) => return Err(e.into()),
        _ => unreachable!("authorize-url answers with a URL"),
    };
    let expires_at = state.pipeline.now() + OAUTH_STATE_TTL.as_millis() as i64;
    let pending = OAuthState {
        tenant_id: caller.tenant.clone(),
        plugin,
        connection_id: connection_id.clone(),
        redirect_uri,
        return_to,
    };
    state
        .store()
        .tenant(&caller.tenant)
        .put_oauth_state(&oauth_state, &pending, expires_at)
        .await?;
    Ok(Json(OAuthStart {
        authorize_url,
        state: oauth_state,
        expires_at: expires_at / 1000,
        connection_id,
    }))
}

/// `GET /v1/oauth/{plugin}/callback`: where the platform sends the user back. The `state`
/// authenticates the request (no API key: it is the user's browser).
pub async fn oauth_callback(
    State(state): State<Arc<ApiState>>,
    ApiPath(plugin): ApiPath<String>,
    ApiQuery(params): ApiQuery<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let given = params
        .get("state")
        .ok_or_else(|| ApiError::bad_request("the callback has no `state`"))?;
    let now = state.pipeline.now();
    if let Some(error) = params.get("error") {
        // Refused at the platform: the state is used up, the user starts again.
        let pending = state
            .store()
            .take_oauth_state(given, &plugin, now)
            .await?
            .ok_or_else(invalid_state)?;
        let detail = params
            .get("error_description")
            .map(String::as_str)
            .unwrap_or("");
        let denied = ApiError::new(
            StatusCode::BAD_REQUEST,
            "authorization-denied",
            format!("{error}: {detail}"),
        );
        return Ok(finish(pending.return_to.as_deref(), Err(denied)));
    }
    let pending = state
        .store()
        .find_oauth_state(given, &plugin, now)
        .await?
        .ok_or_else(invalid_state)?;
    let given = given.clone();
    let callback = AuthCallback {
        params: params.into_iter().collect(),
        redirect_uri: pending.redirect_uri.clone(),
    };
    let connection = complete(
        &state,
        &pending.tenant_id,
        &plugin,
        &pending.connection_id,
        callback,
        Some(&given),
    )
    .await;
    Ok(finish(pending.return_to.as_deref(), connection))
}

/// How a callback ends: JSON, or a `303` to the tenant's `return_to` with the connection id
/// or the error's code and message.
fn finish(return_to: Option<&str>, outcome: Result<Connection, ApiError>) -> Response {
    match (return_to, outcome) {
        (None, Ok(connection)) => Json(connection).into_response(),
        (None, Err(error)) => error.into_response(),
        (Some(to), Ok(connection)) => redirect(
            to,
            &[("connection_id", &connection.id), ("status", "connected")],
        ),
        (Some(to), Err(error)) => redirect(
            to,
            &[("error", error.code), ("error_description", &error.message)],
        ),
    }
}

fn invalid_state() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid-state",
        "unknown, used, expired or foreign OAuth state",
    )
}

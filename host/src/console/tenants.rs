//! Tenants: the list (paged, by status), creating one (its first key shown once), and a
//! tenant's page: keys (create, revoke), plugins, connections (status, expiry, last check,
//! refresh now), disable and enable.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::page::filters;
use super::page::{Frame, PageResult, back_to, render};
use super::session::Signed;
use crate::api::connections::ListQuery;
use crate::api::tenant_activity;
use crate::api::tenants::{self, Disable, NewKey, NewTenant, TenantView, TenantsQuery};
use crate::api::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, ApiState};
use crate::store::{Connection, TenantRecord};

/// Tenants a page of the list shows.
pub const PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "console/tenants.html")]
struct TenantsPage {
    frame: Frame,
    status: String,
    tenants: Vec<TenantRecord>,
    next: Option<String>,
}

/// `GET /console/tenants` query.
#[derive(Debug, Default, Deserialize)]
pub struct ListPage {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

/// `GET /console/tenants`
pub async fn list(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Query(query): Query<ListPage>,
) -> PageResult {
    let page = tenants::list(
        State(state),
        signed.admin(),
        ApiQuery(TenantsQuery {
            status: query.status.clone(),
            limit: Some(PAGE),
            cursor: query.cursor,
        }),
    )
    .await?;
    Ok(render(&TenantsPage {
        frame: Frame::new("tenants", &signed).with_notice(query.notice),
        status: query.status.unwrap_or_default(),
        tenants: page.items,
        next: page.next,
    }))
}

#[derive(Template)]
#[template(path = "console/secret_shown_once.html")]
struct ShownOnce {
    frame: Frame,
    what: String,
    tenant: String,
    key: String,
}

/// The create-tenant form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    id: String,
    name: String,
}

/// `POST /console/tenants`: the tenant and its first key, shown once.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Form(form): Form<CreateForm>,
) -> PageResult {
    let (_, axum::Json(made)) = tenants::create(
        State(state),
        signed.admin(),
        ApiJson(NewTenant {
            id: form.id.trim().to_string(),
            name: form.name.trim().to_string(),
        }),
    )
    .await?;
    Ok(render(&ShownOnce {
        frame: Frame::new("tenants", &signed),
        what: format!("Tenant {} created with its first API key", made.id),
        tenant: made.id,
        key: made.api_key,
    }))
}

#[derive(Template)]
#[template(path = "console/tenant.html")]
struct TenantPage {
    frame: Frame,
    t: TenantView,
    connections: Vec<Connection>,
    next: Option<String>,
}

/// `GET /console/tenants/{tenant}` query.
#[derive(Debug, Default, Deserialize)]
pub struct TenantQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

/// `GET /console/tenants/{tenant}`
pub async fn tenant(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(tenant): Path<String>,
    Query(query): Query<TenantQuery>,
) -> PageResult {
    let axum::Json(view) = tenants::get(
        State(state.clone()),
        signed.admin(),
        ApiPath(tenant.clone()),
    )
    .await?;
    let connections = tenants::connections(
        State(state),
        signed.admin(),
        ApiPath(tenant),
        ApiQuery(ListQuery {
            limit: Some(PAGE),
            cursor: query.cursor,
        }),
    )
    .await?;
    Ok(render(&TenantPage {
        frame: Frame::new("tenants", &signed).with_notice(query.notice),
        t: view,
        connections: connections.items,
        next: connections.next,
    }))
}

fn back(tenant: &str, notice: &str) -> Response {
    back_to(&format!("/console/tenants/{tenant}"), &[("notice", notice)])
}

/// The disable form.
#[derive(Debug, Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/tenants/{tenant}/disable`
pub async fn disable(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(tenant): Path<String>,
    Form(form): Form<DisableForm>,
) -> PageResult {
    let _record = tenants::disable(
        State(state),
        signed.admin(),
        ApiPath(tenant.clone()),
        ApiJsonOrEmpty(Disable {
            reason: form.reason,
        }),
    )
    .await?;
    Ok(back(
        &tenant,
        "Tenant disabled: its keys are refused, its jobs held",
    ))
}

/// `POST /console/tenants/{tenant}/enable`
pub async fn enable(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(tenant): Path<String>,
) -> PageResult {
    let _record =
        tenants::enable_tenant(State(state), signed.admin(), ApiPath(tenant.clone())).await?;
    Ok(back(&tenant, "Tenant enabled: its held jobs are queued"))
}

/// The new-key form.
#[derive(Debug, Deserialize)]
pub struct KeyForm {
    name: String,
}

/// `POST /console/tenants/{tenant}/keys`: the key, shown once.
pub async fn add_key(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(tenant): Path<String>,
    Form(form): Form<KeyForm>,
) -> PageResult {
    let (_, axum::Json(made)) = tenants::add_key(
        State(state),
        signed.admin(),
        ApiPath(tenant.clone()),
        ApiJson(NewKey { name: form.name }),
    )
    .await?;
    Ok(render(&ShownOnce {
        frame: Frame::new("tenants", &signed),
        what: format!("API key “{}” created", made.record.name),
        tenant,
        key: made.api_key,
    }))
}

/// `POST /console/tenants/{tenant}/keys/{id}/revoke`
pub async fn revoke_key(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path((tenant, id)): Path<(String, String)>,
) -> PageResult {
    let axum::Json(key) =
        tenants::revoke_key(State(state), signed.admin(), ApiPath((tenant.clone(), id))).await?;
    Ok(back(&tenant, &format!("Key “{}” revoked", key.name)))
}

/// `POST /console/tenants/{tenant}/connections/{id}/refresh`
pub async fn refresh(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path((tenant, id)): Path<(String, String)>,
) -> PageResult {
    let axum::Json(connection) =
        tenant_activity::refresh(State(state), signed.admin(), ApiPath((tenant.clone(), id)))
            .await?;
    Ok(back(
        &tenant,
        &format!(
            "Connection {} refreshed: {}",
            connection.id,
            connection.status.as_str()
        ),
    ))
}

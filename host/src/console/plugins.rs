//! Plugins: each one's versions, limits, grants and settings (secrets by name only), an upload
//! checked before it serves, rollback, and the tenants-by-plugins enablement matrix.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::page::filters;
use super::page::{Frame, PageResult, back_to, render};
use super::session::Signed;
use crate::api::admin::{self, ConfigView, PluginView};
use crate::api::tenants::{self, AuditQuery, Enablement, PluginEnablement, TenantsQuery};
use crate::api::{ApiPath, ApiQuery, ApiState};
use crate::store::{AuditRecord, HOST_TENANT, TenantRecord};

/// How many tenants one page of the enablement matrix shows.
pub const MATRIX_TENANTS: u32 = 25;

#[derive(Template)]
#[template(path = "console/plugins.html")]
struct PluginsPage {
    frame: Frame,
    plugins: Vec<PluginPanel>,
    matrix: Vec<(TenantRecord, Vec<PluginEnablement>)>,
    next: Option<String>,
}

/// One plugin's part of the page.
struct PluginPanel {
    view: PluginView,
    config: Option<ConfigView>,
    /// Its latest uploads, newest first (from the audit log).
    uploads: Vec<AuditRecord>,
}

/// How many uploads each plugin lists.
pub const UPLOADS_SHOWN: u32 = 5;

/// `GET /console/plugins` query.
#[derive(Debug, Default, Deserialize)]
pub struct PluginsQuery {
    /// The matrix page.
    #[serde(default)]
    cursor: Option<String>,
    /// The message about the change just made.
    #[serde(default)]
    notice: Option<String>,
}

/// `GET /console/plugins`
pub async fn page(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Query(query): Query<PluginsQuery>,
) -> PageResult {
    let axum::Json(views) = admin::plugins(State(state.clone()), signed.admin()).await;
    let mut plugins = Vec::with_capacity(views.len());
    for view in views {
        let config = admin::config(
            State(state.clone()),
            signed.admin(),
            ApiPath(view.id.clone()),
        )
        .await
        .ok()
        .map(|c| c.0);
        let uploads = tenants::audit(
            State(state.clone()),
            signed.admin(),
            ApiQuery(AuditQuery {
                tenant: Some(HOST_TENANT.into()),
                action: Some("plugin.uploaded".into()),
                subject: Some(view.id.clone()),
                limit: Some(UPLOADS_SHOWN),
                ..AuditQuery::default()
            }),
        )
        .await?
        .items;
        plugins.push(PluginPanel {
            view,
            config,
            uploads,
        });
    }
    let tenants = tenants::list(
        State(state.clone()),
        signed.admin(),
        ApiQuery(TenantsQuery {
            status: Some("active".into()),
            limit: Some(MATRIX_TENANTS),
            cursor: query.cursor,
        }),
    )
    .await?;
    let mut matrix = Vec::with_capacity(tenants.items.len());
    for tenant in tenants.items {
        let axum::Json(enabled) = tenants::plugins(
            State(state.clone()),
            signed.admin(),
            ApiPath(tenant.id.clone()),
        )
        .await?;
        matrix.push((tenant, enabled));
    }
    Ok(render(&PluginsPage {
        frame: Frame::new("plugins", &signed).with_notice(query.notice),
        plugins,
        matrix,
        next: tenants.next,
    }))
}

/// `POST /console/plugins/{id}/check`: the body is the component (sent by `console.js`).
pub async fn check(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    admin::check(State(state), signed.admin(), ApiPath(id), body)
        .await
        .into_response()
}

/// `POST /console/plugins/{id}/upload`: the body is the component; answers like the admin
/// API's upload (JSON), for `console.js`.
pub async fn upload(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    admin::upload(State(state), signed.admin(), ApiPath(id), body)
        .await
        .into_response()
}

/// `POST /console/plugins/{id}/rollback`
pub async fn rollback(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path(id): Path<String>,
) -> PageResult {
    let axum::Json(view) = admin::rollback(State(state), signed.admin(), ApiPath(id)).await?;
    Ok(back(&format!(
        "{} rolled back: {} serves",
        view.id,
        view.version.as_deref().unwrap_or("nothing")
    )))
}

/// A cell of the enablement matrix.
#[derive(Debug, Deserialize)]
pub struct Toggle {
    /// `on`, `off`, or `default` (back to plugins.toml).
    to: String,
}

/// `POST /console/plugins/{id}/tenants/{tenant}`
pub async fn toggle(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path((id, tenant)): Path<(String, String)>,
    Form(form): Form<Toggle>,
) -> PageResult {
    let path = ApiPath((tenant.clone(), id.clone()));
    match form.to.as_str() {
        "default" => {
            tenants::clear_plugin(State(state), signed.admin(), path).await?;
        }
        word => {
            let enabled = word == "on";
            tenants::enable_plugin(
                State(state),
                signed.admin(),
                path,
                crate::api::ApiJson(Enablement { enabled }),
            )
            .await?;
        }
    }
    Ok(back(&format!("{id} for {tenant}: {}", form.to)))
}

fn back(notice: &str) -> Response {
    back_to("/console/plugins", &[("notice", notice)])
}

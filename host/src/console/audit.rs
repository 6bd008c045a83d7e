//! The audit log, newest first, narrowed by tenant, action and actor.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::page::filters;
use super::page::{Frame, PageResult, query, render};
use super::session::Signed;
use crate::api::tenants::{self, AuditQuery};
use crate::api::{ApiQuery, ApiState};
use crate::store::AuditRecord;

/// Entries a page shows.
pub const PAGE: u32 = 100;

/// `GET /console/audit` query.
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    frame: Frame,
    f: AuditFilter,
    entries: Vec<AuditRecord>,
    next: Option<String>,
    next_query: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// `GET /console/audit`
pub async fn page(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Query(f): Query<AuditFilter>,
) -> PageResult {
    let listed = tenants::audit(
        State(state),
        signed.admin(),
        ApiQuery(AuditQuery {
            tenant: given(&f.tenant),
            action: given(&f.action),
            actor: given(&f.actor),
            subject: None,
            since_ms: None,
            until_ms: None,
            limit: Some(PAGE),
            cursor: f.cursor.clone(),
        }),
    )
    .await?;
    let next_query = query(&[
        ("tenant", &f.tenant),
        ("action", &f.action),
        ("actor", &f.actor),
    ]);
    Ok(render(&AuditPage {
        frame: Frame::new("audit", &signed),
        f,
        entries: listed.items,
        next: listed.next,
        next_query,
    }))
}

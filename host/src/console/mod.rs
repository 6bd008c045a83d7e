//! The admin console at `/console`: server-rendered pages for the platform team, served by the
//! host itself and on only when an admin key is configured.
//!
//! **How it is built, and why.** Pages are [askama] templates (`host/templates/console/`),
//! compiled into the binary with their CSS and one small script, so the deploy stays one file
//! and a fresh machine needs no Node or front-end build. Every page is plain HTML forms that
//! work without script; `console.js` adds only what forms cannot do: the overview's live part
//! reloading itself, and a component upload checked (its verdict shown) before it serves.
//!
//! **Nothing the admin API cannot do.** Each console read and change calls the admin API's own
//! handler (`crate::api::admin`, `tenants`, `tenant_activity`, `overview`) with the signed-in
//! admin as the caller — the same validation, the same audit entries (actor
//! `console:<name>`), the same answers — and each has its route in the OpenAPI document; the
//! console adds only the session, CSRF protection and the HTML. It never shows a secret: app
//! secrets appear by name, API keys once when made.
//!
//! Sessions, CSRF and security headers: [`session`].

mod assets;
mod audit;
mod jobs;
mod overview;
mod page;
mod plot;
mod plugins;
mod session;
mod tenants;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use session::{SESSION_COOKIE, SESSION_TTL, harden};

use crate::api::{ApiState, MAX_COMPONENT_UPLOAD};

/// The console's routes, under `/console`.
pub fn router(state: Arc<ApiState>) -> Router<Arc<ApiState>> {
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/overview/live", get(overview::live))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/assets/{file}", get(assets::serve))
        .route("/console/plugins", get(plugins::page))
        .route(
            "/console/plugins/{id}/check",
            post(plugins::check).layer(DefaultBodyLimit::max(MAX_COMPONENT_UPLOAD)),
        )
        .route(
            "/console/plugins/{id}/upload",
            post(plugins::upload).layer(DefaultBodyLimit::max(MAX_COMPONENT_UPLOAD)),
        )
        .route("/console/plugins/{id}/rollback", post(plugins::rollback))
        .route(
            "/console/plugins/{id}/tenants/{tenant}",
            post(plugins::toggle),
        )
        .route("/console/tenants", get(tenants::list).post(tenants::create))
        .route("/console/tenants/{tenant}", get(tenants::tenant))
        .route("/console/tenants/{tenant}/disable", post(tenants::disable))
        .route("/console/tenants/{tenant}/enable", post(tenants::enable))
        .route("/console/tenants/{tenant}/keys", post(tenants::add_key))
        .route(
            "/console/tenants/{tenant}/keys/{id}/revoke",
            post(tenants::revoke_key),
        )
        .route(
            "/console/tenants/{tenant}/connections/{id}/refresh",
            post(tenants::refresh),
        )
        .route("/console/jobs", get(jobs::list))
        .route("/console/tenants/{tenant}/jobs/{id}", get(jobs::job))
        .route("/console/dead-letters", get(jobs::dead_letters))
        .route("/console/dead-letters/replay", post(jobs::replay))
        .route("/console/audit", get(audit::page))
        .layer(axum::middleware::from_fn_with_state(state, session::guard))
}

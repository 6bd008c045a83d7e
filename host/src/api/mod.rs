//! The HTTP API: tenants' connections, OAuth, posts, jobs and dead letters under `/v1`
//! and the tenant's event endpoints (authenticated by per-tenant API keys), platform webhooks under `/webhooks`, the admin API
//! under `/admin` (a separate key), and operations (`/livez`, `/readyz`, `/metrics`).
//!
//! Every error answers `{code, message}`; malformed input is a 4xx and changes nothing.

pub(crate) mod admin;
mod connect_sessions;
pub(crate) mod connections;
mod error;
mod events;
mod extract;
mod failures;
mod metrics;
mod openapi;
mod ops;
pub(crate) mod overview;
pub(crate) mod paging;
pub(crate) mod posts;
mod return_to;
pub(crate) mod tenant_activity;
pub(crate) mod tenants;
mod unread;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::routing::{get, post, put};

pub use connect_sessions::{CONNECT_SESSION_TTL, ConnectSessionCreated};
pub use error::ApiError;
pub use extract::{
    Admin, ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, Caller, constant_time_eq, source,
};
pub use failures::{DEFAULT_FAILURES_PER_MINUTE, FailureBudget, MAX_SOURCES};
pub use metrics::HttpMetrics;
pub use openapi::{Access, OPERATIONS, Operation, document as openapi_document};
pub use return_to::redirect as return_to_redirect;

use crate::capability::http::LocalRateLimiter;
use crate::jobs::Pipeline;
use crate::store::Store;

/// Largest JSON body the API reads.
pub const MAX_JSON_BODY: usize = 1 << 20;
/// Largest webhook body the host reads (and hands to the plugin); larger ones answer 413 before
/// the plugin runs. Platforms' deliveries are a few KiB; 1 MiB leaves room for batches.
pub const MAX_WEBHOOK_BODY: usize = 1 << 20;
/// Largest component upload.
pub const MAX_COMPONENT_UPLOAD: usize = 64 << 20;
/// How long an OAuth `state` is valid.
pub const OAUTH_STATE_TTL: Duration = Duration::from_secs(600);

/// What the handlers share.
pub struct ApiState {
    /// The pipeline (and through it the store and the runtime).
    pub pipeline: Arc<Pipeline>,
    /// The admin key; `None` turns the admin API off.
    pub admin_key: Option<String>,
    /// Admins who sign in to the console with keys of their own.
    pub console_admins: Vec<crate::config::ConsoleAdmin>,
    /// Where this host is reachable from browsers (OAuth redirects), without a trailing slash.
    pub public_url: String,
    /// HTTP request counts.
    pub metrics: HttpMetrics,
    /// Whether Redis is part of this deployment (for `/readyz`).
    pub redis_url: Option<String>,
    /// Failed key checks per source address (brute-force protection).
    pub auth_failures: FailureBudget,
    /// Webhook requests per plugin (`webhook_rate` in `plugins.toml`), in this replica: the
    /// budget protects this replica's own time, so it is not shared through Redis.
    pub webhook_rate: LocalRateLimiter,
    /// Set when the process began to stop: `/readyz` answers 503 from then on.
    pub draining: std::sync::atomic::AtomicBool,
    /// The fleet's plugin registry (uploads and rollbacks as database state).
    pub fleet: Arc<crate::fleet::FleetPlugins>,
}

impl ApiState {
    /// The state of an API over `pipeline`, with the default failure budget.
    pub fn new(
        pipeline: Arc<Pipeline>,
        admin_key: Option<String>,
        public_url: String,
        redis_url: Option<String>,
    ) -> Self {
        ApiState {
            fleet: crate::fleet::FleetPlugins::new(
                pipeline.store().clone(),
                pipeline.runtime().clone(),
            ),
            pipeline,
            admin_key,
            console_admins: Vec::new(),
            public_url,
            metrics: HttpMetrics::default(),
            redis_url,
            auth_failures: FailureBudget::default(),
            webhook_rate: LocalRateLimiter::default(),
            draining: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The same state with another failure budget.
    pub fn with_auth_failures(mut self, budget: FailureBudget) -> Self {
        self.auth_failures = budget;
        self
    }

    /// The same state with the console's named admins.
    pub fn with_console_admins(mut self, admins: Vec<crate::config::ConsoleAdmin>) -> Self {
        self.console_admins = admins;
        self
    }

    /// Whether the console is on: the admin key or a named console admin is configured.
    pub fn console_enabled(&self) -> bool {
        self.admin_key.is_some() || !self.console_admins.is_empty()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.pipeline.store()
    }
}

/// The whole API, as a service that knows each connection's peer address (which the failure
/// budget counts by). Serve this, not the bare [`router`].
pub fn service(state: Arc<ApiState>) -> IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
    router(state).into_make_service_with_connect_info::<SocketAddr>()
}

/// The whole API.
pub fn router(state: Arc<ApiState>) -> Router {
    let v1 = Router::new()
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{id}",
            get(connections::get).delete(connections::delete),
        )
        .route("/connections/{id}/refresh", post(connections::refresh))
        .route("/connections/{id}/accounts", get(connections::accounts))
        .route(
            "/oauth/return-origins",
            get(return_to::get_origins).put(return_to::put_origins),
        )
        .route("/connect-sessions", post(connect_sessions::create))
        .route("/oauth/{plugin}/start", get(connections::oauth_start))
        .route("/oauth/{plugin}/callback", get(connections::oauth_callback))
        .route("/posts", post(posts::create))
        .route("/posts/{id}", get(posts::get).delete(posts::delete))
        .route("/analytics", get(posts::analytics))
        .route("/jobs", get(posts::jobs))
        .route("/jobs/{id}", get(posts::job))
        .route("/jobs/{id}/attempts", get(posts::attempts))
        .route("/dead-letters", get(posts::dead_letters))
        .route("/dead-letters/{id}/replay", post(posts::replay))
        .route("/event-types", get(events::types))
        .route("/event-endpoints", get(events::list).post(events::create))
        .route(
            "/event-endpoints/{id}",
            get(events::get)
                .patch(events::update)
                .delete(events::delete),
        )
        .route(
            "/event-endpoints/{id}/rotate-secret",
            post(events::rotate_secret),
        )
        .route("/event-endpoints/{id}/deliveries", get(events::deliveries))
        .route("/event-endpoints/{id}/redeliver", post(events::redeliver))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    let admin = Router::new()
        .route("/plugins", get(admin::plugins))
        .route(
            "/plugins/{id}",
            put(admin::upload).layer(DefaultBodyLimit::max(MAX_COMPONENT_UPLOAD)),
        )
        .route(
            "/plugins/{id}/check",
            post(admin::check).layer(DefaultBodyLimit::max(MAX_COMPONENT_UPLOAD)),
        )
        .route("/plugins/{id}/rollback", post(admin::rollback))
        .route("/overview", get(overview::overview))
        .route(
            "/plugins/{id}/config",
            get(admin::config)
                .put(admin::set_config)
                .delete(admin::clear_config),
        )
        .route("/config", get(admin::config_state))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/tenants/{tenant}",
            get(tenants::get).delete(tenants::delete),
        )
        .route("/tenants/{tenant}/disable", post(tenants::disable))
        .route("/tenants/{tenant}/enable", post(tenants::enable_tenant))
        .route("/tenants/{tenant}/limits", put(tenants::set_limits))
        .route(
            "/tenants/{tenant}/keys",
            get(tenants::keys).post(tenants::add_key),
        )
        .route(
            "/tenants/{tenant}/keys/{id}",
            axum::routing::delete(tenants::revoke_key),
        )
        .route(
            "/tenants/{tenant}/keys/{id}/rotate",
            post(tenants::rotate_key),
        )
        .route("/tenants/{tenant}/plugins", get(tenants::plugins))
        .route(
            "/tenants/{tenant}/plugins/{id}",
            put(tenants::enable_plugin).delete(tenants::clear_plugin),
        )
        .route("/tenants/{tenant}/connections", get(tenants::connections))
        .route(
            "/tenants/{tenant}/connections/{id}/refresh",
            post(tenant_activity::refresh),
        )
        .route("/tenants/{tenant}/jobs", get(tenant_activity::jobs))
        .route("/tenants/{tenant}/jobs/{id}", get(tenant_activity::job))
        .route(
            "/tenants/{tenant}/jobs/{id}/attempts",
            get(tenant_activity::attempts),
        )
        .route(
            "/tenants/{tenant}/dead-letters",
            get(tenant_activity::dead_letters),
        )
        .route(
            "/tenants/{tenant}/dead-letters/{id}/replay",
            post(tenant_activity::replay),
        )
        .route("/audit", get(tenants::audit))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    Router::new()
        .nest("/v1", v1)
        .nest("/admin", admin)
        .route(
            "/webhooks/{plugin}",
            get(webhooks::challenge)
                .post(webhooks::deliver)
                .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)),
        )
        .route("/livez", get(ops::livez))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .merge(crate::console::router(state.clone()))
        .merge(crate::connect::router())
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(unread::close_when_unread))
        .with_state(state)
}

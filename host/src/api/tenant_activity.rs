//! The admin API's view of one tenant's activity: its jobs and their attempts, its dead letters
//! (replayed, with corrected options), a connection's refresh. The same reads and changes the
//! tenant's own key makes under `/v1`, through the same handlers, under
//! `/admin/tenants/{tenant}/…` for the platform team and the console.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::paging::Page;
use super::posts::{self, DeadLettersQuery, JobsQuery, ReplayBody};
use super::{Admin, ApiError, ApiJsonOrEmpty, ApiPath, ApiQuery, ApiState, Caller, connections};
use crate::store::{Attempt, Connection, DeadLetter, Job};

/// `tenant` as the `/v1` handlers' caller, once it is known to exist.
async fn as_caller(state: &ApiState, tenant: String) -> Result<Caller, ApiError> {
    state.store().tenant_record(&tenant).await?;
    Ok(Caller { tenant })
}

/// `GET /admin/tenants/{tenant}/jobs`: like `GET /v1/jobs`.
pub async fn jobs(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    query: ApiQuery<JobsQuery>,
) -> Result<Page<Job>, ApiError> {
    let caller = as_caller(&state, tenant).await?;
    posts::jobs(State(state), caller, query).await
}

/// `GET /admin/tenants/{tenant}/jobs/{id}`: like `GET /v1/jobs/{id}`.
pub async fn job(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<Json<Job>, ApiError> {
    let caller = as_caller(&state, tenant).await?;
    posts::job(State(state), caller, ApiPath(id)).await
}

/// `GET /admin/tenants/{tenant}/jobs/{id}/attempts`: like `GET /v1/jobs/{id}/attempts`.
pub async fn attempts(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Attempt>>, ApiError> {
    let caller = as_caller(&state, tenant).await?;
    posts::attempts(State(state), caller, ApiPath(id)).await
}

/// `GET /admin/tenants/{tenant}/dead-letters`: like `GET /v1/dead-letters`.
pub async fn dead_letters(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    query: ApiQuery<DeadLettersQuery>,
) -> Result<Page<DeadLetter>, ApiError> {
    let caller = as_caller(&state, tenant).await?;
    posts::dead_letters(State(state), caller, query).await
}

/// `POST /admin/tenants/{tenant}/dead-letters/{id}/replay`: like
/// `POST /v1/dead-letters/{id}/replay`, audited as the admin's.
pub async fn replay(
    State(state): State<Arc<ApiState>>,
    admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<ReplayBody>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let caller = as_caller(&state, tenant).await?;
    posts::replay_as(&state, &caller.tenant, &id, admin.actor(), body).await
}

/// `POST /admin/tenants/{tenant}/connections/{id}/refresh`: like
/// `POST /v1/connections/{id}/refresh`.
pub async fn refresh(
    State(state): State<Arc<ApiState>>,
    _admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<Json<Connection>, ApiError> {
    let caller = as_caller(&state, tenant).await?;
    connections::refresh(State(state), caller, ApiPath(id)).await
}

//! Extractors whose rejections answer in the API's error shape, and the callers' identities.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, ApiState};

/// A JSON body (unknown fields refused where the type says so).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        Ok(ApiPath(value))
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        Ok(ApiQuery(value))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A tenant, authenticated by its API key (`Authorization: Bearer pdk_…`).
pub struct Caller {
    /// The tenant.
    pub tenant: String,
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, ApiError> {
        let key = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized("send the tenant's API key as `Authorization: Bearer <key>`")
        })?;
        match state.store().tenant_for_key(key).await? {
            Some(tenant) => Ok(Caller { tenant }),
            None => Err(ApiError::unauthorized("unknown or revoked API key")),
        }
    }
}

/// The platform team, authenticated by the admin key (`POSTD_ADMIN_KEY`).
pub struct Admin;

impl FromRequestParts<Arc<ApiState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, ApiError> {
        let Some(expected) = state.admin_key.as_deref() else {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "admin-disabled",
                "the admin API is off: set POSTD_ADMIN_KEY",
            ));
        };
        let given = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized("send the admin key as `Authorization: Bearer <key>`")
        })?;
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized("wrong admin key"))
        }
    }
}

/// Compares without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

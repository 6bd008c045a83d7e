//! Extractors whose rejections answer in the API's error shape, and the callers' identities.
//!
//! Keys are checked without a timing signal about the right key: the admin key is compared as
//! SHA-256 digests in constant time (`subtle`), so neither its bytes nor its length leak; a
//! tenant key is looked up by its SHA-256 digest (only digests are stored), so what a lookup's
//! timing could reveal is about a digest of the guess, which says nothing about any stored key.
//! Every wrong key takes from its source's [`FailureBudget`](super::FailureBudget); a source
//! whose budget is spent is answered 429 before its key is looked at.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, ApiState};
use crate::store::KeyOwner;

/// A JSON body (unknown fields refused where the type says so).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// A JSON body that may be left out: an empty body reads as `T::default()`.
pub struct ApiJsonOrEmpty<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for ApiJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJsonOrEmpty)
            .map_err(|e| ApiError::bad_request(format!("the JSON body is not valid here: {e}")))
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

/// Where a request comes from: the peer address of its connection, or the unspecified address
/// when the router is served without connection info (every such request then shares one
/// budget; [`super::service`] serves with it).
pub fn source(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// 429 while `source` has spent its budget of failed key checks.
fn within_budget(state: &ApiState, source: IpAddr) -> Result<(), ApiError> {
    state.auth_failures.check(source).map_err(|wait| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-failures",
            "too many wrong keys from this address; retry later",
        )
        .with_retry_after(wait)
    })
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
        let source = source(parts);
        within_budget(state, source)?;
        match state.store().key_owner(key, state.pipeline.now()).await? {
            KeyOwner::Tenant(tenant) => Ok(Caller { tenant }),
            KeyOwner::Disabled(tenant) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "tenant-disabled",
                format!("tenant `{tenant}` is disabled; the platform team can re-enable it"),
            )),
            KeyOwner::Unknown => {
                state.auth_failures.record_failure(source);
                Err(ApiError::unauthorized("unknown or revoked API key"))
            }
        }
    }
}

/// The platform team, authenticated by the admin key (`POSTD_ADMIN_KEY`), or an admin signed in
/// to the console. Its [`actor`](Admin::actor) is what the audit log records for its changes.
pub struct Admin {
    actor: String,
}

impl Admin {
    /// An admin signed in to the console as `name` (its changes are audited as `console:<name>`).
    pub fn console(name: &str) -> Self {
        Admin {
            actor: format!("console:{name}"),
        }
    }

    /// Who the audit log names for this admin's changes: `admin` for the admin key,
    /// `console:<name>` for a console session.
    pub fn actor(&self) -> &str {
        &self.actor
    }
}

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
        let source = source(parts);
        within_budget(state, source)?;
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(Admin {
                actor: "admin".into(),
            })
        } else {
            state.auth_failures.record_failure(source);
            Err(ApiError::unauthorized("wrong admin key"))
        }
    }
}

/// Compares two secrets in constant time: their SHA-256 digests, with `subtle`, so the time
/// taken depends neither on where they differ nor on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values_of_any_length() {
        assert!(constant_time_eq(
            b"admin-key-0123456789",
            b"admin-key-0123456789"
        ));
        assert!(!constant_time_eq(
            b"admin-key-0123456789",
            b"admin-key-0123456788"
        ));
        assert!(!constant_time_eq(b"admin-key", b"admin-key-0123456789"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}

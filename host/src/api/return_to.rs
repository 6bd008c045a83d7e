//! Where an OAuth flow ends: `return_to`, a URL of the tenant's own app, checked at start
//! against the origins the tenant allows (`PUT /v1/oauth/return-origins`). The callback then
//! answers `303 See Other` to it, with `connection_id` on success or `error` (the API's error
//! code) and `error_description` on failure, instead of a JSON body the user's browser would
//! show raw. No token or secret ever goes into that URL.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{ApiError, ApiJson, ApiState, Caller};

/// The most return origins a tenant may allow.
pub const MAX_RETURN_ORIGINS: usize = 20;

/// `GET`/`PUT /v1/oauth/return-origins` body.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnOrigins {
    /// Origins (`https://app.example.com`, `http://localhost:3000`) an OAuth `return_to` may
    /// name.
    pub origins: Vec<String>,
}

/// `origin` in its canonical form (`scheme://host[:port]`, default port left out), if it is an
/// origin: https, or http for loopback hosts (local development), no path, query or user.
pub fn canonical_origin(origin: &str) -> Result<String, String> {
    let url = Url::parse(origin).map_err(|e| format!("`{origin}` is not an origin: {e}"))?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{origin}`: an origin has no path, query or fragment"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{origin}`: an origin carries no credentials"));
    }
    check_scheme(&url).map_err(|why| format!("`{origin}`: {why}"))?;
    Ok(url.origin().ascii_serialization())
}

fn check_scheme(url: &Url) -> Result<(), String> {
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("http is allowed for localhost only; use https".into()),
        other => Err(format!("scheme `{other}` is not https")),
    }
}

/// Checks `return_to` against the tenant's `allowed` origins; returns it parsed.
pub fn check_return_to(return_to: &str, allowed: &[String]) -> Result<Url, ApiError> {
    let url = Url::parse(return_to)
        .map_err(|e| ApiError::bad_request(format!("`return_to` is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(ApiError::bad_request(
            "`return_to` carries no credentials or fragment",
        ));
    }
    check_scheme(&url).map_err(|why| ApiError::bad_request(format!("`return_to`: {why}")))?;
    let origin = url.origin().ascii_serialization();
    if !allowed.contains(&origin) {
        return Err(ApiError::bad_request(format!(
            "`return_to` origin {origin} is not among the tenant's return origins \
             (PUT /v1/oauth/return-origins)"
        )));
    }
    Ok(url)
}

/// A `303` to `return_to` with `params` added to its query.
pub fn redirect(return_to: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(return_to) else {
        // Checked when stored; a row changed by hand answers plainly.
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the stored return URL is unreadable",
        )
        .into_response();
    };
    url.query_pairs_mut().extend_pairs(params);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

/// `GET /v1/oauth/return-origins`
pub async fn get_origins(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<ReturnOrigins>, ApiError> {
    let origins = state
        .store()
        .tenant(&caller.tenant)
        .return_origins()
        .await?;
    Ok(Json(ReturnOrigins { origins }))
}

/// `PUT /v1/oauth/return-origins`: replaces the list (audited).
pub async fn put_origins(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiJson(body): ApiJson<ReturnOrigins>,
) -> Result<Json<ReturnOrigins>, ApiError> {
    if body.origins.len() > MAX_RETURN_ORIGINS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_RETURN_ORIGINS} return origins"
        )));
    }
    let mut origins = body
        .origins
        .iter()
        .map(|o| canonical_origin(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::bad_request)?;
    origins.sort();
    origins.dedup();
    state
        .store()
        .tenant(&caller.tenant)
        .set_return_origins(&origins, "api", state.pipeline.now())
        .await?;
    Ok(Json(ReturnOrigins { origins }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_canonical_and_https_outside_loopback() {
        assert_eq!(
            canonical_origin("https://App.Example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            canonical_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        for bad in [
            "http://app.example.com",
            "https://app.example.com/path",
            "https://u:p@app.example.com",
            "javascript:alert(1)",
            "ftp://app.example.com",
            "app.example.com",
        ] {
            assert!(canonical_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn return_to_must_be_under_an_allowed_origin() {
        let allowed = vec!["https://app.example.com".to_string()];
        assert!(check_return_to("https://app.example.com/connected?x=1", &allowed).is_ok());
        for bad in [
            "https://evil.example/connected",
            "https://app.example.com.evil.example/",
            "https://app.example.com:8443/",
            "http://app.example.com/",
            "https://user@app.example.com/",
            "not a url",
        ] {
            assert!(check_return_to(bad, &allowed).is_err(), "{bad}");
        }
    }
}

//! The hosted connect page, `/connect/{token}`: where a tenant's user connects an account
//! without the tenant building any of it (the tenant's backend opens the page with
//! `POST /v1/connect-sessions`). The user picks a platform, goes through its OAuth consent or
//! pastes an API key, and is sent back to the tenant's `return_to` with `connection_id`, or with
//! `error` and `error_description`. Plain HTML that works without script, on a phone-sized
//! screen; the token in the address is its only credential and it lasts
//! [`CONNECT_SESSION_TTL`](crate::api::CONNECT_SESSION_TTL).
//!
//! Every step is the tenant API's own handler, called as the tenant: the OAuth start (with the
//! page's `return_to`, so the callback sends the user back) and the API-key connect.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::api::connections::{self, NewApiKeyConnection, StartQuery};
use crate::api::{ApiError, ApiJson, ApiPath, ApiQuery, ApiState, Caller};
use crate::console::harden;
use crate::runtime::wit::connector::AuthKind;
use crate::store::{ConnectSession, new_id};

/// The connect page's routes.
pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/connect/{token}", get(page))
        .route("/connect/{token}/oauth/{plugin}", get(oauth))
        .route(
            "/connect/{token}/key/{plugin}",
            axum::routing::post(api_key),
        )
        .route("/connect/{token}/cancel", get(cancel))
}

/// A platform the page offers.
struct Offer {
    plugin: String,
    name: String,
    api_key: bool,
}

#[derive(Template)]
#[template(path = "connect/page.html")]
struct ConnectPage {
    token: String,
    offers: Vec<Offer>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "connect/gone.html")]
struct Gone;

fn finish(state: &ApiState, mut response: Response) -> Response {
    let headers = response.headers_mut();
    harden(headers, state.public_url.starts_with("https://"));
    // The page's forms end at the tenant's own app (a redirect to `return_to`) or the
    // platform's consent page, so form targets are not limited to this host.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// The live, unused session `token` names. A database failure reads as none (the page says
/// the link no longer works, and the failure is logged).
async fn session(state: &ApiState, token: &str) -> Option<ConnectSession> {
    match state
        .store()
        .connect_session(token, state.pipeline.now())
        .await
    {
        Ok(found) => found.filter(|s| s.connection_id.is_none()),
        Err(error) => {
            tracing::error!(%error, "reading a connect session failed");
            None
        }
    }
}

fn gone(state: &ApiState) -> Response {
    let page = Gone.render().unwrap_or_default();
    finish(
        state,
        (StatusCode::NOT_FOUND, axum::response::Html(page)).into_response(),
    )
}

/// The live session `token` names, when it offers `plugin`; otherwise the page that says why.
async fn offering(state: &ApiState, token: &str, plugin: &str) -> Result<ConnectSession, Response> {
    let Some(s) = session(state, token).await else {
        return Err(gone(state));
    };
    if !s.plugins.iter().any(|p| p == plugin) {
        let why = "That platform is not offered here.".to_string();
        return Err(render(state, token, &s, Some(why)));
    }
    Ok(s)
}

fn render(state: &ApiState, token: &str, s: &ConnectSession, error: Option<String>) -> Response {
    let offers = s
        .plugins
        .iter()
        .filter_map(|plugin| {
            let manifest = state.pipeline.runtime().manifest(plugin)?;
            Some(Offer {
                plugin: plugin.clone(),
                name: manifest.display_name.clone(),
                api_key: manifest.auth == AuthKind::ApiKey,
            })
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ConnectPage {
        token: token.to_string(),
        offers,
        error,
    }
    .render()
    .unwrap_or_default();
    finish(state, (status, axum::response::Html(page)).into_response())
}

/// `GET /connect/{token}`
async fn page(State(state): State<Arc<ApiState>>, Path(token): Path<String>) -> Response {
    match session(&state, &token).await {
        Some(s) => render(&state, &token, &s, None),
        None => gone(&state),
    }
}

/// `GET /connect/{token}/oauth/{plugin}`: to the platform's consent page; its callback sends
/// the user to `return_to`.
async fn oauth(
    State(state): State<Arc<ApiState>>,
    Path((token, plugin)): Path<(String, String)>,
) -> Response {
    let s = match offering(&state, &token, &plugin).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let started = connections::oauth_start(
        State(state.clone()),
        Caller {
            tenant: s.tenant_id.clone(),
        },
        ApiPath(plugin),
        ApiQuery(StartQuery {
            connection_id: None,
            return_to: Some(s.return_to.clone()),
        }),
    )
    .await;
    match started {
        Ok(Json(start)) => finish(&state, Redirect::to(&start.authorize_url).into_response()),
        Err(error) => render(&state, &token, &s, Some(error.message)),
    }
}

/// The API-key form.
#[derive(Debug, Deserialize)]
struct KeyForm {
    api_key: String,
}

/// `POST /connect/{token}/key/{plugin}`: connects with the key; back to `return_to` with the
/// connection, or the page again with what went wrong.
async fn api_key(
    State(state): State<Arc<ApiState>>,
    Path((token, plugin)): Path<(String, String)>,
    Form(form): Form<KeyForm>,
) -> Response {
    let s = match offering(&state, &token, &plugin).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    // The page makes one connection: it is claimed for the id first (a second submit finds it
    // used), and given back if the connect fails, so the user can correct the key.
    let id = new_id("conn");
    let now = state.pipeline.now();
    match state.store().claim_connect_session(&token, &id, now).await {
        Ok(true) => {}
        Ok(false) => return gone(&state),
        Err(error) => return render(&state, &token, &s, Some(ApiError::from(error).message)),
    }
    let made = connections::create(
        State(state.clone()),
        Caller {
            tenant: s.tenant_id.clone(),
        },
        ApiJson(NewApiKeyConnection {
            plugin,
            api_key: form.api_key.trim().to_string(),
            id: Some(id),
        }),
    )
    .await;
    match made {
        Ok((_, Json(connection))) => finish(
            &state,
            crate::api::return_to_redirect(&s.return_to, &[("connection_id", &connection.id)]),
        ),
        Err(error) => {
            if let Err(release) = state.store().release_connect_session(&token).await {
                tracing::error!(error = %release, "a connect page could not be given back after a failed connect");
            }
            render(&state, &token, &s, Some(for_people(&error)))
        }
    }
}

/// A failed connect, as the user reads it: a refused key says so plainly.
fn for_people(error: &ApiError) -> String {
    match error.code {
        "auth-expired" | "auth-revoked" => format!(
            "The platform did not accept that key: check it and try again. ({})",
            error.message
        ),
        _ => error.message.clone(),
    }
}

/// `GET /connect/{token}/cancel`: back to `return_to` with `error=cancelled`.
async fn cancel(State(state): State<Arc<ApiState>>, Path(token): Path<String>) -> Response {
    match session(&state, &token).await {
        Some(s) => finish(
            &state,
            crate::api::return_to_redirect(
                &s.return_to,
                &[
                    ("error", "cancelled"),
                    ("error_description", "the user left without connecting"),
                ],
            ),
        ),
        None => gone(&state),
    }
}

//! The overview: plugins serving, jobs by state, dead letters, the last hour of runs as plots,
//! the database and Redis. Read from `GET /admin/overview`; the live part reloads itself every
//! few seconds (`console.js` fetches [`live`] and swaps it in).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use super::page::filters;
use super::page::{Frame, PageResult, render};
use super::plot;
use super::session::Signed;
use crate::api::ApiState;
use crate::api::overview::{Overview, overview};

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    frame: Frame,
    live: Live,
}

#[derive(Template)]
#[template(path = "console/overview_live.html")]
struct Live {
    o: Overview,
    publishes: String,
    errors: String,
    error_rate: String,
}

async fn live_part(
    state: Arc<ApiState>,
    signed: &Signed,
) -> Result<Live, super::page::ConsoleError> {
    let axum::Json(o) = overview(State(state), signed.admin()).await?;
    Ok(Live {
        publishes: plot::bars(&o.last_hour, |m| m.published, "Publishes per minute"),
        errors: plot::bars(&o.last_hour, |m| m.errors, "Failed runs per minute"),
        error_rate: plot::error_rate(&o.last_hour),
        o,
    })
}

/// `GET /console`
pub async fn page(State(state): State<Arc<ApiState>>, signed: Signed) -> PageResult {
    let live = live_part(state, &signed).await?;
    Ok(render(&OverviewPage {
        frame: Frame::new("overview", &signed),
        live,
    }))
}

/// `GET /console/overview/live`: the part of the overview that changes, alone.
pub async fn live(State(state): State<Arc<ApiState>>, signed: Signed) -> PageResult {
    Ok(render(&live_part(state, &signed).await?))
}

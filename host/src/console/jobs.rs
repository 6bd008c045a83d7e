//! Jobs and dead letters: a tenant's jobs filtered by plugin, state and time; a job's attempts
//! as a timeline; dead letters replayed one or many at a time, their options corrected first.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::page::filters;
use super::page::{ConsoleError, Frame, PageResult, back_to, parse_when, query, render};
use super::session::Signed;
use crate::api::posts::{DeadLettersQuery, JobsQuery, ReplayBody};
use crate::api::{ApiJsonOrEmpty, ApiPath, ApiQuery, ApiState, tenant_activity};
use crate::store::{Attempt, DeadLetter, Job};

/// Rows a page shows.
pub const PAGE: u32 = 50;

/// `GET /console/jobs` query: every filter as the form sends it.
#[derive(Debug, Default, Deserialize)]
pub struct JobsFilter {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    plugin: String,
    #[serde(default)]
    status: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    #[serde(default)]
    since: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "console/jobs.html")]
struct JobsPage {
    frame: Frame,
    f: JobsFilter,
    jobs: Vec<Job>,
    next: Option<String>,
    next_query: String,
}

fn time_filter(text: &str, name: &str) -> Result<Option<i64>, ConsoleError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_when(text).map(Some).ok_or_else(|| {
        ConsoleError::new(
            StatusCode::BAD_REQUEST,
            &format!("`{name}` is a date and time like 2026-12-03T09:30 (UTC)"),
        )
    })
}

/// `GET /console/jobs`
pub async fn list(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Query(f): Query<JobsFilter>,
) -> PageResult {
    let mut page = JobsPage {
        frame: Frame::new("jobs", &signed),
        jobs: vec![],
        next: None,
        next_query: String::new(),
        f,
    };
    if page.f.tenant.is_empty() {
        return Ok(render(&page));
    }
    let listed = tenant_activity::jobs(
        State(state),
        signed.admin(),
        ApiPath(page.f.tenant.clone()),
        ApiQuery(JobsQuery {
            status: Some(page.f.status.clone()),
            plugin: Some(page.f.plugin.clone()),
            since_ms: time_filter(&page.f.since, "since")?,
            until_ms: time_filter(&page.f.until, "until")?,
            limit: Some(PAGE),
            cursor: page.f.cursor.clone(),
        }),
    )
    .await?;
    page.jobs = listed.items;
    page.next = listed.next;
    page.next_query = query(&[
        ("tenant", &page.f.tenant),
        ("plugin", &page.f.plugin),
        ("status", &page.f.status),
        ("since", &page.f.since),
        ("until", &page.f.until),
    ]);
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "console/job.html")]
struct JobPage {
    frame: Frame,
    job: Job,
    attempts: Vec<Attempt>,
}

/// `GET /console/tenants/{tenant}/jobs/{id}`: the job and its attempts, oldest first.
pub async fn job(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Path((tenant, id)): Path<(String, String)>,
) -> PageResult {
    let axum::Json(job) = tenant_activity::job(
        State(state.clone()),
        signed.admin(),
        ApiPath((tenant.clone(), id.clone())),
    )
    .await?;
    let axum::Json(attempts) =
        tenant_activity::attempts(State(state), signed.admin(), ApiPath((tenant, id))).await?;
    Ok(render(&JobPage {
        frame: Frame::new("jobs", &signed),
        job,
        attempts,
    }))
}

/// `GET /console/dead-letters` query.
#[derive(Debug, Default, Deserialize)]
pub struct LettersFilter {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/dead_letters.html")]
struct LettersPage {
    frame: Frame,
    tenant: String,
    letters: Vec<DeadLetter>,
    next: Option<String>,
}

/// `GET /console/dead-letters`
pub async fn dead_letters(
    State(state): State<Arc<ApiState>>,
    signed: Signed,
    Query(f): Query<LettersFilter>,
) -> PageResult {
    let mut page = LettersPage {
        frame: Frame::new("dead-letters", &signed).with_notice(f.notice),
        tenant: f.tenant,
        letters: vec![],
        next: None,
    };
    if !page.tenant.is_empty() {
        let listed = tenant_activity::dead_letters(
            State(state),
            signed.admin(),
            ApiPath(page.tenant.clone()),
            ApiQuery(DeadLettersQuery {
                limit: Some(PAGE),
                cursor: f.cursor,
            }),
        )
        .await?;
        page.letters = listed.items;
        page.next = listed.next;
    }
    Ok(render(&page))
}

/// Option corrections as the form's text area gives them: one `name=value` a line; `name=`
/// removes the option.
fn option_changes(text: &str) -> Result<BTreeMap<String, Option<String>>, ConsoleError> {
    let mut changes = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once('=').ok_or_else(|| {
            ConsoleError::new(
                StatusCode::BAD_REQUEST,
                &format!("`{line}`: write each option as name=value (name= removes it)"),
            )
        })?;
        let value = value.trim();
        changes.insert(
            name.trim().to_string(),
            (!value.is_empty()).then(|| value.to_string()),
        );
    }
    Ok(changes)
}

/// `POST /console/dead-letters/replay`: the form names the tenant, one or more dead letters
/// (`id`, repeated) and the option corrections they all get.
pub async fn replay(State(state): State<Arc<ApiState>>, signed: Signed, body: Bytes) -> PageResult {
    let (mut tenant, mut ids, mut options) = (String::new(), Vec::new(), String::new());
    for (key, value) in form_urlencoded::parse(&body) {
        match &*key {
            "tenant" => tenant = value.into_owned(),
            "id" => ids.push(value.into_owned()),
            "options" => options = value.into_owned(),
            _ => {}
        }
    }
    if ids.is_empty() {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "Choose at least one dead letter to replay.",
        ));
    }
    let changes = option_changes(&options)?;
    for id in &ids {
        let _replayed = tenant_activity::replay(
            State(state.clone()),
            signed.admin(),
            ApiPath((tenant.clone(), id.clone())),
            ApiJsonOrEmpty(ReplayBody {
                options: changes.clone(),
            }),
        )
        .await?;
    }
    let notice = format!("{} dead letter(s) replayed", ids.len());
    Ok(back_to(
        "/console/dead-letters",
        &[("tenant", &tenant), ("notice", &notice)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_corrections_set_and_remove_and_refuse_lines_without_a_name() {
        let changes = option_changes("privacy_level = PUBLIC_TO_EVERYONE\n\nlink=\n").unwrap();
        assert_eq!(
            changes.get("privacy_level"),
            Some(&Some("PUBLIC_TO_EVERYONE".to_string()))
        );
        assert_eq!(changes.get("link"), Some(&None));
        assert!(option_changes("just words").is_err());
    }
}

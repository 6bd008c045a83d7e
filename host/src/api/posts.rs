//! Publishing: posts (idempotent, one job per target, now or scheduled), their deletion
//! (cancel what has not run, delete on the platform what has), analytics, jobs and dead letters.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::connections::context;
use super::metrics::RequestId;
use super::paging;
use super::{ApiError, ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, ApiState, Caller};
use crate::runtime::wit::connector::{AnalyticsRequest, Capabilities, DeleteRequest};
use crate::runtime::{Answer, Invocation};
use crate::store::{
    Accepted, Attempt, Job, JobFilter, JobState, MediaItem, NewPost, PostContent, PostRecord,
    Target,
};

/// `POST /v1/posts` (with an `Idempotency-Key` header).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    /// The text.
    pub text: String,
    /// A link to attach.
    #[serde(default)]
    pub link: Option<String>,
    /// Media, in order.
    #[serde(default)]
    pub media: Vec<MediaItem>,
    /// Platform-specific options.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Where: one job per target.
    pub targets: Vec<Target>,
    /// When (Unix seconds); now when absent.
    #[serde(default)]
    pub scheduled_for: Option<i64>,
}

/// What happened to each job of a deleted post.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Deletion {
    /// Jobs cancelled before they ran.
    pub cancelled: Vec<String>,
    /// Jobs whose platform post was deleted.
    pub deleted: Vec<String>,
    /// Jobs left as they were, with why.
    pub kept: BTreeMap<String, String>,
}

/// `GET /v1/analytics` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// The connection.
    pub connection: String,
    /// The account.
    pub account: String,
    /// One post, or the whole account.
    #[serde(default)]
    pub post: Option<String>,
    /// Start (Unix seconds); default 7 days ago.
    #[serde(default)]
    pub since: Option<i64>,
    /// End (Unix seconds); default now.
    #[serde(default)]
    pub until: Option<i64>,
    /// Metric names, comma-separated; default the connector's own choice. The connector answers
    /// a name it does not know with `422 invalid-input` naming the ones it knows.
    #[serde(default)]
    pub metrics: Option<String>,
}

/// The most metric names one analytics request may ask for.
const MAX_METRICS: usize = 32;

/// `metrics=a,b` as a list: names of lower-case letters, digits, `_`, `.`, `:` and `-`, at
/// most [`MAX_METRICS`] of them and 100 characters each.
fn metric_names(given: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return Ok(vec![]);
    };
    let names: Vec<String> = given.split(',').map(|n| n.trim().to_string()).collect();
    if names.len() > MAX_METRICS {
        return Err(ApiError::bad_request(format!(
            "`metrics` names {} metrics; at most {MAX_METRICS} per request",
            names.len()
        )));
    }
    let valid = |n: &str| {
        !n.is_empty()
            && n.len() <= 100
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b))
    };
    match names.iter().find(|n| !valid(n)) {
        Some(bad) => Err(ApiError::bad_request(format!(
            "`metrics`: `{}` is not a metric name (lower-case letters, digits, `_`, `.`, `:`, `-`; comma-separated)",
            bad.chars().take(100).collect::<String>()
        ))),
        None => Ok(names),
    }
}

/// One figure.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MetricView {
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
    /// End of its period (Unix seconds).
    pub period_end: Option<i64>,
}

/// `GET /v1/jobs` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// Only jobs in this state.
    #[serde(default)]
    pub status: Option<String>,
    /// Only jobs of this plugin.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Only jobs created at or after this (Unix ms).
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// Only jobs created before this (Unix ms).
    #[serde(default)]
    pub until_ms: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next-cursor` header.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `GET /v1/dead-letters` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLettersQuery {
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next-cursor` header.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `POST /v1/posts`
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePost>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("an `Idempotency-Key` header is required"))?;
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "`Idempotency-Key` is 1-255 visible ASCII characters",
        ));
    }
    let post = NewPost {
        idempotency_key: key.to_string(),
        content: PostContent {
            text: body.text,
            link: body.link,
            media: body.media,
            options: body.options,
        },
        targets: body.targets,
        scheduled_for: body.scheduled_for.map(|s| s.saturating_mul(1000)),
    };
    match state.pipeline.accept(&caller.tenant, &post).await? {
        Accepted::Created(record) => Ok((StatusCode::ACCEPTED, Json(record)).into_response()),
        Accepted::Existing(record) => {
            let mut response = (StatusCode::OK, Json(record)).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

/// `GET /v1/posts/{id}`
pub async fn get(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PostRecord>, ApiError> {
    Ok(Json(state.store().tenant(&caller.tenant).post(&id).await?))
}

/// `DELETE /v1/posts/{id}`: cancels jobs not yet run and deletes published posts on platforms
/// that support it.
pub async fn delete(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: Option<Extension<RequestId>>,
) -> Result<Json<Deletion>, ApiError> {
    let call = match request {
        Some(Extension(RequestId(request))) => format!("DELETE /v1/posts/{id} (request {request})"),
        None => format!("DELETE /v1/posts/{id}"),
    };
    let tenant = state.store().tenant(&caller.tenant);
    let post = tenant.post(&id).await?;
    let mut deletion = Deletion::default();
    for job in post.jobs {
        match job.state {
            JobState::Queued | JobState::Paused => {
                if tenant
                    .cancel_job(&job.id, "api", state.pipeline.now())
                    .await?
                {
                    deletion.cancelled.push(job.id);
                } else {
                    deletion
                        .kept
                        .insert(job.id, "started running meanwhile".into());
                }
            }
            JobState::Published => match delete_on_platform(&state, &caller.tenant, &job).await {
                Ok(()) => {
                    tenant
                        .record_post_deleted(&job, "api", &call, state.pipeline.now())
                        .await?;
                    deletion.deleted.push(job.id);
                }
                Err(error) => {
                    deletion.kept.insert(job.id, error.message);
                }
            },
            other => {
                deletion.kept.insert(job.id, format!("job is {other}"));
            }
        }
    }
    Ok(Json(deletion))
}

async fn delete_on_platform(state: &ApiState, tenant: &str, job: &Job) -> Result<(), ApiError> {
    let manifest = state.pipeline.runtime().manifest(&job.plugin);
    if !manifest.is_some_and(|m| m.capabilities.contains(Capabilities::DELETE)) {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not-supported",
            format!("{} cannot delete posts", job.plugin),
        ));
    }
    let result: serde_json::Value =
        serde_json::from_str(job.result.as_deref().unwrap_or("{}")).unwrap_or_default();
    let post_id = result["post_id"].as_str().unwrap_or_default().to_string();
    let request = DeleteRequest {
        account_id: job.account_id.clone(),
        post_id,
    };
    let context = context(state, tenant, &job.plugin)
        .await?
        .with_connection(&job.connection_id);
    let served = state
        .pipeline
        .runtime()
        .invoke(&job.plugin, context, Invocation::DeletePost(request))
        .await?;
    match served.answer {
        Answer::DeletePost(Ok(())) => Ok(()),
        Answer::DeletePost(Err(e)) => Err(e.into()),
        _ => unreachable!("delete-post answers with unit"),
    }
}

/// `GET /v1/analytics`
pub async fn analytics(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> Result<Json<Vec<MetricView>>, ApiError> {
    let connection = state
        .store()
        .tenant(&caller.tenant)
        .connection(&query.connection)
        .await?;
    let now = state.pipeline.now() / 1000;
    let request = AnalyticsRequest {
        account_id: query.account,
        post_id: query.post,
        since: query.since.unwrap_or(now - 7 * 86_400),
        until: query.until.unwrap_or(now),
        metrics: metric_names(query.metrics.as_deref())?,
    };
    if request.since > request.until {
        return Err(ApiError::bad_request("`since` is after `until`"));
    }
    let context = context(&state, &caller.tenant, &connection.plugin)
        .await?
        .with_connection(&connection.id);
    let served = state
        .pipeline
        .runtime()
        .invoke(&connection.plugin, context, Invocation::Analytics(request))
        .await?;
    match served.answer {
        Answer::Analytics(Ok(metrics)) => Ok(Json(
            metrics
                .into_iter()
                .map(|m| MetricView {
                    name: m.name,
                    value: m.value,
                    period_end: m.period_end,
                })
                .collect(),
        )),
        Answer::Analytics(Err(e)) => Err(e.into()),
        _ => unreachable!("analytics answers with metrics"),
    }
}

/// `GET /v1/jobs`
pub async fn jobs(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<JobsQuery>,
) -> Result<paging::Page<Job>, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(word) => Some(JobState::parse(word).ok_or_else(|| {
            ApiError::bad_request(
                "status is one of queued, running, paused, published, dead, cancelled, deleted",
            )
        })?),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let before = paging::cursor(query.cursor.as_deref())?;
    let jobs = state
        .store()
        .tenant(&caller.tenant)
        .jobs_before(
            &JobFilter {
                state: status,
                plugin: query.plugin.filter(|p| !p.is_empty()),
                since: query.since_ms,
                until: query.until_ms,
            },
            limit,
            before,
        )
        .await?;
    Ok(paging::Page::new(jobs, limit, |j| j.id.clone()))
}

/// `GET /v1/jobs/{id}`
pub async fn job(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(state.store().tenant(&caller.tenant).job(&id).await?))
}

/// `GET /v1/jobs/{id}/attempts`: a job's recorded runs, oldest first, each with its trace id
/// when traces were exported.
pub async fn attempts(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<Attempt>>, ApiError> {
    let tenant = state.store().tenant(&caller.tenant);
    tenant.job(&id).await?;
    Ok(Json(tenant.attempts(&id).await?))
}

/// `GET /v1/dead-letters`
pub async fn dead_letters(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DeadLettersQuery>,
) -> Result<paging::Page<crate::store::DeadLetter>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let before = paging::cursor(query.cursor.as_deref())?;
    let letters = state
        .store()
        .tenant(&caller.tenant)
        .dead_letters_before(limit, before)
        .await?;
    Ok(paging::Page::new(letters, limit, |d| d.id.clone()))
}

/// `POST /v1/dead-letters/{id}/replay` body (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Options to change before the job runs again: a value sets it, `null` removes it.
    #[serde(default)]
    pub options: BTreeMap<String, Option<String>>,
}

/// `POST /v1/dead-letters/{id}/replay`: the same job (and idempotency key) runs again, with
/// its options corrected when the body says so (audited).
pub async fn replay(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<ReplayBody>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    replay_as(&state, &caller.tenant, &id, "api", body).await
}

/// Replays `tenant`'s dead letter `id` with `body`'s option changes, audited as `actor`'s.
pub(super) async fn replay_as(
    state: &ApiState,
    tenant: &str,
    id: &str,
    actor: &str,
    body: ReplayBody,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    check_option_changes(&body.options)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            state
                .pipeline
                .replay(tenant, id, actor, &body.options)
                .await?,
        ),
    ))
}

/// Option names of letters, digits, `-`, `_` and `.` (at most 64), values of at most 4,096
/// characters, at most 32 changes.
fn check_option_changes(changes: &BTreeMap<String, Option<String>>) -> Result<(), ApiError> {
    if changes.len() > 32 {
        return Err(ApiError::bad_request(
            "at most 32 option changes per replay",
        ));
    }
    for (name, value) in changes {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid {
            return Err(ApiError::bad_request(format!(
                "option name `{}` is not letters, digits, `-`, `_` or `.` (at most 64)",
                name.chars().take(64).collect::<String>()
            )));
        }
        if value.as_ref().is_some_and(|v| v.chars().count() > 4096) {
            return Err(ApiError::bad_request(format!(
                "option `{name}` is longer than 4096 characters"
            )));
        }
    }
    Ok(())
}

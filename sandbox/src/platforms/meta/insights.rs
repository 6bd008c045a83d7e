//! Page, post and Instagram media insights with deterministic made-up values.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::Caller;
use super::errors::GraphError;
use super::params::Params;
use super::{fake_count, graph_time, instagram};
use crate::http;
use crate::request_log::lock;
use crate::state::SandboxState;

const PAGE_METRICS_PREFIX: &str = "page_";

pub(super) fn insights(
    state: &SandboxState,
    params: &Params,
    caller: &Caller,
    id: &str,
) -> Result<Response, GraphError> {
    let metrics: Vec<String> = params
        .list("metric")?
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if metrics.is_empty()
        || metrics.iter().any(|m| {
            m.is_empty()
                || !m
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c == b'_' || c.is_ascii_digit())
        })
    {
        return Err(GraphError::param(
            "The value must be a valid insights metric",
        ));
    }
    let (is_page, is_media) = {
        let meta = lock(&state.meta);
        (meta.page(id).is_some(), meta.media.contains_key(id))
    };
    let is_post = lock(&state.meta).posts.get(id).is_some_and(|p| !p.deleted);
    if is_media {
        if !caller.has_scope("instagram_manage_insights") {
            return Err(GraphError::new(
                10,
                "(#10) Application does not have permission for this action",
            ));
        }
        return instagram::media_insights(id, &metrics);
    }
    if !(is_page || is_post) {
        return Err(GraphError::no_object(id, "get"));
    }
    if !caller.has_scope("read_insights") {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        ));
    }
    if is_page && metrics.iter().any(|m| !m.starts_with(PAGE_METRICS_PREFIX)) {
        return Err(GraphError::param(
            "The value must be a valid insights metric",
        ));
    }
    let period = params.str("period").unwrap_or_else(|| {
        if is_page {
            "day".into()
        } else {
            "lifetime".into()
        }
    });
    if ![
        "day",
        "week",
        "days_28",
        "month",
        "lifetime",
        "total_over_range",
    ]
    .contains(&period.as_str())
    {
        return Err(GraphError::param(format_args!("Invalid period: {period}")));
    }
    let now = state.clock.now_unix();
    let until = params.i64("until")?.unwrap_or(now);
    let since = params
        .i64("since")?
        .unwrap_or(until.saturating_sub(2 * 86_400));
    if since > until {
        return Err(GraphError::param("since must be before until"));
    }
    if until.saturating_sub(since) > 93 * 86_400 {
        return Err(GraphError::param(
            "There cannot be more than 93 days (8035200 s) between since and until",
        ));
    }
    let data: Vec<Value> = metrics
        .iter()
        .map(|m| {
            let values: Vec<Value> = if period == "lifetime" {
                vec![json!({"value": fake_count(id, m, 0)})]
            } else {
                let first_day = since.div_euclid(86_400) + 1;
                let last_day = until.div_euclid(86_400);
                (first_day..=last_day.max(first_day))
                    .map(|d| json!({"value": fake_count(id, m, d), "end_time": graph_time(d * 86_400 + 7 * 3600)}))
                    .collect()
            };
            json!({"name": m, "period": period, "values": values, "title": m, "description": format!("Sandbox values for {m}"), "id": format!("{id}/insights/{m}/{period}")})
        })
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"data": data, "paging": {}}),
    ))
}

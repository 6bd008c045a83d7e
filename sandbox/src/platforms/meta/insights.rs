//! Page, post, Instagram media and Instagram account insights with deterministic made-up values.
//!
//! Page and post metrics are those Meta still serves: the ones it retired for every version in
//! 2025 (Pages API changelog, 15 November 2025, "Deprecated Page Insights Metrics":
//! `page_impressions`, `page_fan_adds`, `post_impressions`, `post_impressions_unique`, ...) and
//! any other unknown name answer (#100) "The value must be a valid insights metric" with HTTP 400.

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

/// Page metrics served (Page Insights reference; their 2025 replacements included).
const PAGE_METRICS: &[&str] = &[
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_follows",
    "page_daily_follows",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_total_actions",
    "page_views_total",
    "page_actions_post_reactions_total",
    "page_video_views",
    "page_video_views_unique",
    "page_video_view_time",
    "page_fans_online_per_day",
];

/// Page post metrics served.
const POST_METRICS: &[&str] = &[
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_clicks_by_type",
    "post_reactions_by_type_total",
    "post_reactions_like_total",
    "post_reactions_love_total",
    "post_reactions_wow_total",
    "post_reactions_haha_total",
    "post_reactions_sorry_total",
    "post_reactions_anger_total",
    "post_video_views",
    "post_video_views_unique",
    "post_video_avg_time_watched",
    "post_video_view_time",
];

fn invalid_metric() -> GraphError {
    GraphError::param("The value must be a valid insights metric")
}

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
        return Err(invalid_metric());
    }
    let (is_page, is_media, is_ig_user) = {
        let meta = lock(&state.meta);
        (
            meta.page(id).is_some(),
            meta.media.contains_key(id),
            meta.page_of_ig(id).is_some(),
        )
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
    if is_ig_user {
        if !caller.has_scope("instagram_manage_insights") {
            return Err(GraphError::new(
                10,
                "(#10) Application does not have permission for this action",
            ));
        }
        let (since, until) = range(state, params)?;
        return account_insights(id, &metrics, params, since, until);
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
    let known = if is_page { PAGE_METRICS } else { POST_METRICS };
    if metrics.iter().any(|m| !known.contains(&m.as_str())) {
        return Err(invalid_metric());
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
    let (since, until) = range(state, params)?;
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

/// `since` and `until` (default: the two days before now), at most 93 days apart.
fn range(state: &SandboxState, params: &Params) -> Result<(i64, i64), GraphError> {
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
    Ok((since, until))
}

/// Instagram account metrics Meta answers as a daily series (`period=day`); the others in
/// [`ACCOUNT_METRICS`] only as a total over the range (`metric_type=total_value`).
const ACCOUNT_SERIES: &[&str] = &["reach", "follower_count"];

/// Instagram account metrics served (Instagram Account Insights reference; `impressions` was
/// retired for every version on 21 April 2025).
const ACCOUNT_METRICS: &[&str] = &[
    "reach",
    "follower_count",
    "online_followers",
    "views",
    "accounts_engaged",
    "total_interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "profile_links_taps",
    "follows_and_unfollows",
];

/// `GET /{ig-user-id}/insights?metric=...&period=day&since&until[&metric_type=total_value]`.
fn account_insights(
    id: &str,
    metrics: &[String],
    params: &Params,
    since: i64,
    until: i64,
) -> Result<Response, GraphError> {
    if let Some((i, _)) = metrics
        .iter()
        .enumerate()
        .find(|(_, m)| !ACCOUNT_METRICS.contains(&m.as_str()))
    {
        return Err(GraphError::param(format_args!(
            "metric[{i}] must be one of the following values: {}",
            ACCOUNT_METRICS.join(", ")
        )));
    }
    if params.str("period").as_deref() != Some("day") {
        return Err(GraphError::param("period must be day for these metrics"));
    }
    let totals = params.str("metric_type").as_deref() == Some("total_value");
    if !totals
        && let Some(m) = metrics
            .iter()
            .find(|m| !ACCOUNT_SERIES.contains(&m.as_str()))
    {
        return Err(GraphError::param(format_args!(
            "The following metrics ({m}) should be specified with parameter metric_type=total_value"
        )));
    }
    let first_day = since.div_euclid(86_400) + 1;
    let last_day = until.div_euclid(86_400).max(first_day);
    let data: Vec<Value> = metrics
        .iter()
        .map(|m| {
            let mut v = json!({"name": m, "period": "day", "title": m, "description": format!("Sandbox values for {m}"), "id": format!("{id}/insights/{m}/day")});
            if totals {
                let total: u64 = (first_day..=last_day).map(|d| fake_count(id, m, d)).sum();
                v["total_value"] = json!({"value": total});
            } else {
                v["values"] = (first_day..=last_day)
                    .map(|d| json!({"value": fake_count(id, m, d), "end_time": graph_time(d * 86_400 + 7 * 3600)}))
                    .collect();
            }
            v
        })
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"data": data, "paging": {}}),
    ))
}

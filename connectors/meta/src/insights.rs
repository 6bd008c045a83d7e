//! Insights: a Page's (per day, over the requested range), a Page post's, an Instagram media's.
//!
//! Default metrics: Pages `page_impressions`, `page_post_engagements`, `page_fan_adds`; posts
//! `post_impressions`, `post_impressions_unique`, `post_clicks`; Instagram media `views`,
//! `reach`, `saved`, `likes`, `comments`, `shares`. Any other Graph metric name may be asked
//! for. A value that is an object (reactions by type) is reported as the sum of its numbers.
//! Account-level Instagram insights are not supported.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::{self, Kind};
use crate::graph;
use crate::time::parse_graph_time;

const PAGE_DEFAULTS: &[&str] = &["page_impressions", "page_post_engagements", "page_fan_adds"];
const POST_DEFAULTS: &[&str] = &["post_impressions", "post_impressions_unique", "post_clicks"];
const MEDIA_DEFAULTS: &[&str] = &["views", "reach", "saved", "likes", "comments", "shares"];

#[derive(Deserialize)]
struct Insights {
    #[serde(default)]
    data: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    name: String,
    #[serde(default)]
    values: Vec<Point>,
}

#[derive(Deserialize)]
struct Point {
    #[serde(default)]
    value: Value,
    #[serde(default)]
    end_time: Option<String>,
}

/// Reads the figures `request` asks for.
pub fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
    let kind = accounts::kind_of(&request.account_id)?;
    let (page, defaults, node) = match (&kind, &request.post_id) {
        (Kind::Page, None) => (
            request.account_id.clone(),
            PAGE_DEFAULTS,
            request.account_id.clone(),
        ),
        (Kind::Page, Some(post)) => (request.account_id.clone(), POST_DEFAULTS, post.clone()),
        (Kind::Instagram { page }, Some(media)) => (page.clone(), MEDIA_DEFAULTS, media.clone()),
        (Kind::Instagram { .. }, None) => {
            return Err(Error::not_supported(
                "account-level Instagram insights; ask for one media's insights",
            ));
        }
    };
    let metrics = if request.metrics.is_empty() {
        defaults.join(",")
    } else {
        request.metrics.join(",")
    };
    let token = graph::page_token(&page)?;
    let mut call = http::Request::get(graph::url(&[&node, "insights"])).query("metric", &metrics);
    if request.post_id.is_none() {
        call = call
            .query("period", "day")
            .query("since", &request.since.to_string())
            .query("until", &request.until.to_string());
    }
    let insights: Insights = graph::send_json(call, &token)?;
    Ok(insights
        .data
        .into_iter()
        .flat_map(|series| {
            let name = series.name;
            series.values.into_iter().filter_map(move |point| {
                Some(Metric {
                    name: name.clone(),
                    value: number(&point.value)?,
                    period_end: point.end_time.as_deref().and_then(parse_graph_time),
                })
            })
        })
        .collect())
}

/// A number, or the sum of an object's numbers.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Object(map) => Some(map.values().filter_map(Value::as_f64).sum()),
        _ => None,
    }
}

//! Insights of a Page (per day, over the requested range), a Page post, an Instagram media and
//! an Instagram account, limited to the metrics Meta still serves.
//!
//! Meta retired many Page and post metrics for every API version in 2025 (the Pages API
//! changelog, <https://developers.facebook.com/documentation/pages-api/changelog/>, 15 November
//! 2025, and "Deprecated Facebook Page Insights Metrics",
//! <https://developers.facebook.com/documentation/pages-api/platforminsights/page/deprecated-metrics>):
//! `page_impressions`, `page_fan_adds`, `post_impressions`, `post_impressions_unique` and others
//! now answer (#100) "The value must be a valid insights metric". The lists here hold the
//! metrics of the current references (Page and post insights:
//! <https://developers.facebook.com/docs/graph-api/reference/insights>; Instagram media and
//! accounts: <https://developers.facebook.com/docs/instagram-platform/insights>). A caller's
//! metric outside its list is refused as invalid input naming the list (and the replacement,
//! for a retired one) before Meta is called.
//!
//! A value that is an object (reactions by type) is reported as the sum of its numbers.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::{self, Kind};
use crate::graph;
use crate::time::parse_graph_time;

/// What an analytics request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsightsTarget {
    /// A Facebook Page (`/{page}/insights`, per day).
    Page,
    /// A post on a Page (`/{post}/insights`, lifetime).
    PagePost,
    /// One Instagram media (`/{media}/insights`, lifetime).
    InstagramMedia,
    /// An Instagram professional account (`/{ig-user}/insights`).
    InstagramAccount,
}

impl InsightsTarget {
    fn noun(self) -> &'static str {
        match self {
            InsightsTarget::Page => "Page",
            InsightsTarget::PagePost => "Page post",
            InsightsTarget::InstagramMedia => "Instagram media",
            InsightsTarget::InstagramAccount => "Instagram account",
        }
    }
}

/// Page metrics the connector asks Meta for (`period=day`).
pub const PAGE_METRICS: &[&str] = &[
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
];

/// Page post metrics.
pub const POST_METRICS: &[&str] = &[
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

/// Instagram media metrics (`impressions` and `plays` were retired in 2025 for `views`).
pub const INSTAGRAM_MEDIA_METRICS: &[&str] = &[
    "views",
    "reach",
    "saved",
    "likes",
    "comments",
    "shares",
    "total_interactions",
    "profile_visits",
    "profile_activity",
    "follows",
    "replies",
    "navigation",
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
];

/// Instagram account metrics read as a daily series (`period=day`).
const INSTAGRAM_ACCOUNT_SERIES: &[&str] = &["reach", "follower_count"];

/// Instagram account metrics: the daily series `reach` and `follower_count`, then the ones Meta
/// only totals over the range (`metric_type=total_value`), reported once with the range's end.
pub const INSTAGRAM_ACCOUNT_METRICS: &[&str] = &[
    "reach",
    "follower_count",
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

/// Retired metrics callers may still ask for, with what replaced them.
const RETIRED: &[(&str, &str)] = &[
    ("page_impressions", "page_media_view"),
    ("page_impressions_unique", "page_total_media_view_unique"),
    ("page_fans", "page_follows"),
    ("page_fan_adds", "page_daily_follows"),
    ("page_fan_adds_unique", "page_daily_follows_unique"),
    ("page_fan_removes_unique", "page_daily_unfollows_unique"),
    ("post_impressions", "post_media_view"),
    ("post_impressions_unique", "post_total_media_view_unique"),
    ("impressions", "views"),
    ("plays", "views"),
];

/// Every metric the connector supports for `target`; a request for any other is refused as
/// invalid input.
pub fn supported_metrics(target: InsightsTarget) -> &'static [&'static str] {
    match target {
        InsightsTarget::Page => PAGE_METRICS,
        InsightsTarget::PagePost => POST_METRICS,
        InsightsTarget::InstagramMedia => INSTAGRAM_MEDIA_METRICS,
        InsightsTarget::InstagramAccount => INSTAGRAM_ACCOUNT_METRICS,
    }
}

/// The metrics read when a request names none.
pub fn default_metrics(target: InsightsTarget) -> &'static [&'static str] {
    match target {
        InsightsTarget::Page => &["page_media_view", "page_post_engagements", "page_follows"],
        InsightsTarget::PagePost => &[
            "post_media_view",
            "post_total_media_view_unique",
            "post_clicks",
        ],
        InsightsTarget::InstagramMedia => {
            &["views", "reach", "saved", "likes", "comments", "shares"]
        }
        InsightsTarget::InstagramAccount => &[
            "reach",
            "follower_count",
            "views",
            "accounts_engaged",
            "total_interactions",
        ],
    }
}

/// The metrics to ask for: the defaults when `asked` is empty, else `asked` (trimmed, without
/// repeats) when every one is supported for `target`.
pub fn choose(target: InsightsTarget, asked: &[String]) -> Result<Vec<String>> {
    if asked.iter().all(|m| m.trim().is_empty()) {
        return Ok(default_metrics(target)
            .iter()
            .map(|m| m.to_string())
            .collect());
    }
    let known = supported_metrics(target);
    let mut chosen: Vec<String> = Vec::new();
    for metric in asked.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
        if !known.contains(&metric) {
            let replaced = RETIRED
                .iter()
                .find(|(old, new)| *old == metric && known.contains(new))
                .map(|(_, new)| format!(" (Meta retired it; use `{new}`)"))
                .unwrap_or_default();
            return Err(Error::invalid_input(format!(
                "unknown {} metric `{metric}`{replaced}; known: {}",
                target.noun(),
                known.join(", ")
            )));
        }
        if !chosen.iter().any(|c| c == metric) {
            chosen.push(metric.to_string());
        }
    }
    Ok(chosen)
}

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
    #[serde(default)]
    total_value: Option<Total>,
}

#[derive(Deserialize)]
struct Point {
    #[serde(default)]
    value: Value,
    #[serde(default)]
    end_time: Option<String>,
}

#[derive(Deserialize)]
struct Total {
    #[serde(default)]
    value: Value,
}

/// Reads the figures `request` asks for.
pub fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
    let kind = accounts::kind_of(&request.account_id)?;
    let (target, page, node) = match (&kind, &request.post_id) {
        (Kind::Page, None) => (
            InsightsTarget::Page,
            &request.account_id,
            &request.account_id,
        ),
        (Kind::Page, Some(post)) => (InsightsTarget::PagePost, &request.account_id, post),
        (Kind::Instagram { page }, Some(media)) => (InsightsTarget::InstagramMedia, page, media),
        (Kind::Instagram { page }, None) => {
            (InsightsTarget::InstagramAccount, page, &request.account_id)
        }
    };
    let metrics = choose(target, &request.metrics)?;
    let token = graph::page_token(page)?;
    let call = |names: &[&String]| {
        let joined = names
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",");
        http::Request::get(graph::url(&[node, "insights"])).query("metric", &joined)
    };
    let ranged = |call: http::Request| {
        call.query("period", "day")
            .query("since", &request.since.to_string())
            .query("until", &request.until.to_string())
    };
    let mut out = Vec::new();
    match target {
        InsightsTarget::Page => {
            let all: Vec<&String> = metrics.iter().collect();
            out.extend(read(ranged(call(&all)), &token, request.until)?);
        }
        InsightsTarget::PagePost | InsightsTarget::InstagramMedia => {
            let all: Vec<&String> = metrics.iter().collect();
            out.extend(read(call(&all), &token, request.until)?);
        }
        InsightsTarget::InstagramAccount => {
            let (series, totals): (Vec<&String>, Vec<&String>) = metrics
                .iter()
                .partition(|m| INSTAGRAM_ACCOUNT_SERIES.contains(&m.as_str()));
            if !series.is_empty() {
                out.extend(read(ranged(call(&series)), &token, request.until)?);
            }
            if !totals.is_empty() {
                let totalled = ranged(call(&totals)).query("metric_type", "total_value");
                out.extend(read(totalled, &token, request.until)?);
            }
        }
    }
    Ok(out)
}

/// One insights call: each point of each series, or a series' total with the range's end.
fn read(call: http::Request, token: &str, until: i64) -> Result<Vec<Metric>> {
    let insights: Insights = graph::send_json(call, token)?;
    let mut out = Vec::new();
    for series in insights.data {
        if let Some(total) = &series.total_value
            && let Some(value) = number(&total.value)
        {
            out.push(Metric {
                name: series.name.clone(),
                value,
                period_end: Some(until),
            });
        }
        for point in &series.values {
            if let Some(value) = number(&point.value) {
                out.push(Metric {
                    name: series.name.clone(),
                    value,
                    period_end: point.end_time.as_deref().and_then(parse_graph_time),
                });
            }
        }
    }
    Ok(out)
}

/// A number, or the sum of an object's numbers.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Object(map) => Some(map.values().filter_map(Value::as_f64).sum()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETS: [InsightsTarget; 4] = [
        InsightsTarget::Page,
        InsightsTarget::PagePost,
        InsightsTarget::InstagramMedia,
        InsightsTarget::InstagramAccount,
    ];

    #[test]
    fn defaults_are_supported_and_no_retired_metric_is() {
        for target in TARGETS {
            for metric in default_metrics(target) {
                assert!(supported_metrics(target).contains(metric), "{metric}");
            }
            for (old, _) in RETIRED {
                assert!(!supported_metrics(target).contains(old), "{old}");
            }
        }
        assert_eq!(
            choose(InsightsTarget::Page, &[]).unwrap(),
            ["page_media_view", "page_post_engagements", "page_follows"]
        );
    }

    #[test]
    fn unknown_metrics_are_invalid_input_naming_the_known_ones() {
        let asked = vec!["post_clicks".to_string(), "post_impressions".to_string()];
        match choose(InsightsTarget::PagePost, &asked) {
            Err(Error::InvalidInput(why)) => {
                assert!(why.contains("`post_impressions`"), "{why}");
                assert!(why.contains("use `post_media_view`"), "{why}");
                assert!(why.contains(&POST_METRICS.join(", ")), "{why}");
            }
            other => panic!("{other:?}"),
        }
        match choose(InsightsTarget::Page, &["bogus".to_string()]) {
            Err(Error::InvalidInput(why)) => {
                assert!(why.contains("unknown Page metric `bogus`; known: page_media_view"))
            }
            other => panic!("{other:?}"),
        }
        let asked = vec![
            " views ".to_string(),
            "views".to_string(),
            "reach".to_string(),
        ];
        assert_eq!(
            choose(InsightsTarget::InstagramMedia, &asked).unwrap(),
            ["views", "reach"]
        );
    }
}

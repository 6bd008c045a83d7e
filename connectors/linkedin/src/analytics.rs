//! Organization share statistics as analytics. LinkedIn offers no engagement figures for
//! members' own posts through this API, so member accounts answer `not-supported`.
//!
//! Figures are lifetime totals (`totalShareStatistics`): impressions, unique_impressions,
//! clicks, likes, comments, shares, engagement. The request's period is not applied.
//!
//! `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=<urn>`
//! with `shares=List(<urn>)` (or `ugcPosts=List(<urn>)`) for one post (Organization Share
//! Statistics,
//! <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics>).
//! The list is a Rest.li 2.0 value: its `List(`, `,` and `)` travel unencoded and the URNs inside
//! are encoded (LinkedIn's "Protocol Versions" guide,
//! <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version>), so it
//! goes through [`http::Restli`]; an encoded `%28` would be read as a literal.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::{self, Author};
use crate::api;

/// LinkedIn's field for each metric name of ours, in the order they are reported.
const METRICS: &[(&str, &str)] = &[
    ("impressions", "impressionCount"),
    ("unique_impressions", "uniqueImpressionsCount"),
    ("clicks", "clickCount"),
    ("likes", "likeCount"),
    ("comments", "commentCount"),
    ("shares", "shareCount"),
    ("engagement", "engagement"),
];

#[derive(Deserialize)]
struct Statistics {
    #[serde(default)]
    elements: Vec<Element>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Element {
    #[serde(default)]
    total_share_statistics: Value,
}

/// Reads an organization's (or one of its posts') share statistics.
pub fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
    let org = match accounts::author(&request.account_id)? {
        Author::Organization(_) => accounts::author(&request.account_id)?.urn(),
        Author::Member(_) => {
            return Err(Error::not_supported(
                "LinkedIn has no analytics for a member's posts through its API; only organizations have share statistics",
            ));
        }
    };
    for name in &request.metrics {
        if !METRICS.iter().any(|(ours, _)| ours == name) {
            return Err(Error::invalid_input(format!(
                "unknown LinkedIn metric `{name}`; known: {}",
                METRICS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let mut call = http::Request::get(api::url("rest/organizationalEntityShareStatistics"))
        .query("q", "organizationalEntity")
        .query("organizationalEntity", &org);
    if let Some(post) = &request.post_id {
        let list = if post.starts_with("urn:li:ugcPost:") {
            "ugcPosts"
        } else {
            "shares"
        };
        call = call.query_restli(list, &http::Restli::list([post.as_str()]));
    }
    let statistics: Statistics = api::send_json(call, &oauth::tokens::access_token()?)?;
    let totals = statistics
        .elements
        .into_iter()
        .next()
        .map(|e| e.total_share_statistics)
        .unwrap_or(Value::Null);
    Ok(METRICS
        .iter()
        .filter(|(ours, _)| request.metrics.is_empty() || request.metrics.iter().any(|m| m == ours))
        .filter_map(|(ours, theirs)| {
            Some(Metric {
                name: ours.to_string(),
                value: totals.get(theirs)?.as_f64()?,
                period_end: None,
            })
        })
        .collect())
}

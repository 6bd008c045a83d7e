//! Analytics: the creator's counts from `/v2/user/info/`, a video's from `/v2/video/query/`.
//! TikTok reports totals as of now, not per period: `since` and `until` are not used, and every
//! figure's `period-end` is the time of the read.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::api::{self, scopes};

/// Account figures, by TikTok field.
const ACCOUNT: &[(&str, &str)] = &[
    ("followers", "follower_count"),
    ("following", "following_count"),
    ("likes", "likes_count"),
    ("videos", "video_count"),
];

/// Video figures, by TikTok field.
const VIDEO: &[(&str, &str)] = &[
    ("views", "view_count"),
    ("likes", "like_count"),
    ("comments", "comment_count"),
    ("shares", "share_count"),
];

fn wanted<'a>(
    table: &'a [(&'a str, &'a str)],
    asked: &[String],
) -> Result<Vec<(&'a str, &'a str)>> {
    if asked.is_empty() {
        return Ok(table.to_vec());
    }
    asked
        .iter()
        .map(|name| {
            table
                .iter()
                .find(|(n, _)| n == name)
                .copied()
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "unknown TikTok metric `{name}` (known: {})",
                        table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ))
                })
        })
        .collect()
}

/// Figures for the creator or one of their videos.
pub fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
    let token = oauth::tokens::access_token()?;
    let now = http::now_unix();
    match &request.post_id {
        None => {
            let metrics = wanted(ACCOUNT, &request.metrics)?;
            let fields: Vec<&str> = metrics.iter().map(|(_, f)| *f).collect();
            let request =
                http::Request::get(api::url("v2/user/info/")).query("fields", &fields.join(","));
            let data = api::call(request, &token, scopes::USER_STATS)?;
            Ok(metrics
                .iter()
                .filter_map(|(name, field)| {
                    Some(Metric {
                        name: name.to_string(),
                        value: data["user"][field].as_f64()?,
                        period_end: Some(now),
                    })
                })
                .collect())
        }
        Some(video) => {
            let metrics = wanted(VIDEO, &request.metrics)?;
            let mut fields = vec!["id"];
            fields.extend(metrics.iter().map(|(_, f)| *f));
            #[derive(Deserialize)]
            struct Videos {
                #[serde(default)]
                videos: Vec<serde_json::Value>,
            }
            let query = http::Request::post(api::url("v2/video/query/"))
                .query("fields", &fields.join(","))
                .json(&json!({"filters": {"video_ids": [video]}}))?;
            let found: Videos = api::call_as(query, &token, scopes::LIST)?;
            let video_data = found
                .videos
                .into_iter()
                .find(|v| v["id"].as_str() == Some(video.as_str()))
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "TikTok has no public video `{video}` for this creator (a post is queryable once moderation made it public)"
                    ))
                })?;
            Ok(metrics
                .iter()
                .filter_map(|(name, field)| {
                    Some(Metric {
                        name: name.to_string(),
                        value: video_data[field].as_f64()?,
                        period_end: Some(now),
                    })
                })
                .collect())
        }
    }
}

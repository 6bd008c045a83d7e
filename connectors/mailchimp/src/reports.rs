//! Analytics: a campaign's report (`GET /reports/{id}`), or an audience's stats (`GET /lists/{id}`).
//!
//! Campaign metrics: `emails_sent`, `opens`, `unique_opens`, `open_rate`, `clicks`,
//! `unique_clicks`, `click_rate`, `hard_bounces`, `soft_bounces`, `unsubscribed`,
//! `abuse_reports`, `forwards`. Audience metrics: `member_count`, `unsubscribe_count`,
//! `cleaned_count`, `campaign_count`, `open_rate`, `click_rate`. Fields a report lacks are
//! left out rather than reported as zero (Mailchimp's exact report fields are unconfirmed).

use postd_sdk::prelude::*;
use serde_json::Value;

use crate::client::{self, Credential};

/// (metric name, JSON pointer into the report).
const CAMPAIGN_METRICS: &[(&str, &str)] = &[
    ("emails_sent", "/emails_sent"),
    ("opens", "/opens/opens_total"),
    ("unique_opens", "/opens/unique_opens"),
    ("open_rate", "/opens/open_rate"),
    ("clicks", "/clicks/clicks_total"),
    ("unique_clicks", "/clicks/unique_clicks"),
    ("click_rate", "/clicks/click_rate"),
    ("hard_bounces", "/bounces/hard_bounces"),
    ("soft_bounces", "/bounces/soft_bounces"),
    ("unsubscribed", "/unsubscribed"),
    ("abuse_reports", "/abuse_reports"),
    ("forwards", "/forwards/forwards_count"),
];

/// (metric name, JSON pointer into the audience).
const AUDIENCE_METRICS: &[(&str, &str)] = &[
    ("member_count", "/stats/member_count"),
    ("unsubscribe_count", "/stats/unsubscribe_count"),
    ("cleaned_count", "/stats/cleaned_count"),
    ("campaign_count", "/stats/campaign_count"),
    ("open_rate", "/stats/open_rate"),
    ("click_rate", "/stats/click_rate"),
];

/// Reads a campaign report or an audience's stats.
pub fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
    let credential = Credential::load()?;
    let (document, table): (Value, _) = match &request.post_id {
        Some(campaign) => {
            let path = format!("/reports/{}", http::encode(campaign));
            (client::send_json(credential.get(&path))?, CAMPAIGN_METRICS)
        }
        None => {
            let path = format!("/lists/{}", http::encode(&request.account_id));
            (client::send_json(credential.get(&path))?, AUDIENCE_METRICS)
        }
    };
    for wanted in &request.metrics {
        if !table.iter().any(|(name, _)| name == wanted) {
            return Err(Error::invalid_input(format!(
                "unknown metric `{wanted}`; known: {}",
                table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(table
        .iter()
        .filter(|(name, _)| request.metrics.is_empty() || request.metrics.iter().any(|m| m == name))
        .filter_map(|(name, pointer)| {
            document
                .pointer(pointer)
                .and_then(Value::as_f64)
                .map(|value| Metric {
                    name: (*name).to_string(),
                    value,
                    period_end: None,
                })
        })
        .collect())
}

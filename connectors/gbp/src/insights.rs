//! Performance metrics of a location, per day, over the requested period
//! (`fetchMultiDailyMetricsTimeSeries`; the older v4 `reportInsights` is deprecated). Google's
//! figures lag 24 to 48 hours: days without a value yet are left out. Local posts have no
//! metrics of their own through this API (`not-supported`).
//!
//! Default metrics: `WEBSITE_CLICKS`, `CALL_CLICKS`, `BUSINESS_DIRECTION_REQUESTS` and the four
//! `BUSINESS_IMPRESSIONS_*`; any other daily metric name may be asked for.

use postd_sdk::prelude::*;
use serde::Deserialize;

use crate::api::{self, defaults};
use crate::locations;
use postd_sdk::time::{civil_from_days, days_from_civil};

const DEFAULTS: &[&str] = &[
    "WEBSITE_CLICKS",
    "CALL_CLICKS",
    "BUSINESS_DIRECTION_REQUESTS",
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    multi_daily_metric_time_series: Vec<Multi>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Multi {
    #[serde(default)]
    daily_metric_time_series: Vec<Series>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Series {
    daily_metric: String,
    #[serde(default)]
    time_series: TimeSeries,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeSeries {
    #[serde(default)]
    dated_values: Vec<Dated>,
}

#[derive(Deserialize)]
struct Dated {
    date: Date,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct Date {
    year: i64,
    month: i64,
    day: i64,
}

/// (year, month, day) of a Unix time.
fn civil(unix: i64) -> (i64, i64, i64) {
    civil_from_days(unix.div_euclid(86_400))
}

/// Daily figures of a location over `since..=until`.
pub fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
    let (_, location) = locations::parse(&request.account_id)?;
    if request.post_id.is_some() {
        return Err(Error::not_supported(
            "Google Business Profile has no metrics for a single local post; ask for the location's",
        ));
    }
    if request.until < request.since {
        return Err(Error::invalid_input("the period ends before it starts"));
    }
    let metrics: Vec<String> = if request.metrics.is_empty() {
        DEFAULTS.iter().map(|m| m.to_string()).collect()
    } else {
        request.metrics.clone()
    };
    let mut call = http::Request::get(format!(
        "{}/v1/locations/{location}:fetchMultiDailyMetricsTimeSeries",
        vault::app_base_url("performance-base-url", defaults::PERFORMANCE_BASE)
    ));
    for metric in &metrics {
        call = call.query("dailyMetrics", metric);
    }
    for (prefix, at) in [("startDate", request.since), ("endDate", request.until)] {
        let (y, m, d) = civil(at);
        call = call
            .query(&format!("dailyRange.{prefix}.year"), &y.to_string())
            .query(&format!("dailyRange.{prefix}.month"), &m.to_string())
            .query(&format!("dailyRange.{prefix}.day"), &d.to_string());
    }
    let answer: Answer = api::send_json(call, &oauth::tokens::access_token()?)?;
    Ok(answer
        .multi_daily_metric_time_series
        .into_iter()
        .flat_map(|m| m.daily_metric_time_series)
        .flat_map(|series| {
            let name = series.daily_metric;
            series
                .time_series
                .dated_values
                .into_iter()
                .filter_map(move |d| {
                    Some(Metric {
                        name: name.clone(),
                        value: d.value?.parse().ok()?,
                        period_end: Some(
                            (days_from_civil(d.date.year, d.date.month, d.date.day) + 1) * 86_400,
                        ),
                    })
                })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(951_782_400), (2000, 2, 29));
        assert_eq!(days_from_civil(2000, 2, 29) * 86_400, 951_782_400);
    }
}

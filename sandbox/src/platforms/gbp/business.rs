//! Accounts and locations (paged), notification settings, and daily performance metrics.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::GError;
use super::{GbpState, page_size, page_token, parse_page_token};
use crate::clock;
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

const READ_MASK_FIELDS: &[&str] = &[
    "name",
    "title",
    "storefrontAddress",
    "metadata",
    "phoneNumbers",
    "websiteUri",
    "categories",
    "languageCode",
    "storeCode",
];

const DAILY_METRICS: &[&str] = &[
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_DIRECTION_REQUESTS",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
];

/// Days of lag before performance data appears.
const DATA_LAG_DAYS: i64 = 2;

fn account_json(a: &super::GAccount) -> Value {
    json!({"name": format!("accounts/{}", a.id), "accountName": a.name, "type": a.kind, "role": "PRIMARY_OWNER", "verificationState": "VERIFIED", "vettedState": "NOT_VETTED"})
}

pub(super) fn accounts(state: &SandboxState, req: &Req) -> Result<Response, GError> {
    let size = page_size(req, 20, 20)?;
    let start = parse_page_token(req.q("pageToken"))?;
    let gbp = lock(&state.gbp);
    let page: Vec<Value> = gbp
        .accounts
        .iter()
        .skip(start)
        .take(size)
        .map(account_json)
        .collect();
    let mut body = json!({ "accounts": page });
    if start.saturating_add(size) < gbp.accounts.len() {
        body["nextPageToken"] = json!(page_token(start.saturating_add(size)));
    }
    Ok(http::json(StatusCode::OK, &body))
}

pub(super) fn account(state: &SandboxState, id: &str) -> Result<Response, GError> {
    let gbp = lock(&state.gbp);
    let a = gbp
        .accounts
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(GError::not_found)?;
    Ok(http::json(StatusCode::OK, &account_json(a)))
}

fn location_json(l: &super::GLocation, mask: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for f in mask {
        let v = match *f {
            "name" => json!(format!("locations/{}", l.id)),
            "title" => json!(l.title),
            "storefrontAddress" => {
                json!({"regionCode": "US", "languageCode": "en", "postalCode": "12345", "locality": l.title.rsplit(' ').next().unwrap_or_default(), "addressLines": [format!("{} Main Street", &l.id[l.id.len() - 3..])]})
            }
            "metadata" => {
                json!({"mapsUri": format!("https://maps.google.com/maps?cid={}", l.id), "newReviewUri": format!("https://search.google.com/local/writereview?placeid=sbx{}", l.id), "placeId": format!("sbx{}", l.id), "canHaveBusinessCalls": true})
            }
            "phoneNumbers" => json!({"primaryPhone": "+1 555-0100"}),
            "websiteUri" => json!("https://example.com/"),
            "categories" => {
                json!({"primaryCategory": {"name": "categories/gcid:bakery", "displayName": "Bakery"}})
            }
            "languageCode" => json!("en"),
            "storeCode" => json!(format!("SBX-{}", &l.id[l.id.len() - 3..])),
            _ => continue,
        };
        out.insert((*f).to_string(), v);
    }
    Value::Object(out)
}

/// `GET /v1/accounts/{a}/locations?readMask=...&pageSize&pageToken` (readMask is required).
pub(super) fn locations(
    state: &SandboxState,
    req: &Req,
    account: &str,
) -> Result<Response, GError> {
    let mask_text = req
        .q("readMask")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GError::field("read_mask", "Field is required."))?;
    let mask: Vec<&str> = mask_text.split(',').map(str::trim).collect();
    if let Some(bad) = mask.iter().find(|f| !READ_MASK_FIELDS.contains(f)) {
        return Err(GError::field(
            "read_mask",
            &format!("Invalid field mask provided: {bad}"),
        ));
    }
    let size = page_size(req, 10, 100)?;
    let start = parse_page_token(req.q("pageToken"))?;
    let gbp = lock(&state.gbp);
    if !gbp.accounts.iter().any(|a| a.id == account) {
        return Err(GError::not_found());
    }
    let all: Vec<&super::GLocation> = gbp
        .locations
        .iter()
        .filter(|l| l.account == account)
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|l| location_json(l, &mask))
        .collect();
    let mut body = json!({ "locations": page });
    if start.saturating_add(size) < all.len() {
        body["nextPageToken"] = json!(page_token(start.saturating_add(size)));
    }
    Ok(http::json(StatusCode::OK, &body))
}

/// `GET|PATCH /v1/accounts/{a}/notificationSetting?updateMask=notificationTypes,pubsubTopic`.
pub(super) fn notification_setting(
    state: &SandboxState,
    req: &Req,
    account: &str,
) -> Result<Response, GError> {
    let name = format!("accounts/{account}/notificationSetting");
    let mut gbp: std::sync::MutexGuard<'_, GbpState> = lock(&state.gbp);
    if !gbp.accounts.iter().any(|a| a.id == account) {
        return Err(GError::not_found());
    }
    let current = gbp
        .notification_settings
        .get(account)
        .cloned()
        .unwrap_or_else(|| json!({"name": name}));
    if req.method == Method::GET {
        return Ok(http::json(StatusCode::OK, &current));
    }
    let mask = req
        .q("updateMask")
        .ok_or_else(|| GError::field("update_mask", "Field is required."))?;
    let body = match req.json() {
        Ok(Value::Object(o)) => o,
        _ => return Err(GError::invalid("Invalid JSON payload received.")),
    };
    let mut next = current;
    for field in mask.split(',').map(str::trim) {
        match field {
            "pubsubTopic" => {
                let topic = body
                    .get("pubsubTopic")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !(topic.is_empty()
                    || topic.starts_with("projects/") && topic.contains("/topics/"))
                {
                    return Err(GError::field(
                        "pubsub_topic",
                        "Must be projects/{project}/topics/{topic}.",
                    ));
                }
                next["pubsubTopic"] = json!(topic);
            }
            "notificationTypes" => {
                next["notificationTypes"] = body
                    .get("notificationTypes")
                    .cloned()
                    .unwrap_or_else(|| json!([]));
            }
            other => {
                return Err(GError::field(
                    "update_mask",
                    &format!("Unknown field {other}"),
                ));
            }
        }
    }
    gbp.notification_settings
        .insert(account.to_string(), next.clone());
    Ok(http::json(StatusCode::OK, &next))
}

fn date_param(req: &Req, prefix: &str) -> Result<i64, GError> {
    let part = |k: &str| -> Result<u32, GError> {
        req.q(&format!("{prefix}.{k}"))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| GError::field(prefix, &format!("{prefix}.{k} is required")))
    };
    let (y, m, d) = (part("year")?, part("month")?, part("day")?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(GError::field(prefix, "Invalid date."));
    }
    Ok(clock::days_from_civil(i64::from(y), m, d))
}

/// `GET /v1/locations/{id}:fetchMultiDailyMetricsTimeSeries?dailyMetrics=...&dailyRange.startDate.year=...`.
/// The last two days have no value yet (data lags 24-48 h).
pub(super) fn performance(
    state: &SandboxState,
    req: &Req,
    target: &str,
) -> Result<Response, GError> {
    let Some(id) = target.strip_suffix(":fetchMultiDailyMetricsTimeSeries") else {
        return Err(GError::not_found());
    };
    if !lock(&state.gbp).locations.iter().any(|l| l.id == id) {
        return Err(GError::not_found());
    }
    let metrics = req.q_all("dailyMetrics");
    if metrics.is_empty() {
        return Err(GError::field(
            "daily_metrics",
            "At least one daily metric is required.",
        ));
    }
    if let Some(bad) = metrics.iter().find(|m| !DAILY_METRICS.contains(m)) {
        return Err(GError::field(
            "daily_metrics",
            &format!("Invalid value: {bad}"),
        ));
    }
    let start = date_param(req, "dailyRange.startDate")?;
    let end = date_param(req, "dailyRange.endDate")?;
    if end < start {
        return Err(GError::field(
            "daily_range",
            "The end date must not be before the start date.",
        ));
    }
    if end - start > 550 {
        return Err(GError::field(
            "daily_range",
            "The range may span at most 18 months.",
        ));
    }
    let today = state.clock.now_unix().div_euclid(86_400);
    let series: Vec<Value> = metrics
        .iter()
        .map(|m| {
            let values: Vec<Value> = (start..=end)
                .map(|day| {
                    let c = clock::civil_from_unix(day * 86_400);
                    let date = json!({"year": c.year, "month": c.month, "day": c.day});
                    if day > today - DATA_LAG_DAYS {
                        json!({ "date": date })
                    } else {
                        json!({"date": date, "value": (crate::platforms::fake_count(id, m, day) % 60).to_string()})
                    }
                })
                .collect();
            json!({"dailyMetric": m, "timeSeries": {"datedValues": values}})
        })
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": series}]}),
    ))
}

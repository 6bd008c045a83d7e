//! v4 local posts: create with the topicType rules (EVENT and OFFER need `event`; `callToAction` is
//! ignored for OFFER; CALL has no url), `PROCESSING` -> `LIVE` (or `REJECTED`) after
//! `GbpConfig::post_processing_secs`, list (paged), get, patch with `updateMask`, delete.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::errors::GError;
use super::{LocalPost, page_size, page_token, parse_page_token};
use crate::clock;
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

/// Summary text that makes a post end `REJECTED` (documented in the README).
pub(crate) const REJECT_MARKER: &str = "sandbox-reject";
const TOPICS: &[&str] = &["STANDARD", "EVENT", "OFFER", "ALERT"];
const ACTIONS: &[&str] = &["BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"];
const MAX_SUMMARY: usize = 1500;
const PATCHABLE: &[&str] = &[
    "summary",
    "callToAction",
    "event",
    "offer",
    "media",
    "languageCode",
    "topicType",
];

fn http_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"))
}

fn check_date(v: &Value, field: &str) -> Result<i64, GError> {
    let n = |k: &str| v.get(k).and_then(Value::as_i64);
    match (n("year"), n("month"), n("day")) {
        (Some(y), Some(m), Some(d))
            if (1..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d) =>
        {
            Ok(clock::days_from_civil(y, m as u32, d as u32))
        }
        _ => Err(GError::field(field, "A date needs year, month and day.")),
    }
}

fn check_time(v: Option<&Value>, field: &str) -> Result<i64, GError> {
    let Some(v) = v else { return Ok(0) };
    let h = v.get("hours").and_then(Value::as_i64).unwrap_or(0);
    let m = v.get("minutes").and_then(Value::as_i64).unwrap_or(0);
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return Err(GError::field(field, "hours must be 0-23 and minutes 0-59."));
    }
    Ok(h * 60 + m)
}

/// Validates a post body and applies the topicType rules; returns what is stored.
fn validate(mut post: Map<String, Value>) -> Result<Map<String, Value>, GError> {
    let topic = post
        .get("topicType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !TOPICS.contains(&topic.as_str()) {
        return Err(GError::field(
            "topic_type",
            "topicType must be STANDARD, EVENT, OFFER or ALERT.",
        ));
    }
    let summary = post
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if summary.chars().count() > MAX_SUMMARY {
        return Err(GError::field(
            "summary",
            "The summary may be at most 1500 characters.",
        ));
    }
    if summary.is_empty() && topic != "EVENT" && topic != "OFFER" && post.get("media").is_none() {
        return Err(GError::field("summary", "A post needs a summary."));
    }
    if topic == "EVENT" || topic == "OFFER" {
        let event = post.get("event").ok_or_else(|| {
            GError::field("event", &format!("event is required for {topic} posts."))
        })?;
        if event
            .get("title")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(GError::field("event.title", "The event needs a title."));
        }
        let schedule = event
            .get("schedule")
            .ok_or_else(|| GError::field("event.schedule", "The event needs a schedule."))?;
        let start = check_date(
            schedule.get("startDate").unwrap_or(&Value::Null),
            "event.schedule.start_date",
        )? * 1440
            + check_time(schedule.get("startTime"), "event.schedule.start_time")?;
        let end = check_date(
            schedule.get("endDate").unwrap_or(&Value::Null),
            "event.schedule.end_date",
        )? * 1440
            + check_time(schedule.get("endTime"), "event.schedule.end_time")?;
        if end < start {
            return Err(GError::field(
                "event.schedule",
                "The event must not end before it starts.",
            ));
        }
    }
    if topic == "OFFER" {
        // Ignored for offers: the offer's own fields carry the link.
        post.remove("callToAction");
        if let Some(u) = post
            .get("offer")
            .and_then(|o| o.get("redeemOnlineUrl"))
            .and_then(Value::as_str)
            && !http_url(u)
        {
            return Err(GError::field(
                "offer.redeem_online_url",
                "Must be an http(s) URL.",
            ));
        }
    } else if let Some(cta) = post.get("callToAction") {
        let action = cta
            .get("actionType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !ACTIONS.contains(&action) {
            return Err(GError::field(
                "call_to_action.action_type",
                "actionType must be BOOK, ORDER, SHOP, LEARN_MORE, SIGN_UP or CALL.",
            ));
        }
        let url = cta.get("url").and_then(Value::as_str);
        match (action, url) {
            ("CALL", Some(_)) => {
                return Err(GError::field(
                    "call_to_action.url",
                    "A CALL action has no url: it calls the location's phone number.",
                ));
            }
            ("CALL", None) => {}
            (_, Some(u)) if http_url(u) => {}
            _ => {
                return Err(GError::field(
                    "call_to_action.url",
                    "This action needs an http(s) url.",
                ));
            }
        }
    }
    if let Some(media) = post.get("media") {
        let items = media
            .as_array()
            .ok_or_else(|| GError::field("media", "media must be a list."))?;
        for (i, m) in items.iter().enumerate() {
            let format = m
                .get("mediaFormat")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if format != "PHOTO" && format != "VIDEO" {
                return Err(GError::field(
                    &format!("media[{i}].media_format"),
                    "mediaFormat must be PHOTO or VIDEO.",
                ));
            }
            if !m
                .get("sourceUrl")
                .and_then(Value::as_str)
                .is_some_and(http_url)
            {
                return Err(GError::field(
                    &format!("media[{i}].source_url"),
                    "sourceUrl must be an http(s) URL.",
                ));
            }
        }
    }
    Ok(post)
}

fn post_json(p: &LocalPost, now: i64, processing: i64) -> Value {
    let mut v = p.body.clone();
    let state = if now < p.created_at + processing {
        "PROCESSING"
    } else if p.rejected {
        "REJECTED"
    } else {
        "LIVE"
    };
    v["name"] = json!(p.name);
    v["createTime"] = json!(clock::rfc3339(p.created_at));
    v["updateTime"] = json!(clock::rfc3339(p.updated_at));
    v["state"] = json!(state);
    let id = p.name.rsplit('/').next().unwrap_or_default();
    v["searchUrl"] = json!(format!(
        "https://local.google.com/place?id={}&use=posts&lpsid={id}",
        p.location
    ));
    v
}

fn require_location(state: &SandboxState, account: &str, location: &str) -> Result<(), GError> {
    if lock(&state.gbp).location(account, location).is_none() {
        return Err(GError::not_found());
    }
    Ok(())
}

fn body(req: &Req) -> Result<Map<String, Value>, GError> {
    match req.json() {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(GError::invalid("Invalid JSON payload received.")),
    }
}

/// `POST /v4/accounts/{a}/locations/{l}/localPosts`.
pub(super) fn create(
    state: &SandboxState,
    req: &Req,
    account: &str,
    location: &str,
) -> Result<Response, GError> {
    require_location(state, account, location)?;
    let stored = validate(body(req)?)?;
    let now = state.clock.now_unix();
    let name = format!(
        "accounts/{account}/locations/{location}/localPosts/{}",
        1_000_000_000_000 + state.next_id()
    );
    let rejected = stored
        .get("summary")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains(REJECT_MARKER));
    let post = LocalPost {
        name: name.clone(),
        location: location.into(),
        body: Value::Object(stored),
        created_at: now,
        updated_at: now,
        rejected,
    };
    let out = post_json(&post, now, state.config.gbp.post_processing_secs);
    lock(&state.gbp).posts.insert(name, post);
    Ok(http::json(StatusCode::OK, &out))
}

/// `GET .../localPosts?pageSize(<=100)&pageToken`, newest first.
pub(super) fn list(
    state: &SandboxState,
    req: &Req,
    account: &str,
    location: &str,
) -> Result<Response, GError> {
    require_location(state, account, location)?;
    let size = page_size(req, 20, 100)?;
    let start = parse_page_token(req.q("pageToken"))?;
    let now = state.clock.now_unix();
    let gbp = lock(&state.gbp);
    let prefix = format!("accounts/{account}/locations/{location}/localPosts/");
    let mut all: Vec<&LocalPost> = gbp
        .posts
        .values()
        .filter(|p| p.name.starts_with(&prefix))
        .collect();
    all.sort_by_key(|p| {
        std::cmp::Reverse(
            p.name
                .rsplit('/')
                .next()
                .and_then(|id| id.parse::<u64>().ok())
                .unwrap_or(0),
        )
    });
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|p| post_json(p, now, state.config.gbp.post_processing_secs))
        .collect();
    let mut out = json!({ "localPosts": page });
    if start.saturating_add(size) < all.len() {
        out["nextPageToken"] = json!(page_token(start.saturating_add(size)));
    }
    Ok(http::json(StatusCode::OK, &out))
}

fn name_of(account: &str, location: &str, id: &str) -> String {
    format!("accounts/{account}/locations/{location}/localPosts/{id}")
}

pub(super) fn get(
    state: &SandboxState,
    account: &str,
    location: &str,
    id: &str,
) -> Result<Response, GError> {
    let now = state.clock.now_unix();
    let gbp = lock(&state.gbp);
    let p = gbp
        .posts
        .get(&name_of(account, location, id))
        .ok_or_else(GError::not_found)?;
    Ok(http::json(
        StatusCode::OK,
        &post_json(p, now, state.config.gbp.post_processing_secs),
    ))
}

/// `PATCH .../localPosts/{id}?updateMask=summary` (10 edits per minute per location).
pub(super) fn patch(
    state: &SandboxState,
    req: &Req,
    account: &str,
    location: &str,
    id: &str,
) -> Result<Response, GError> {
    let mask = req
        .q("updateMask")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GError::field("update_mask", "Field is required."))?;
    let fields: Vec<&str> = mask.split(',').map(str::trim).collect();
    if let Some(bad) = fields.iter().find(|f| !PATCHABLE.contains(f)) {
        return Err(GError::field(
            "update_mask",
            &format!("Unknown or read-only field: {bad}"),
        ));
    }
    let changes = body(req)?;
    let name = name_of(account, location, id);
    let current = lock(&state.gbp)
        .posts
        .get(&name)
        .map(|p| p.body.clone())
        .ok_or_else(GError::not_found)?;
    let cfg = &state.config.gbp;
    if state
        .limits
        .hit(
            &format!("gbp:edits:{location}"),
            cfg.edits_per_minute,
            60_000,
            state.clock.now_ms(),
        )
        .exceeded
    {
        return Err(GError::exhausted("Edits per minute per location"));
    }
    let mut next = current.as_object().cloned().unwrap_or_default();
    for f in &fields {
        match changes.get(*f) {
            Some(v) => next.insert((*f).to_string(), v.clone()),
            None => next.remove(*f),
        };
    }
    let stored = validate(next)?;
    let now = state.clock.now_unix();
    let mut gbp = lock(&state.gbp);
    let p = gbp.posts.get_mut(&name).ok_or_else(GError::not_found)?;
    p.rejected = stored
        .get("summary")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains(REJECT_MARKER));
    p.body = Value::Object(stored);
    p.updated_at = now;
    Ok(http::json(
        StatusCode::OK,
        &post_json(p, now, cfg.post_processing_secs),
    ))
}

/// `DELETE .../localPosts/{id}` -> `{}`.
pub(super) fn delete(
    state: &SandboxState,
    account: &str,
    location: &str,
    id: &str,
) -> Result<Response, GError> {
    let mut gbp = lock(&state.gbp);
    gbp.posts
        .remove(&name_of(account, location, id))
        .ok_or_else(GError::not_found)?;
    Ok(http::json(StatusCode::OK, &json!({})))
}

//! Local posts: STANDARD, EVENT, OFFER and ALERT, with the topic rules checked before anything is
//! sent; the post's state followed as continuations until `LIVE` (`REJECTED` fails with the
//! reason); edits (`PATCH ?updateMask=summary`) and delete.
//!
//! Post options: `topic-type` (`STANDARD` by default), `language-code` (`en`), `cta-type`
//! (`BOOK`, `ORDER`, `SHOP`, `LEARN_MORE`, `SIGN_UP`, `CALL`) and `cta-url` (default: the post's
//! link; `LEARN_MORE` when only a link is given), `event-title`, `event-start` and `event-end`
//! (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`), `coupon-code`, `redeem-url` (default: the link) and
//! `terms` for offers, and `edit-post` (a local post's name) to edit that post's text instead
//! of creating one.
//!
//! Recovery points, following [`postd_sdk::reconcile`]: a create attempt (with its time) just
//! before `POST .../localPosts`, then `gbp-post:<name>` once the post exists, so a retry or a
//! repeated continuation follows that post instead of creating another. A retry whose point is
//! still the attempt looks for the post a create whose answer was lost made (see [`recover`]).

use postd_sdk::prelude::*;
use postd_sdk::reconcile::{self, CreateAttempt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api::{self, defaults};
use crate::{locations, recover};

/// Continuation that follows a post from `PROCESSING` to `LIVE`.
pub const STATE_TASK: &str = "gbp-post-state";

/// Longest summary.
pub const MAX_SUMMARY_CHARS: u32 = 1_500;

const POST: queue::PointKind = queue::PointKind::new("gbp-post:");
const TOPICS: &[&str] = &["STANDARD", "EVENT", "OFFER", "ALERT"];
const ACTIONS: &[&str] = &["BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"];
/// Wait between state checks.
const POLL_MS: u64 = 15_000;
/// State checks (about an hour) before a post still processing counts as a passing failure.
const MAX_POLLS: u32 = 240;

fn posts_base() -> String {
    vault::app_base_url("posts-base-url", defaults::POSTS_BASE)
}

/// `{year, month, day}` and, when a time is given, `{hours, minutes}` of `YYYY-MM-DD[THH:MM]`.
pub fn date_time(value: &str, field: &str) -> Result<(Value, Option<Value>)> {
    let bad = || {
        Error::invalid_input(format!(
            "{field} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM, not `{value}`"
        ))
    };
    let (date, time) = match value.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (value, None),
    };
    let parts: Vec<u32> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let [year, month, day] = parts.as_slice() else {
        return Err(bad());
    };
    if !(1..=12).contains(month) || !(1..=31).contains(day) {
        return Err(bad());
    }
    let date = json!({ "year": year, "month": month, "day": day });
    let time = match time {
        None => None,
        Some(t) => {
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            Some(json!({ "hours": h, "minutes": m }))
        }
    };
    Ok((date, time))
}

/// The local post body for `post`, or why Google would refuse it. Checked before sending:
/// the topic, the summary's length, `event` for EVENT and OFFER, no url for CALL.
pub fn body(post: &Post) -> Result<Value> {
    let topic = post
        .option("topic-type")
        .unwrap_or("STANDARD")
        .to_ascii_uppercase();
    if !TOPICS.contains(&topic.as_str()) {
        return Err(Error::invalid_input(format!(
            "topic-type must be STANDARD, EVENT, OFFER or ALERT, not `{topic}`"
        )));
    }
    if post.text.chars().count() > MAX_SUMMARY_CHARS as usize {
        return Err(Error::invalid_input(format!(
            "a Business Profile post is at most {MAX_SUMMARY_CHARS} characters"
        )));
    }
    if post.media.len() > 1 {
        return Err(Error::invalid_input(
            "a Business Profile post carries one photo or video",
        ));
    }
    let mut body = Map::new();
    body.insert(
        "languageCode".into(),
        json!(post.option("language-code").unwrap_or("en")),
    );
    if !post.text.trim().is_empty() {
        body.insert("summary".into(), json!(post.text));
    }
    body.insert("topicType".into(), json!(topic));
    if topic == "EVENT" || topic == "OFFER" {
        let (Some(title), Some(start), Some(end)) = (
            post.option("event-title"),
            post.option("event-start"),
            post.option("event-end"),
        ) else {
            return Err(Error::invalid_input(format!(
                "a {topic} post needs event-title, event-start and event-end"
            )));
        };
        let (start_date, start_time) = date_time(start, "event-start")?;
        let (end_date, end_time) = date_time(end, "event-end")?;
        let mut schedule = json!({ "startDate": start_date, "endDate": end_date });
        if let Some(t) = start_time {
            schedule["startTime"] = t;
        }
        if let Some(t) = end_time {
            schedule["endTime"] = t;
        }
        body.insert(
            "event".into(),
            json!({ "title": title, "schedule": schedule }),
        );
    }
    if topic == "OFFER" {
        let mut offer = Map::new();
        if let Some(code) = post.option("coupon-code") {
            offer.insert("couponCode".into(), json!(code));
        }
        if let Some(url) = post.option("redeem-url").or(post.link.as_deref()) {
            offer.insert("redeemOnlineUrl".into(), json!(url));
        }
        if let Some(terms) = post.option("terms") {
            offer.insert("termsConditions".into(), json!(terms));
        }
        body.insert("offer".into(), Value::Object(offer));
        // Google ignores a call to action on offers: none is sent.
    } else {
        let action = post.option("cta-type").map(str::to_ascii_uppercase);
        let url = post.option("cta-url");
        match action.as_deref() {
            Some("CALL") if url.is_some() => {
                return Err(Error::invalid_input(
                    "a CALL action has no url: it calls the location's phone number",
                ));
            }
            Some("CALL") => {
                body.insert("callToAction".into(), json!({ "actionType": "CALL" }));
            }
            Some(other) if !ACTIONS.contains(&other) => {
                return Err(Error::invalid_input(format!(
                    "cta-type must be one of {}, not `{other}`",
                    ACTIONS.join(", ")
                )));
            }
            Some(other) => {
                let url = url.or(post.link.as_deref()).ok_or_else(|| {
                    Error::invalid_input(format!("a {other} action needs cta-url or a link"))
                })?;
                body.insert(
                    "callToAction".into(),
                    json!({ "actionType": other, "url": url }),
                );
            }
            None => {
                if let Some(url) = url.or(post.link.as_deref()) {
                    body.insert(
                        "callToAction".into(),
                        json!({ "actionType": "LEARN_MORE", "url": url }),
                    );
                }
            }
        }
    }
    if topic == "ALERT" {
        body.insert("alertType".into(), json!("COVID_19"));
    }
    if let Some(media) = post.media.first() {
        let format = if media.kind == MediaKind::Video {
            "VIDEO"
        } else {
            "PHOTO"
        };
        body.insert(
            "media".into(),
            json!([{ "mediaFormat": format, "sourceUrl": media.url }]),
        );
    }
    if !body.contains_key("summary")
        && !body.contains_key("media")
        && topic != "EVENT"
        && topic != "OFFER"
    {
        return Err(Error::invalid_input(
            "a Business Profile post needs text or a photo",
        ));
    }
    Ok(Value::Object(body))
}

/// A local post as Google answers it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocalPost {
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    search_url: Option<String>,
}

/// Follows a post between continuations (no secrets).
#[derive(Serialize, Deserialize)]
struct StateTask {
    name: String,
    polls: u32,
}

/// Creates (or, with `edit-post`, edits) a local post.
pub fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
    let (account, location) = locations::parse(&post.account_id)?;
    let token = oauth::tokens::access_token()?;
    if let Some(name) = POST.of(&job) {
        return follow(name, 0, &token);
    }
    if let Some(name) = post.option("edit-post") {
        return edit(&post, name, &post.account_id, &token);
    }
    let body = body(&post)?;
    let parent = format!(
        "{}/v4/accounts/{account}/locations/{location}/localPosts",
        posts_base()
    );
    let attempt = job.recovery_point.as_deref().and_then(CreateAttempt::parse);
    if let Some(attempt) = attempt
        && let Some(found) = recover::earlier_post(&parent, &body, &attempt, &token)?
    {
        let found: LocalPost = serde_json::from_value(found)?;
        POST.checkpoint(&found.name)?;
        log::info(
            "local post made by an earlier attempt adopted",
            &[("post", &found.name)],
        );
        return outcome(found, 0);
    }
    CreateAttempt::record(reconcile::job_marker(&job))?;
    let created: LocalPost = api::send_json(http::Request::post(parent).json(&body)?, &token)?;
    POST.checkpoint(&created.name)?;
    log::info("local post created", &[("post", &created.name)]);
    outcome(created, 0)
}

/// `PATCH .../localPosts/{id}?updateMask=summary` with the post's text.
fn edit(post: &Post, name: &str, account_id: &str, token: &str) -> Result<PublishOutcome> {
    let name = own_post(name, account_id)?;
    if post.text.trim().is_empty() || post.text.chars().count() > MAX_SUMMARY_CHARS as usize {
        return Err(Error::invalid_input(format!(
            "an edited summary has 1 to {MAX_SUMMARY_CHARS} characters"
        )));
    }
    let edited: LocalPost = api::send_json(
        http::Request::patch(format!("{}/v4/{name}", posts_base()))
            .query("updateMask", "summary")
            .json(&json!({ "summary": post.text }))?,
        token,
    )?;
    outcome(edited, 0)
}

/// A post name of `account_id`'s location: a full name, or a bare post id.
fn own_post(post: &str, account_id: &str) -> Result<String> {
    if !post.contains('/') {
        return Ok(format!("{account_id}/localPosts/{post}"));
    }
    if post.starts_with(&format!("{account_id}/localPosts/")) {
        return Ok(post.to_string());
    }
    Err(Error::invalid_input(format!(
        "{post} is not a local post of {account_id}"
    )))
}

/// What a post's state means: published, failed, or another check later.
fn outcome(post: LocalPost, polls: u32) -> Result<PublishOutcome> {
    match post.state.as_str() {
        "REJECTED" => Err(Error::invalid_input(format!(
            "Google rejected local post {} (state REJECTED: it breaks the Business Profile content policies)",
            post.name
        ))),
        "PROCESSING" if polls >= MAX_POLLS => Err(Error::transient(format!(
            "local post {} is still processing after {MAX_POLLS} checks",
            post.name
        ))),
        "PROCESSING" => {
            let task = StateTask {
                name: post.name.clone(),
                polls: polls + 1,
            };
            let waiting_for = format!("local post {} is processing", post.name);
            queue::continue_with(STATE_TASK, &task, POLL_MS, waiting_for)
        }
        // LIVE, or a state this connector does not know: the post exists.
        _ => Ok(PublishOutcome::Published(Published {
            post_id: post.name,
            url: post.search_url,
            scheduled_for: None,
        })),
    }
}

/// Reads a post's state and acts on it.
fn follow(name: &str, polls: u32, token: &str) -> Result<PublishOutcome> {
    let post: LocalPost = api::send_json(
        http::Request::get(format!("{}/v4/{name}", posts_base())),
        token,
    )?;
    outcome(post, polls)
}

/// Runs a `gbp-post-state` continuation.
pub fn handle_task(context: TaskContext) -> Result<PublishOutcome> {
    let task: StateTask = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("malformed post task: {e}")))?;
    follow(&task.name, task.polls, &oauth::tokens::access_token()?)
}

/// `DELETE .../localPosts/{id}`; a post already gone counts as deleted.
pub fn delete(request: &DeleteRequest) -> Result<()> {
    locations::parse(&request.account_id)?;
    let name = own_post(&request.post_id, &request.account_id)?;
    match api::send(
        http::Request::delete(format!("{}/v4/{name}", posts_base())),
        &oauth::tokens::access_token()?,
    ) {
        Ok(_) => Ok(()),
        Err(Error::InvalidInput(why)) if why.contains("NOT_FOUND") => Ok(()),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str, options: &[(&str, &str)]) -> Post {
        Post {
            account_id: "accounts/1/locations/2".into(),
            text: text.into(),
            link: None,
            media: vec![],
            scheduled_for: None,
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn topic_rules_are_checked_before_sending() {
        assert!(body(&post("Hi", &[("topic-type", "NEWS")])).is_err());
        assert!(body(&post("Hi", &[("topic-type", "EVENT")])).is_err());
        assert!(
            body(&post(
                "Hi",
                &[("topic-type", "OFFER"), ("event-title", "Sale")]
            ))
            .is_err()
        );
        assert!(
            body(&post(
                "Hi",
                &[("cta-type", "CALL"), ("cta-url", "https://x.example")]
            ))
            .is_err()
        );
        let call = body(&post("Hi", &[("cta-type", "CALL")])).unwrap();
        assert_eq!(call["callToAction"], json!({ "actionType": "CALL" }));
        let event = body(&post(
            "Party",
            &[
                ("topic-type", "EVENT"),
                ("event-title", "Open day"),
                ("event-start", "2026-12-01T10:00"),
                ("event-end", "2026-12-01"),
            ],
        ))
        .unwrap();
        assert_eq!(
            event["event"]["schedule"]["startTime"],
            json!({"hours": 10, "minutes": 0})
        );
        assert!(event["event"]["schedule"].get("endTime").is_none());
        assert!(date_time("2026-13-01", "x").is_err());
    }
}

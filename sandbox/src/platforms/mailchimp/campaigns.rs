//! Campaigns: create, content (only while `save`, `paused` or `schedule`), send now, schedule (only on
//! the quarter hour), unschedule, delete, and reports once sent. A scheduled campaign starts sending at
//! its time on the sandbox clock; sending lasts `MailchimpConfig::send_duration_secs`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::Problem;
use super::{Campaign, MailchimpState, body_object};
use crate::clock;
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

const TYPES: &[&str] = &["regular", "plaintext", "absplit", "rss", "variate"];
const QUARTER_HOUR: i64 = 15 * 60;

pub(super) fn campaign_json(mc: &MailchimpState, c: &Campaign, now: i64, send_secs: i64) -> Value {
    let (status, send_time) = c.effective_status(now, send_secs);
    let list = mc.lists.get(&c.list_id);
    let recipients = if c.recipients_at_send > 0 {
        c.recipients_at_send
    } else {
        list.map_or(0, |l| {
            l.members
                .values()
                .filter(|m| m.status == "subscribed")
                .count() as u64
        })
    };
    json!({
        "id": c.id,
        "web_id": c.web_id,
        "type": c.kind,
        "create_time": clock::rfc3339_offset(c.created_at),
        "archive_url": format!("http://eepurl.com/sbx{}", c.web_id),
        "long_archive_url": format!("https://us.campaign-archive.com/?u=sandbox&id={}", c.id),
        "status": status,
        "emails_sent": if status == "sent" { recipients } else { 0 },
        "send_time": send_time.or(if status == "schedule" { c.schedule_time } else { None }).map(clock::rfc3339_offset).unwrap_or_default(),
        "content_type": "html",
        "recipients": {
            "list_id": c.list_id,
            "list_name": list.map(|l| l.name.clone()).unwrap_or_default(),
            "segment_text": "",
            "recipient_count": recipients,
        },
        "settings": c.settings,
        "tracking": {"opens": true, "html_clicks": true, "text_clicks": false},
    })
}

fn with_campaign<T>(
    state: &SandboxState,
    account: &str,
    id: &str,
    f: impl FnOnce(&mut MailchimpState, &str, i64, i64) -> Result<T, Problem>,
) -> Result<T, Problem> {
    let now = state.clock.now_unix();
    let send_secs = state.config.mailchimp.send_duration_secs;
    let mut mc = lock(&state.mailchimp);
    if mc.campaigns.get(id).is_none_or(|c| c.account != account) {
        return Err(Problem::not_found());
    }
    f(&mut mc, id, now, send_secs)
}

fn check_settings(settings: &Value) -> Result<(), Problem> {
    if !settings.is_object() {
        return Err(Problem::field("settings", "settings must be an object."));
    }
    if let Some(r) = settings.get("reply_to").and_then(Value::as_str)
        && !r.contains('@')
    {
        return Err(Problem::field(
            "settings.reply_to",
            "This value should be a valid email address.",
        ));
    }
    Ok(())
}

/// `POST /campaigns {type, recipients{list_id}, settings{subject_line, from_name, reply_to, title}}`.
pub(super) fn create(state: &SandboxState, req: &Req, account: &str) -> Result<Response, Problem> {
    let body = body_object(req)?;
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !TYPES.contains(&kind.as_str()) {
        return Err(Problem::field(
            "type",
            "Data presented is not one of the accepted values: regular, plaintext, absplit, rss, variate.",
        ));
    }
    let list_id = body
        .get("recipients")
        .and_then(|r| r.get("list_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let settings = body.get("settings").cloned().unwrap_or_else(|| json!({}));
    check_settings(&settings)?;
    let now = state.clock.now_unix();
    let id = state.token("", 10);
    let web_id = 1_000_000 + state.next_id();
    let send_secs = state.config.mailchimp.send_duration_secs;
    let mut mc = lock(&state.mailchimp);
    if mc.lists.get(&list_id).is_none_or(|l| l.account != account) {
        return Err(Problem::field(
            "recipients.list_id",
            "The resource submitted could not be validated: the list does not exist.",
        ));
    }
    let c = Campaign {
        id: id.clone(),
        web_id,
        account: account.into(),
        kind,
        list_id,
        settings,
        created_at: now,
        status: "save".into(),
        schedule_time: None,
        send_started: None,
        html: None,
        plain_text: None,
        recipients_at_send: 0,
    };
    let out = campaign_json(&mc, &c, now, send_secs);
    mc.campaigns.insert(id, c);
    Ok(http::json(StatusCode::OK, &out))
}

pub(super) fn get(state: &SandboxState, account: &str, id: &str) -> Result<Response, Problem> {
    with_campaign(state, account, id, |mc, id, now, secs| {
        let c = mc.campaigns.get(id).ok_or_else(Problem::not_found)?;
        Ok(http::json(StatusCode::OK, &campaign_json(mc, c, now, secs)))
    })
}

fn editable(status: &str) -> bool {
    matches!(status, "save" | "paused" | "schedule")
}

/// `PATCH /campaigns/{id} {settings}`: merges settings while the campaign is editable.
pub(super) fn update(
    state: &SandboxState,
    req: &Req,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    let body = body_object(req)?;
    with_campaign(state, account, id, |mc, id, now, secs| {
        let c = mc.campaigns.get_mut(id).ok_or_else(Problem::not_found)?;
        if !editable(c.effective_status(now, secs).0) {
            return Err(Problem::invalid(
                "This campaign cannot be updated because it has already been sent.",
            ));
        }
        if let Some(s) = body.get("settings") {
            check_settings(s)?;
            if let (Some(dst), Some(src)) = (c.settings.as_object_mut(), s.as_object()) {
                for (k, v) in src {
                    dst.insert(k.clone(), v.clone());
                }
            }
        }
        let c = mc.campaigns.get(id).ok_or_else(Problem::not_found)?;
        Ok(http::json(StatusCode::OK, &campaign_json(mc, c, now, secs)))
    })
}

pub(super) fn delete(state: &SandboxState, account: &str, id: &str) -> Result<Response, Problem> {
    with_campaign(state, account, id, |mc, id, _, _| {
        mc.campaigns.remove(id);
        Ok(http::empty(StatusCode::NO_CONTENT))
    })
}

fn content_json(c: &Campaign) -> Value {
    let mut v = json!({"_links": []});
    if let Some(h) = &c.html {
        v["html"] = json!(h);
    }
    if let Some(p) = &c.plain_text {
        v["plain_text"] = json!(p);
    } else if let Some(h) = &c.html {
        v["plain_text"] = json!(strip_tags(h));
    }
    v
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

pub(super) fn get_content(
    state: &SandboxState,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    with_campaign(state, account, id, |mc, id, _, _| {
        let c = mc.campaigns.get(id).ok_or_else(Problem::not_found)?;
        Ok(http::json(StatusCode::OK, &content_json(c)))
    })
}

/// `PUT /campaigns/{id}/content {html | plain_text}`: only while `save`, `paused` or `schedule`.
pub(super) fn set_content(
    state: &SandboxState,
    req: &Req,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    let body = body_object(req)?;
    let html = body.get("html").and_then(Value::as_str).map(str::to_string);
    let plain = body
        .get("plain_text")
        .and_then(Value::as_str)
        .map(str::to_string);
    with_campaign(state, account, id, |mc, id, now, secs| {
        let c = mc.campaigns.get_mut(id).ok_or_else(Problem::not_found)?;
        let status = c.effective_status(now, secs).0;
        if !editable(status) {
            return Err(Problem::invalid(format!(
                "This campaign's content cannot be edited while its status is {status}."
            )));
        }
        if html.is_none() && plain.is_none() {
            return Err(Problem::invalid("Provide html or plain_text."));
        }
        if c.kind == "plaintext" && plain.is_none() {
            return Err(Problem::field(
                "plain_text",
                "A plaintext campaign needs plain_text content.",
            ));
        }
        c.html = html.clone();
        c.plain_text = plain.clone();
        Ok(http::json(StatusCode::OK, &content_json(c)))
    })
}

fn ready_to_send(c: &Campaign) -> Result<(), Problem> {
    let s = |k: &str| {
        c.settings
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    let mut missing = Vec::new();
    if !s("subject_line") {
        missing.push(
            json!({"field": "settings.subject_line", "message": "Subject line is required."}),
        );
    }
    if !s("from_name") {
        missing.push(json!({"field": "settings.from_name", "message": "From name is required."}));
    }
    if !s("reply_to") {
        missing.push(
            json!({"field": "settings.reply_to", "message": "Reply-to address is required."}),
        );
    }
    if c.html.is_none() && c.plain_text.is_none() {
        missing.push(json!({"field": "content", "message": "The campaign has no content."}));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let mut p = Problem::new(
        StatusCode::BAD_REQUEST,
        "Bad Request",
        "Your Campaign is not ready to send.",
    );
    p.errors = missing;
    Err(p)
}

/// `POST /campaigns/{id}/actions/{send|schedule|unschedule}` (204 on success).
pub(super) fn action(
    state: &SandboxState,
    req: &Req,
    account: &str,
    id: &str,
    action: &str,
) -> Result<Response, Problem> {
    let body = if req.body.is_empty() {
        serde_json::Map::new()
    } else {
        body_object(req)?
    };
    with_campaign(state, account, id, |mc, id, now, secs| {
        let recipients = {
            let c = mc.campaigns.get(id).ok_or_else(Problem::not_found)?;
            mc.lists.get(&c.list_id).map_or(0, |l| {
                l.members
                    .values()
                    .filter(|m| m.status == "subscribed")
                    .count() as u64
            })
        };
        let c = mc.campaigns.get_mut(id).ok_or_else(Problem::not_found)?;
        let status = c.effective_status(now, secs).0;
        match action {
            "send" => {
                if !matches!(status, "save" | "paused") {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "Bad Request",
                        format!("A campaign with status {status} cannot be sent."),
                    ));
                }
                ready_to_send(c)?;
                c.status = "sending".into();
                c.send_started = Some(now);
                c.recipients_at_send = recipients;
            }
            "schedule" => {
                if !matches!(status, "save" | "paused") {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "Bad Request",
                        format!("A campaign with status {status} cannot be scheduled."),
                    ));
                }
                let raw = body
                    .get("schedule_time")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let t = clock::parse_rfc3339(raw).ok_or_else(|| {
                    Problem::field(
                        "schedule_time",
                        "schedule_time must be an ISO 8601 date-time in UTC.",
                    )
                })?;
                if t.rem_euclid(QUARTER_HOUR) != 0 {
                    return Err(Problem::field(
                        "schedule_time",
                        "Campaigns can only be scheduled on the quarter-hour (:00, :15, :30, :45).",
                    ));
                }
                if t <= now {
                    return Err(Problem::field(
                        "schedule_time",
                        "The schedule time must be in the future.",
                    ));
                }
                ready_to_send(c)?;
                c.status = "schedule".into();
                c.schedule_time = Some(t);
                c.recipients_at_send = recipients;
            }
            "unschedule" => {
                if status != "schedule" {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "Bad Request",
                        "This campaign is not scheduled.",
                    ));
                }
                c.status = "save".into();
                c.schedule_time = None;
            }
            "cancel-send" if status == "sending" => c.status = "canceled".into(),
            _ => return Err(Problem::not_found()),
        }
        Ok(http::empty(StatusCode::NO_CONTENT))
    })
}

/// `GET /reports/{campaign_id}`: only once the campaign has been sent (the exact fields are unconfirmed).
pub(super) fn report(state: &SandboxState, account: &str, id: &str) -> Result<Response, Problem> {
    with_campaign(state, account, id, |mc, id, now, secs| {
        let c = mc.campaigns.get(id).ok_or_else(Problem::not_found)?;
        let (status, send_time) = c.effective_status(now, secs);
        if !matches!(status, "sending" | "sent") {
            return Err(Problem::not_found());
        }
        let sent = c.recipients_at_send;
        let opens = sent * 2 / 5;
        let clicks = sent / 10;
        let rate = |n: u64| {
            if sent == 0 {
                0.0
            } else {
                n as f64 / sent as f64
            }
        };
        let list_name = mc
            .lists
            .get(&c.list_id)
            .map(|l| l.name.clone())
            .unwrap_or_default();
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "id": c.id,
                "campaign_title": c.settings.get("title").cloned().unwrap_or(Value::Null),
                "type": c.kind,
                "list_id": c.list_id,
                "list_name": list_name,
                "subject_line": c.settings.get("subject_line").cloned().unwrap_or(Value::Null),
                "emails_sent": sent,
                "abuse_reports": 0,
                "unsubscribed": 0,
                "send_time": send_time.map(clock::rfc3339_offset),
                "bounces": {"hard_bounces": 0, "soft_bounces": 0, "syntax_errors": 0},
                "forwards": {"forwards_count": 0, "forwards_opens": 0},
                "opens": {"opens_total": opens * 2, "unique_opens": opens, "open_rate": rate(opens), "last_open": send_time.map(|t| clock::rfc3339_offset(t + 3600))},
                "clicks": {"clicks_total": clicks * 2, "unique_clicks": clicks, "unique_subscriber_clicks": clicks, "click_rate": rate(clicks), "last_click": send_time.map(|t| clock::rfc3339_offset(t + 3600))},
                "list_stats": {"sub_rate": 0.0, "unsub_rate": 0.0, "open_rate": rate(opens) * 100.0, "click_rate": rate(clicks) * 100.0},
            }),
        ))
    })
}

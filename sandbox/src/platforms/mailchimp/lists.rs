//! Audiences, members (add, upsert by subscriber hash) and list webhooks.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::Problem;
use super::{List, Member, Webhook, body_object, subscriber_hash};
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

const MEMBER_STATUSES: &[&str] = &[
    "subscribed",
    "unsubscribed",
    "cleaned",
    "pending",
    "transactional",
];

fn list_json(l: &List) -> Value {
    let count = |s: &str| l.members.values().filter(|m| m.status == s).count();
    json!({
        "id": l.id,
        "web_id": l.id.bytes().map(u64::from).sum::<u64>(),
        "name": l.name,
        "date_created": crate::clock::rfc3339_offset(l.created_at),
        "visibility": "prv",
        "stats": {
            "member_count": count("subscribed"),
            "unsubscribe_count": count("unsubscribed"),
            "cleaned_count": count("cleaned"),
            "campaign_count": 0,
            "open_rate": 42.5,
            "click_rate": 7.5,
        },
    })
}

pub(super) fn paging(req: &Req) -> Result<(usize, usize), Problem> {
    let parse = |k: &str, d: usize| -> Result<usize, Problem> {
        match req.q(k) {
            Some(v) => v
                .parse()
                .map_err(|_| Problem::invalid(format!("{k} must be a non-negative integer"))),
            None => Ok(d),
        }
    };
    let count = parse("count", 10)?;
    if count > 1000 {
        return Err(Problem::invalid("count may be at most 1000"));
    }
    Ok((count, parse("offset", 0)?))
}

pub(super) fn list_lists(
    state: &SandboxState,
    req: &Req,
    account: &str,
) -> Result<Response, Problem> {
    let (count, offset) = paging(req)?;
    let mc = lock(&state.mailchimp);
    let all: Vec<&List> = mc.lists.values().filter(|l| l.account == account).collect();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(count)
        .map(|l| list_json(l))
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"lists": page, "total_items": all.len(), "_links": []}),
    ))
}

fn with_list<T>(
    state: &SandboxState,
    account: &str,
    id: &str,
    f: impl FnOnce(&mut List) -> Result<T, Problem>,
) -> Result<T, Problem> {
    let mut mc = lock(&state.mailchimp);
    let list = mc
        .lists
        .get_mut(id)
        .filter(|l| l.account == account)
        .ok_or_else(Problem::not_found)?;
    f(list)
}

pub(super) fn get_list(state: &SandboxState, account: &str, id: &str) -> Result<Response, Problem> {
    with_list(state, account, id, |l| {
        Ok(http::json(StatusCode::OK, &list_json(l)))
    })
}

fn member_json(list_id: &str, hash: &str, m: &Member) -> Value {
    json!({
        "id": hash,
        "email_address": m.email,
        "unique_email_id": &hash[..10],
        "status": m.status,
        "merge_fields": m.merge_fields,
        "list_id": list_id,
        "timestamp_signup": crate::clock::rfc3339_offset(m.created_at),
    })
}

pub(super) fn list_members(
    state: &SandboxState,
    req: &Req,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    let (count, offset) = paging(req)?;
    with_list(state, account, id, |l| {
        let members: Vec<Value> = l
            .members
            .iter()
            .skip(offset)
            .take(count)
            .map(|(h, m)| member_json(&l.id, h, m))
            .collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({"members": members, "list_id": l.id, "total_items": l.members.len()}),
        ))
    })
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.contains(' ')
        }
        None => false,
    }
}

fn read_member(
    body: &serde_json::Map<String, Value>,
    status_keys: &[&str],
) -> Result<(String, String, Value), Problem> {
    let email = body
        .get("email_address")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    if !valid_email(&email) {
        return Err(Problem::field(
            "email_address",
            "Please provide a valid email address.",
        ));
    }
    let status = status_keys
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    if !MEMBER_STATUSES.contains(&status.as_str()) {
        return Err(Problem::field(
            "status",
            "The status must be one of subscribed, unsubscribed, cleaned, pending, transactional.",
        ));
    }
    let merge = body
        .get("merge_fields")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !merge.is_object() {
        return Err(Problem::field(
            "merge_fields",
            "merge_fields must be an object.",
        ));
    }
    Ok((email, status, merge))
}

pub(super) fn add_member(
    state: &SandboxState,
    req: &Req,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    let body = body_object(req)?;
    let (email, status, merge) = read_member(&body, &["status"])?;
    let now = state.clock.now_unix();
    with_list(state, account, id, |l| {
        let hash = subscriber_hash(&email);
        if l.members.contains_key(&hash) {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "Member Exists",
                format!(
                    "{email} is already a list member. Use PUT to insert or update list members."
                ),
            ));
        }
        let m = Member {
            email,
            status,
            merge_fields: merge,
            created_at: now,
        };
        let out = member_json(&l.id, &hash, &m);
        l.members.insert(hash, m);
        Ok(http::json(StatusCode::OK, &out))
    })
}

pub(super) fn get_member(
    state: &SandboxState,
    account: &str,
    id: &str,
    hash: &str,
) -> Result<Response, Problem> {
    with_list(state, account, id, |l| {
        let key = if hash.contains('@') {
            subscriber_hash(hash)
        } else {
            hash.to_lowercase()
        };
        let m = l.members.get(&key).ok_or_else(Problem::not_found)?;
        Ok(http::json(StatusCode::OK, &member_json(&l.id, &key, m)))
    })
}

/// `PUT /lists/{id}/members/{md5(lowercased email)}`: insert with `status_if_new`, or update with `status`.
pub(super) fn upsert_member(
    state: &SandboxState,
    req: &Req,
    account: &str,
    id: &str,
    hash: &str,
) -> Result<Response, Problem> {
    let body = body_object(req)?;
    let now = state.clock.now_unix();
    with_list(state, account, id, |l| {
        let exists = l.members.contains_key(hash);
        let keys: &[&str] = if exists {
            &["status", "status_if_new"]
        } else {
            &["status_if_new", "status"]
        };
        let (email, status, merge) = read_member(&body, keys)?;
        if subscriber_hash(&email) != hash.to_lowercase() {
            return Err(Problem::invalid(
                "The subscriber hash in the path does not match the MD5 hash of the lower-cased email_address.",
            ));
        }
        let created_at = l.members.get(hash).map_or(now, |m| m.created_at);
        let m = Member {
            email,
            status,
            merge_fields: merge,
            created_at,
        };
        let out = member_json(&l.id, hash, &m);
        l.members.insert(hash.to_lowercase(), m);
        Ok(http::json(StatusCode::OK, &out))
    })
}

fn webhook_json(list_id: &str, w: &Webhook) -> Value {
    json!({"id": w.id, "url": w.url, "events": w.events, "sources": w.sources, "list_id": list_id})
}

pub(super) fn list_webhooks(
    state: &SandboxState,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    with_list(state, account, id, |l| {
        let hooks: Vec<Value> = l.webhooks.iter().map(|w| webhook_json(&l.id, w)).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({"webhooks": hooks, "list_id": l.id, "total_items": hooks.len()}),
        ))
    })
}

/// `POST /lists/{id}/webhooks {url, events, sources}`: Mailchimp first sends a GET to the URL and
/// refuses the webhook unless it answers 2xx.
pub(super) async fn create_webhook(
    state: &Arc<SandboxState>,
    req: &Req,
    account: &str,
    id: &str,
) -> Result<Response, Problem> {
    let body = body_object(req)?;
    with_list(state, account, id, |_| Ok(()))?;
    let url = body
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return Err(Problem::field("url", "Please provide a valid URL."));
    }
    if state.config.mailchimp.validate_webhook_url {
        let check =
            crate::webhooks::verify_subscription(crate::platform::Platform::Mailchimp, &url, "", 0)
                .await;
        if !check.is_ok_and(|c| c.passed) {
            return Err(Problem::field(
                "url",
                "The URL did not answer the validation GET with a 2xx status.",
            ));
        }
    }
    let flags = |v: Option<&Value>, keys: &[&str]| {
        let mut out = serde_json::Map::new();
        for k in keys {
            out.insert(
                (*k).into(),
                json!(
                    v.and_then(|o| o.get(*k))
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
            );
        }
        Value::Object(out)
    };
    let webhook = Webhook {
        id: state.token("", 10),
        url,
        events: flags(
            body.get("events"),
            &[
                "subscribe",
                "unsubscribe",
                "profile",
                "cleaned",
                "upemail",
                "campaign",
            ],
        ),
        sources: flags(body.get("sources"), &["user", "admin", "api"]),
    };
    with_list(state, account, id, |l| {
        let out = webhook_json(&l.id, &webhook);
        l.webhooks.push(webhook);
        Ok(http::json(StatusCode::OK, &out))
    })
}

pub(super) fn delete_webhook(
    state: &SandboxState,
    account: &str,
    id: &str,
    wid: &str,
) -> Result<Response, Problem> {
    with_list(state, account, id, |l| {
        let before = l.webhooks.len();
        l.webhooks.retain(|w| w.id != wid);
        if l.webhooks.len() == before {
            return Err(Problem::not_found());
        }
        Ok(http::empty(StatusCode::NO_CONTENT))
    })
}

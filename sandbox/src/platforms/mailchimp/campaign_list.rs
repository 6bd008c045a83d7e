//! `GET /campaigns` with the documented filters: `status`, `type`, `list_id`,
//! `since_create_time` / `before_create_time` and `since_send_time` / `before_send_time` (ISO 8601),
//! `sort_field` (`create_time`, `send_time`) with `sort_dir` (`ASC`, `DESC`), and `count` (10 by
//! default, at most 1000) / `offset` paging; `total_items` counts every match. There is no filter on
//! a campaign's title: a client looking for one pages through and reads `settings.title`.
//! Campaigns come in creation order unless sorted. `fields` is not applied: answers are whole.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::campaigns::campaign_json;
use super::errors::Problem;
use super::lists::paging;
use crate::clock;
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

const STATUSES: &[&str] = &["save", "paused", "schedule", "sending", "sent", "canceled"];

/// An ISO 8601 time filter, or Mailchimp's error for it.
fn time_filter(req: &Req, name: &str) -> Result<Option<i64>, Problem> {
    match req.q(name) {
        None | Some("") => Ok(None),
        Some(raw) => clock::parse_rfc3339(raw).map(Some).ok_or_else(|| {
            Problem::field(
                name,
                "This value should be an ISO 8601 date-time (2015-10-21T15:41:36+00:00).",
            )
        }),
    }
}

/// Whether `value` lies after `since` and before `before` (each bound optional; no value fails a bound).
fn within(value: Option<i64>, since: Option<i64>, before: Option<i64>) -> bool {
    match value {
        Some(v) => since.is_none_or(|s| v >= s) && before.is_none_or(|b| v <= b),
        None => since.is_none() && before.is_none(),
    }
}

/// `GET /campaigns?status&type&list_id&since_create_time&before_create_time&sort_field&sort_dir&count&offset`.
pub(super) fn list(state: &SandboxState, req: &Req, account: &str) -> Result<Response, Problem> {
    let (count, offset) = paging(req)?;
    let status = req.q("status").filter(|s| !s.is_empty());
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(Problem::field(
            "status",
            "Data presented is not one of the accepted values: save, paused, schedule, sending, sent.",
        ));
    }
    let kind = req.q("type").filter(|s| !s.is_empty());
    let list_id = req.q("list_id").filter(|s| !s.is_empty());
    let created = (
        time_filter(req, "since_create_time")?,
        time_filter(req, "before_create_time")?,
    );
    let sent = (
        time_filter(req, "since_send_time")?,
        time_filter(req, "before_send_time")?,
    );
    let sort = req.q("sort_field").filter(|s| !s.is_empty());
    if sort.is_some_and(|s| s != "create_time" && s != "send_time") {
        return Err(Problem::field(
            "sort_field",
            "Data presented is not one of the accepted values: create_time, send_time.",
        ));
    }
    let descending = match req.q("sort_dir").filter(|s| !s.is_empty()) {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => {
            return Err(Problem::field(
                "sort_dir",
                "Data presented is not one of the accepted values: ASC, DESC.",
            ));
        }
    };
    let now = state.clock.now_unix();
    let send_secs = state.config.mailchimp.send_duration_secs;
    let mc = lock(&state.mailchimp);
    let mut matches: Vec<_> = mc
        .campaigns
        .values()
        .filter(|c| c.account == account)
        .filter_map(|c| {
            let (effective, send_time) = c.effective_status(now, send_secs);
            let keep = status.is_none_or(|s| s == effective)
                && kind.is_none_or(|k| k == c.kind)
                && list_id.is_none_or(|l| l == c.list_id)
                && within(Some(c.created_at), created.0, created.1)
                && within(send_time, sent.0, sent.1);
            keep.then_some((c, send_time))
        })
        .collect();
    match sort {
        Some("send_time") => matches.sort_by_key(|(c, sent)| (*sent, c.web_id)),
        _ => matches.sort_by_key(|(c, _)| (c.created_at, c.web_id)),
    }
    if descending {
        matches.reverse();
    }
    let page: Vec<_> = matches
        .iter()
        .skip(offset)
        .take(count)
        .map(|(c, _)| campaign_json(&mc, c, now, send_secs))
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"campaigns": page, "total_items": matches.len(), "_links": []}),
    ))
}

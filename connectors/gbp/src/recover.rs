//! The local post an earlier attempt made when its answer was lost.
//!
//! `localPosts.create` takes no idempotency key and a local post has no field for a hidden
//! marker: everything in it is public. So a retry after a create attempt (see
//! [`postd_sdk::reconcile`]) lists the location's posts
//! (`GET .../localPosts?pageSize=100&pageToken`,
//! <https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts/list>)
//! and adopts one with the same summary and topic created within the attempt's window
//! ([`CreateAttempt::covers`] on `createTime`); the oldest when several match. Such a match is
//! adopted but never deleted: text alone cannot prove the post is this job's.

use postd_sdk::prelude::*;
use postd_sdk::reconcile::CreateAttempt;
use serde::Deserialize;
use serde_json::Value;

use crate::api;

/// Posts read per page (Google's maximum).
const PAGE_SIZE: u32 = 100;
/// Pages read at most. Google documents no order for the listing, so the window cannot end the
/// walk early; 500 posts is far more than a location keeps.
const MAX_PAGES: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    local_posts: Vec<Value>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// When `found` was created, if it is what creating `body` during `attempt` would have made.
fn made_by(found: &Value, body: &Value, attempt: &CreateAttempt) -> Option<i64> {
    let same = |field: &str| found.get(field) == body.get(field);
    if !same("summary") || !same("topicType") {
        return None;
    }
    let created = found
        .get("createTime")
        .and_then(Value::as_str)
        .and_then(postd_sdk::time::parse_rfc3339)?;
    attempt.covers(created).then_some(created)
}

/// The post creating `body` under `parent` (a location's `localPosts` URL) during `attempt`
/// made, if it made one.
pub fn earlier_post(
    parent: &str,
    body: &Value,
    attempt: &CreateAttempt,
    token: &str,
) -> Result<Option<Value>> {
    let posts = paging::collect(MAX_PAGES, |page_token: Option<&String>| {
        let mut request = http::Request::get(parent).query("pageSize", &PAGE_SIZE.to_string());
        if let Some(t) = page_token {
            request = request.query("pageToken", t);
        }
        let page: Page = api::send_json(request, token)?;
        Ok(paging::Page::by_token(
            page.local_posts,
            page.next_page_token,
        ))
    })?;
    // The earliest match: a later one would be another attempt's.
    Ok(posts
        .into_iter()
        .filter_map(|post| made_by(&post, body, attempt).map(|at| (at, post)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, post)| post))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_post_matches_by_summary_topic_and_creation_window() {
        // 2026-11-23T05:30:00Z
        let attempt = CreateAttempt::new(1_795_411_800, "");
        let body = json!({"languageCode": "en", "summary": "Open late", "topicType": "STANDARD"});
        let found = |summary: &str, topic: &str, at: &str| {
            json!({"name": "accounts/1/locations/2/localPosts/3", "summary": summary,
                   "topicType": topic, "createTime": at, "state": "LIVE"})
        };
        assert_eq!(
            made_by(
                &found("Open late", "STANDARD", "2026-11-23T05:30:02.5Z"),
                &body,
                &attempt
            ),
            Some(1_795_411_802)
        );
        for other in [
            found("Open early", "STANDARD", "2026-11-23T05:30:02Z"),
            found("Open late", "EVENT", "2026-11-23T05:30:02Z"),
            found("Open late", "STANDARD", "2026-11-22T05:30:02Z"),
            found("Open late", "STANDARD", "yesterday"),
        ] {
            assert_eq!(made_by(&other, &body, &attempt), None, "{other}");
        }
        let photo_only = json!({"topicType": "STANDARD", "createTime": "2026-11-23T05:31:00Z"});
        let photo_body = json!({"topicType": "STANDARD", "media": []});
        assert!(made_by(&photo_only, &photo_body, &attempt).is_some());
    }
}

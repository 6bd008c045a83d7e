//! Finding the Page post an earlier attempt of the same job made when its answer was lost.
//!
//! Meta may make a post and the answer still fail on the way back (a 502, a reset connection).
//! Graph has no idempotency key, so before each `POST /{page}/feed` the connector records a
//! recovery point with the attempt's time, and a retry carrying it looks for the post first:
//!
//! - a scheduled post in `GET /{page}/scheduled_posts`
//!   (<https://developers.facebook.com/docs/graph-api/reference/page/scheduled_posts/>), with the
//!   same text and `scheduled_publish_time`; scheduled posts are not in `/{page}/feed` until they
//!   are published, so when the time has come the feed is searched as well;
//! - an immediate post in `GET /{page}/feed`, with the same text, created since the attempt.
//!
//! Posts are matched on text and time only: the `link` field of Page posts is not readable in
//! current Graph versions.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::graph;
use crate::time::parse_graph_time;

/// Prefix of the recovery point recorded before a feed post: `fb-feed:<page>:<unix seconds>`.
pub const FEED_ATTEMPT: &str = "fb-feed:";

/// How far Meta's clock may be behind the host's when creation times are compared.
const CLOCK_SKEW_SECS: i64 = 300;

/// How far back a recovery point without a time (`fb-feed:<page>`) is searched.
const UNTIMED_WINDOW_SECS: i64 = 86_400;

/// Posts of the feed read, newest first; a retry comes minutes after its attempt.
const FEED_LIMIT: &str = "25";

/// The recovery point of an attempt to post on `page` at `at`.
pub fn point(page: &str, at: i64) -> String {
    format!("{FEED_ATTEMPT}{page}:{at}")
}

/// Whether `recovery_point` says an earlier attempt tried to post on `page`: `Some(time)`, with
/// the time when it has one.
pub fn attempted(recovery_point: Option<&str>, page: &str) -> Option<Option<i64>> {
    let rest = recovery_point?.strip_prefix(FEED_ATTEMPT)?;
    if rest == page {
        return Some(None);
    }
    let (p, at) = rest.rsplit_once(':')?;
    (p == page).then(|| at.parse::<i64>().ok())
}

/// What the lost post looked like.
pub struct Wanted<'a> {
    /// Its text, if it had one.
    pub message: Option<&'a str>,
    /// Its native schedule, Unix seconds.
    pub scheduled_for: Option<i64>,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    data: Vec<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    created_time: Option<String>,
    #[serde(default)]
    scheduled_publish_time: Option<Value>,
}

/// Unix seconds of a `scheduled_publish_time`, given as a number or a Graph time.
fn unix(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok().or_else(|| parse_graph_time(s)),
        _ => None,
    }
}

/// The post an attempt at `attempted_at` (unknown for old recovery points) made on `page`, if
/// Meta lists one like `wanted`.
pub fn find_earlier(
    page: &str,
    token: &str,
    wanted: &Wanted<'_>,
    attempted_at: Option<i64>,
    now: i64,
) -> Result<Option<String>> {
    let same_text = |p: &Listed| p.message.as_deref() == wanted.message;
    if let Some(at) = wanted.scheduled_for {
        let listing: Listing = graph::send_json(
            http::Request::get(graph::url(&[page, "scheduled_posts"]))
                .query("fields", "id,message,scheduled_publish_time,created_time")
                .query("limit", "100"),
            token,
        )?;
        let found = listing
            .data
            .into_iter()
            .find(|p| same_text(p) && p.scheduled_publish_time.as_ref().and_then(unix) == Some(at));
        if let Some(post) = found {
            return Ok(Some(post.id));
        }
        if at > now + CLOCK_SKEW_SECS {
            return Ok(None);
        }
        // Its time has come: Meta may have published it, into the feed.
    }
    let since = attempted_at.unwrap_or(now - UNTIMED_WINDOW_SECS) - CLOCK_SKEW_SECS;
    let feed: Listing = graph::send_json(
        http::Request::get(graph::url(&[page, "feed"]))
            .query("fields", "id,message,created_time")
            .query("limit", FEED_LIMIT),
        token,
    )?;
    Ok(feed
        .data
        .into_iter()
        .find(|p| {
            same_text(p)
                && p.created_time
                    .as_deref()
                    .and_then(parse_graph_time)
                    .is_some_and(|t| t >= since && t <= now + CLOCK_SKEW_SECS)
        })
        .map(|p| p.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_points_name_the_page_and_the_attempt_time() {
        let p = point("200", 1_700_000_000);
        assert_eq!(p, "fb-feed:200:1700000000");
        assert_eq!(attempted(Some(&p), "200"), Some(Some(1_700_000_000)));
        assert_eq!(attempted(Some(&p), "201"), None);
        assert_eq!(attempted(Some("fb-feed:200"), "200"), Some(None));
        assert_eq!(attempted(Some("fb-video:9"), "200"), None);
        assert_eq!(attempted(None, "200"), None);
    }

    #[test]
    fn schedule_times_read_as_numbers_or_graph_times() {
        assert_eq!(unix(&serde_json::json!(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(unix(&serde_json::json!("1700000000")), Some(1_700_000_000));
        assert_eq!(
            unix(&serde_json::json!("1970-01-01T00:01:00+0000")),
            Some(60)
        );
        assert_eq!(unix(&serde_json::json!(null)), None);
    }
}

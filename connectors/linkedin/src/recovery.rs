//! Recovery points, and finding the post a create whose answer was lost already made.
//!
//! LinkedIn takes no idempotency key on `POST /rest/posts`. When LinkedIn creates the post but the
//! answer is lost on the way back (a 502 from a proxy, a reset connection, a timeout), the call
//! looks like a passing failure and the host retries; creating again would post twice. So the
//! connector records a [`CreateAttempt`] as the job's recovery point just before each create (see
//! [`crate::publish::create`]); a retry that finds one looks for what the earlier attempt made with
//! the Posts API's author finder, `GET /rest/posts?author={urn}&q=author&sortBy=LAST_MODIFIED`
//! ("Find Posts by Authors",
//! <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>),
//! and adopts the earliest post that has the same commentary, was created within
//! [`CLOCK_SLACK_SECS`](postd_sdk::reconcile::CLOCK_SLACK_SECS) of the attempt, and (for a video)
//! carries the same video. Only when none is found does it create. A busy author may have posted
//! many times since the attempt, so the finder is read page by page (newest first) until the post
//! is found or a page reaches back [`LOOKBACK_SECS`] before the attempt (a post is modified no
//! earlier than it is created, so nothing later in the list can be newer; the bound assumes
//! LinkedIn's clock and the host's agree within it, and a post on the pages read still matches
//! within the wider slack); after [`LOOKUP_PAGES`] pages without either, the retry fails with
//! `create-unverified` rather than risk a second post. Each page is a request under the
//! connection's budget, so an author posting hundreds of times a minute makes such retries slow.
//!
//! Reading an author's posts takes `r_organization_social` for an organization (the connector asks
//! for it) and, for a member, `r_member_social`, which LinkedIn grants to approved partners only.
//! Without it the finder answers 403 and the retry fails with `create-unverified` rather than risk
//! a second public post: the member checks their profile and publishes again if nothing is there.

use postd_sdk::prelude::*;
use postd_sdk::reconcile::CreateAttempt;
use serde::Deserialize;
use serde_json::Value;

use crate::api;

/// Recovery point once the post exists: `li-post:<urn>`.
pub const POST: queue::PointKind = queue::PointKind::new("li-post:");
/// Recovery point once a video is uploaded and finalized: `li-video:<urn>`.
pub const VIDEO: queue::PointKind = queue::PointKind::new("li-video:");
/// Recovery point after LinkedIn answered a create with a refusal (a 4xx, or the host refused to
/// send it): nothing was made and nothing is pending.
pub const NOT_CREATED: &str = "li-not-created";
/// Posts per finder page (LinkedIn's most).
pub const LOOKUP_COUNT: u32 = 100;
/// Finder pages read at most: the author's 2,000 most recently modified posts.
pub const LOOKUP_PAGES: u32 = 20;
/// How far before the attempt the finder is read when the post is not found: a post made by the
/// attempt was modified after it, give or take the clocks' disagreement.
pub const LOOKBACK_SECS: i64 = 120;

/// What a job's recovery point says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// Nothing done yet (or a create was refused, with nothing pending).
    Start,
    /// The video is uploaded and finalized; no create attempted since.
    Video(String),
    /// A create was attempted and its answer never arrived. The marker is the video URN the post
    /// carries, empty for other posts.
    Attempted(CreateAttempt),
    /// The post exists.
    Post(String),
}

impl Point {
    /// Reads a recovery point (unknown ones count as a start).
    pub fn parse(point: Option<&str>) -> Point {
        let Some(point) = point else {
            return Point::Start;
        };
        if let Some(urn) = POST.id_in(point) {
            return Point::Post(urn.to_string());
        }
        if let Some(urn) = VIDEO.id_in(point) {
            return Point::Video(urn.to_string());
        }
        match CreateAttempt::parse(point) {
            Some(attempt) => Point::Attempted(attempt),
            None => Point::Start,
        }
    }

    /// The recovery point to record for a video that is ready, or for nothing pending.
    pub fn settled(video: Option<&str>) -> String {
        video.map_or_else(|| NOT_CREATED.to_string(), |v| VIDEO.point(v))
    }
}

/// One post of the author finder's answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    /// The post URN.
    pub id: String,
    /// Its commentary, as LinkedIn keeps it.
    #[serde(default)]
    pub commentary: String,
    /// Creation time, Unix milliseconds.
    #[serde(default)]
    pub created_at: i64,
    /// Last modification time, Unix milliseconds (the finder's order).
    #[serde(default)]
    pub last_modified_at: i64,
    /// `PUBLISHED`, `DRAFT`, ...
    #[serde(default)]
    pub lifecycle_state: Option<String>,
    /// What the post carries (`media.id` for a video).
    #[serde(default)]
    pub content: Value,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    elements: Vec<Found>,
}

fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_string()
}

/// Among the author's posts, the one `attempt` made: same commentary (as sent, escaped), created
/// within the attempt's window, published, and carrying the attempt's video when it had one. The
/// earliest such post wins.
pub fn pick<'a>(
    posts: &'a [Found],
    commentary: &str,
    attempt: &CreateAttempt,
) -> Option<&'a Found> {
    let wanted = normalized(commentary);
    posts
        .iter()
        .filter(|p| normalized(&p.commentary) == wanted)
        .filter(|p| attempt.covers(p.created_at.div_euclid(1000)))
        .filter(|p| {
            p.lifecycle_state
                .as_deref()
                .is_none_or(|s| s == "PUBLISHED")
        })
        .filter(|p| {
            attempt.marker.is_empty()
                || p.content.pointer("/media/id").and_then(Value::as_str)
                    == Some(attempt.marker.as_str())
        })
        .min_by_key(|p| p.created_at)
}

/// Looks for the post an earlier attempt made for `author` with `commentary` (as sent). Found, it
/// becomes the job's recovery point and its URN is returned.
pub fn adopt(
    author: &str,
    commentary: &str,
    attempt: &CreateAttempt,
    token: &str,
) -> Result<Option<String>> {
    let mut found = None;
    let mut passed_window = false;
    for page in 0..LOOKUP_PAGES {
        let call = http::Request::get(api::url("rest/posts"))
            .query("author", author)
            .query("q", "author")
            .query("count", &LOOKUP_COUNT.to_string())
            .query("start", &(page * LOOKUP_COUNT).to_string())
            .query("sortBy", "LAST_MODIFIED")
            .header("X-RestLi-Method", "FINDER");
        let page: Page = match api::send_json(call, token) {
            Ok(page) => page,
            Err(Error::PermissionMissing(_)) => {
                return Err(Error::platform(
                    "create-unverified",
                    format!(
                        "an earlier attempt to post as {author} may have succeeded, but LinkedIn does not let this connection read that author's posts to check (a member's posts need r_member_social); not posting again: check the profile and publish again if the post is missing"
                    ),
                ));
            }
            Err(other) => return Err(other),
        };
        found = pick(&page.elements, commentary, attempt).cloned();
        passed_window = page.elements.len() < LOOKUP_COUNT as usize
            || page
                .elements
                .last()
                .is_some_and(|p| p.last_modified_at.div_euclid(1000) < attempt.at - LOOKBACK_SECS);
        if found.is_some() || passed_window {
            break;
        }
    }
    let Some(found) = found else {
        if !passed_window {
            return Err(Error::platform(
                "create-unverified",
                format!(
                    "an earlier attempt to post as {author} may have succeeded, but {author} has posted more than {} times since, past what the connector reads to check; not posting again: check the profile and publish again if the post is missing",
                    LOOKUP_COUNT * LOOKUP_PAGES
                ),
            ));
        }
        log::info(
            "no post from the earlier attempt; creating",
            &[("author", author)],
        );
        return Ok(None);
    };
    POST.checkpoint(&found.id)?;
    log::info(
        "the earlier attempt made the post; reporting it",
        &[("post", &found.id)],
    );
    Ok(Some(found.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, commentary: &str, created_secs: i64) -> Found {
        Found {
            id: id.into(),
            commentary: commentary.into(),
            created_at: created_secs * 1000,
            last_modified_at: created_secs * 1000,
            lifecycle_state: Some("PUBLISHED".into()),
            content: Value::Null,
        }
    }

    #[test]
    fn recovery_points_round_trip() {
        assert_eq!(Point::parse(None), Point::Start);
        assert_eq!(
            Point::parse(Some("li-post:urn:li:share:1")),
            Point::Post("urn:li:share:1".into())
        );
        assert_eq!(
            Point::parse(Some("li-video:urn:li:video:2")),
            Point::Video("urn:li:video:2".into())
        );
        let attempt = CreateAttempt::new(1_000, "urn:li:video:2");
        assert_eq!(
            Point::parse(Some(&attempt.encode())),
            Point::Attempted(attempt)
        );
        assert_eq!(Point::parse(Some(NOT_CREATED)), Point::Start);
        assert_eq!(
            Point::parse(Some(&Point::settled(Some("urn:li:video:2")))),
            Point::Video("urn:li:video:2".into())
        );
    }

    #[test]
    fn the_earliest_post_with_the_same_text_in_the_window_is_picked() {
        let at = 1_800_000_000;
        let attempt = CreateAttempt::new(at, "");
        let posts = [
            found("urn:li:share:late", "Hello \\(world\\)", at + 3_600),
            found("urn:li:share:other", "Something else", at + 2),
            found("urn:li:share:mine", "Hello \\(world\\)\n", at + 1),
            found("urn:li:share:again", "Hello \\(world\\)", at + 5),
            found("urn:li:share:old", "Hello \\(world\\)", at - 86_400),
        ];
        assert_eq!(
            pick(&posts, "Hello \\(world\\)", &attempt).map(|p| p.id.as_str()),
            Some("urn:li:share:mine")
        );
        assert!(pick(&posts, "Nobody wrote this", &attempt).is_none());
        let mut draft = found("urn:li:share:draft", "Draft", at);
        draft.lifecycle_state = Some("DRAFT".into());
        assert!(pick(&[draft], "Draft", &attempt).is_none());
    }

    #[test]
    fn a_video_post_must_carry_the_attempts_video() {
        let at = 1_800_000_000;
        let attempt = CreateAttempt::new(at, "urn:li:video:1");
        let mut other = found("urn:li:share:a", "Clip", at);
        other.content = serde_json::json!({"media": {"id": "urn:li:video:9"}});
        let mut mine = found("urn:li:share:b", "Clip", at + 1);
        mine.content = serde_json::json!({"media": {"id": "urn:li:video:1"}});
        assert_eq!(
            pick(&[other.clone(), mine], "Clip", &attempt).map(|p| p.id.as_str()),
            Some("urn:li:share:b")
        );
        assert!(pick(&[other], "Clip", &attempt).is_none());
    }
}

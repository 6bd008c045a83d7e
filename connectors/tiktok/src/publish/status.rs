//! Status polling: `POST /v2/post/publish/status/fetch/` as `tt-status` continuations with
//! backoff, so no worker waits while TikTok processes (minutes) or moderates (up to hours).
//!
//! TikTok allows 30 status calls per minute per token; one job polls at most every 5 s (12 a
//! minute) and backs off to once a minute, and a `rate_limit_exceeded` is handed to the host,
//! which waits without spending an attempt. A webhook event about the publish (see
//! [`crate::webhooks`]) makes the host run the pending poll at once.

use postd_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::{self, scopes};

/// The continuation kind.
pub const TASK: &str = "tt-status";

/// Delays between polls while TikTok processes, in seconds; the last repeats.
pub const PROCESSING_BACKOFF_SECS: &[u64] = &[5, 10, 20, 30, 60];
/// Delays between polls while a completed public post waits for moderation; the last repeats.
pub const MODERATION_BACKOFF_SECS: &[u64] = &[30, 60, 120, 300];
/// How long a completed public post waits for its public id before the job completes with the
/// publish id (the `public-id-wait-secs` setting overrides it).
pub const DEFAULT_PUBLIC_ID_WAIT_SECS: u64 = 1800;

/// What `status/fetch` answers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Status {
    /// PROCESSING_UPLOAD, PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED.
    #[serde(default)]
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// The public post id(s), once moderation made the post public (TikTok's spelling).
    #[serde(default, rename = "publicaly_available_post_id")]
    pub public_post_ids: Vec<serde_json::Value>,
    /// Bytes TikTok holds of a FILE_UPLOAD.
    #[serde(default)]
    pub uploaded_bytes: Option<u64>,
}

/// `status/fetch` for `publish_id`.
pub fn fetch(token: &str, publish_id: &str) -> Result<Status> {
    let request = http::Request::post(api::url("v2/post/publish/status/fetch/"))
        .json(&serde_json::json!({ "publish_id": publish_id }))?;
    api::call_as(request, token, scopes::PUBLISH)
}

/// The state a poll carries from one continuation to the next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Poll {
    /// The publish.
    pub publish_id: String,
    /// Polls so far.
    pub polls: u32,
    /// A direct post that waits for a public post id (PUBLIC_TO_EVERYONE).
    pub wants_public_id: bool,
    /// The creator's `@username`, for the post's URL.
    pub username: String,
    /// When PUBLISH_COMPLETE was first seen (Unix seconds).
    #[serde(default)]
    pub completed_at: Option<i64>,
}

/// What one poll decides.
#[derive(Debug, Clone)]
pub enum Next {
    /// Poll again after this many seconds, saying what we wait for.
    Again(u64, String),
    /// Done.
    Done(Published),
}

fn backoff(table: &[u64], polls: u32) -> u64 {
    table[(polls as usize).min(table.len() - 1)]
}

/// Decides what a status answer means for the job; updates `poll` for the next round.
pub fn decide(poll: &mut Poll, status: &Status, now: i64, public_wait: u64) -> Result<Next> {
    poll.polls += 1;
    match status.status.as_str() {
        "PROCESSING_UPLOAD" | "PROCESSING_DOWNLOAD" => Ok(Next::Again(
            backoff(PROCESSING_BACKOFF_SECS, poll.polls - 1),
            format!("TikTok is processing the post ({})", status.status),
        )),
        "SEND_TO_USER_INBOX" => Ok(Next::Done(Published {
            post_id: poll.publish_id.clone(),
            url: None,
            scheduled_for: None,
        })),
        "PUBLISH_COMPLETE" => {
            let public = status.public_post_ids.iter().find_map(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            if let Some(id) = public {
                return Ok(Next::Done(Published {
                    url: Some(format!(
                        "https://www.tiktok.com/@{}/video/{id}",
                        poll.username
                    )),
                    post_id: id,
                    scheduled_for: None,
                }));
            }
            let completed_at = *poll.completed_at.get_or_insert(now);
            if poll.wants_public_id && now - completed_at < public_wait as i64 {
                let waited = poll.polls.saturating_sub(1);
                return Ok(Next::Again(
                    backoff(MODERATION_BACKOFF_SECS, waited),
                    "published; waiting for TikTok's moderation to make it public".into(),
                ));
            }
            // Not public (a private level, or moderation still running): the publish id is
            // the post's handle.
            Ok(Next::Done(Published {
                post_id: poll.publish_id.clone(),
                url: None,
                scheduled_for: None,
            }))
        }
        "FAILED" => Err(failed(status.fail_reason.as_deref().unwrap_or("unknown"))),
        other => Err(Error::platform(
            "unknown-status",
            format!("TikTok reported status `{other}` for the publish"),
        )),
    }
}

/// A FAILED publish: media TikTok refused is the input's fault; a removed authorization
/// revokes the connection; anything else is TikTok's verdict, shown as is.
pub fn failed(reason: &str) -> Error {
    let message = format!("TikTok failed the publish: {reason}");
    match reason {
        "file_format_check_failed"
        | "duration_check_failed"
        | "frame_rate_check_failed"
        | "picture_size_check_failed"
        | "video_pull_failed" => Error::invalid_input(message),
        "auth_removed" => Error::AuthRevoked(message),
        other => Error::platform(other, message),
    }
}

/// The `public-id-wait-secs` setting.
pub fn public_id_wait() -> u64 {
    vault::app_setting("public-id-wait-secs")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_PUBLIC_ID_WAIT_SECS)
}

/// The next poll, and what the job waits for.
pub fn schedule(poll: &Poll, delay_secs: u64, waiting_for: String) -> Result<PublishOutcome> {
    queue::continue_with(TASK, poll, delay_secs * 1000, waiting_for)
}

/// Runs one `tt-status` continuation.
pub fn handle(context: &TaskContext) -> Result<PublishOutcome> {
    let mut poll: Poll = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("bad {TASK} payload: {e}")))?;
    run(&mut poll)
}

/// Polls once and either finishes or schedules the next poll.
pub fn run(poll: &mut Poll) -> Result<PublishOutcome> {
    let status = fetch(&oauth::tokens::access_token()?, &poll.publish_id)?;
    after(poll, &status)
}

/// Finishes or schedules the next poll after `status` was read.
pub fn after(poll: &mut Poll, status: &Status) -> Result<PublishOutcome> {
    match decide(poll, status, http::now_unix(), public_id_wait())? {
        Next::Done(published) => Ok(PublishOutcome::Published(published)),
        Next::Again(delay, why) => schedule(poll, delay, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(wants_public_id: bool) -> Poll {
        Poll {
            publish_id: "v_pub_file~1".into(),
            polls: 0,
            wants_public_id,
            username: "creator".into(),
            completed_at: None,
        }
    }

    fn status(s: &str) -> Status {
        Status {
            status: s.into(),
            ..Status::default()
        }
    }

    #[test]
    fn processing_backs_off_to_a_minute() {
        let mut p = poll(false);
        let delays: Vec<u64> = (0..7)
            .map(
                |_| match decide(&mut p, &status("PROCESSING_UPLOAD"), 0, 600).unwrap() {
                    Next::Again(d, _) => d,
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert_eq!(delays, [5, 10, 20, 30, 60, 60, 60]);
        // At most 12 polls a minute per job: under TikTok's 30.
        assert!(PROCESSING_BACKOFF_SECS.iter().all(|d| *d >= 2));
    }

    #[test]
    fn a_public_post_waits_for_its_id_then_completes_with_it() {
        let mut p = poll(true);
        assert!(matches!(
            decide(&mut p, &status("PUBLISH_COMPLETE"), 1000, 600).unwrap(),
            Next::Again(30, _)
        ));
        let mut public = status("PUBLISH_COMPLETE");
        public.public_post_ids = vec![serde_json::json!(7400000000000000001u64)];
        match decide(&mut p, &public, 1060, 600).unwrap() {
            Next::Done(published) => {
                assert_eq!(published.post_id, "7400000000000000001");
                assert_eq!(
                    published.url.as_deref(),
                    Some("https://www.tiktok.com/@creator/video/7400000000000000001")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn private_posts_and_long_moderation_complete_with_the_publish_id() {
        let mut private = poll(false);
        assert!(matches!(
            decide(&mut private, &status("PUBLISH_COMPLETE"), 0, 600).unwrap(),
            Next::Done(p) if p.post_id == "v_pub_file~1"
        ));
        let mut public = poll(true);
        decide(&mut public, &status("PUBLISH_COMPLETE"), 1000, 600).unwrap();
        assert!(matches!(
            decide(&mut public, &status("PUBLISH_COMPLETE"), 1600, 600).unwrap(),
            Next::Done(p) if p.post_id == "v_pub_file~1"
        ));
        let mut draft = poll(false);
        assert!(matches!(
            decide(&mut draft, &status("SEND_TO_USER_INBOX"), 0, 600).unwrap(),
            Next::Done(_)
        ));
    }

    #[test]
    fn failures_name_their_reason() {
        let mut p = poll(false);
        let mut failed = status("FAILED");
        failed.fail_reason = Some("file_format_check_failed".into());
        assert!(
            matches!(decide(&mut p, &failed, 0, 600), Err(Error::InvalidInput(m)) if m.contains("file_format_check_failed"))
        );
        failed.fail_reason = Some("auth_removed".into());
        assert!(matches!(
            decide(&mut p, &failed, 0, 600),
            Err(Error::AuthRevoked(_))
        ));
        failed.fail_reason = Some("publish_cancelled".into());
        assert!(
            matches!(decide(&mut p, &failed, 0, 600), Err(Error::Platform(e)) if e.code == "publish_cancelled")
        );
    }
}

//! Facebook Page posts: text, link, images, video; native scheduling; a retry after a lost
//! answer (see [`crate::recovery`]); delete.

use postd_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::graph;
use crate::recovery::{self, Wanted};
use crate::{MAX_SCHEDULE_LEAD_SECS, MIN_SCHEDULE_LEAD_SECS};

/// Continuation that follows a Page video's processing.
pub const VIDEO_TASK: &str = "fb-video-status";

/// Wait between video status checks.
const VIDEO_POLL_MS: u64 = 15_000;
/// Status checks before a video that is still processing counts as a passing failure.
const MAX_VIDEO_POLLS: u32 = 240;

/// Recovery point of an uploaded video: `fb-video:<video id>`.
const VIDEO: queue::PointKind = queue::PointKind::new("fb-video:");

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Checks `scheduled_for` against Meta's window and returns it.
pub fn schedule_time(scheduled_for: Option<i64>, now: i64) -> Result<Option<i64>> {
    let Some(at) = scheduled_for else {
        return Ok(None);
    };
    let lead = at - now;
    if lead < MIN_SCHEDULE_LEAD_SECS as i64 {
        return Err(Error::invalid_input(format!(
            "Facebook schedules posts at least 10 minutes ahead; this one is {lead} s ahead"
        )));
    }
    if lead > MAX_SCHEDULE_LEAD_SECS as i64 {
        return Err(Error::invalid_input(format!(
            "Facebook schedules posts at most 75 days ahead; this one is {} days ahead",
            lead / 86_400
        )));
    }
    Ok(Some(at))
}

/// Publishes or schedules a Page post.
pub fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
    let page = post.account_id.clone();
    let token = graph::page_token(&page)?;
    let now = http::now_unix();
    let videos: Vec<&Media> = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Video)
        .collect();
    if !videos.is_empty() {
        if videos.len() > 1 || post.media.len() > 1 {
            return Err(Error::invalid_input(
                "a Facebook video post carries exactly one video and no images",
            ));
        }
        return video(&page, &token, &post, videos[0], now, &job);
    }
    if post.text.trim().is_empty() && post.link.is_none() && post.media.is_empty() {
        return Err(Error::invalid_input(
            "a Facebook post needs text, a link or an image",
        ));
    }
    let message = Some(post.text.as_str()).filter(|t| !t.trim().is_empty());
    if let Some(attempted_at) = recovery::attempted(job.recovery_point.as_deref(), &page) {
        let wanted = Wanted {
            message,
            scheduled_for: post.scheduled_for,
        };
        if let Some(post_id) = recovery::find_earlier(&page, &token, &wanted, attempted_at, now)? {
            log::info(
                "the earlier attempt made the post; not posting again",
                &[("post", &post_id)],
            );
            return Ok(published(post_id, post.scheduled_for));
        }
    }
    // Checked for what is about to be made: a retry that found its post may be past the window.
    let at = schedule_time(post.scheduled_for, now)?;
    let mut body = json!({});
    if message.is_some() {
        body["message"] = json!(post.text);
    }
    if let Some(link) = &post.link {
        body["link"] = json!(link);
    }
    if !post.media.is_empty() {
        let mut attached = Vec::new();
        for image in &post.media {
            let photo: Created = graph::send_json(
                http::Request::post(graph::url(&[&page, "photos"]))
                    .json(&json!({ "url": image.url, "published": false }))?,
                &token,
            )?;
            attached.push(json!({ "media_fbid": photo.id }));
        }
        body["attached_media"] = Value::Array(attached);
    }
    if let Some(at) = at {
        body["published"] = json!(false);
        body["scheduled_publish_time"] = json!(at);
    }
    // Recorded before the post is sent: should the answer be lost, the retry looks first.
    queue::checkpoint(&recovery::point(&page, http::now_unix()))?;
    let request = http::Request::post(graph::url(&[&page, "feed"])).json(&body)?;
    let created: Created = graph::send_json(request, &token)?;
    log::info("page post created", &[("post", &created.id)]);
    Ok(published(created.id, at))
}

fn published(post_id: String, scheduled_for: Option<i64>) -> PublishOutcome {
    PublishOutcome::Published(Published {
        url: Some(permalink(&post_id)),
        post_id,
        scheduled_for,
    })
}

/// `https://www.facebook.com/{page}/posts/{post}` for a `{page}_{post}` id.
fn permalink(post_id: &str) -> String {
    match post_id.split_once('_') {
        Some((page, post)) => format!("https://www.facebook.com/{page}/posts/{post}"),
        None => format!("https://www.facebook.com/{post_id}"),
    }
}

#[derive(Serialize, Deserialize)]
struct VideoTask {
    page: String,
    video: String,
    polls: u32,
    scheduled_for: Option<i64>,
}

fn video(
    page: &str,
    token: &str,
    post: &Post,
    media: &Media,
    now: i64,
    job: &JobContext,
) -> Result<PublishOutcome> {
    let mut at = post.scheduled_for;
    let resumed = VIDEO.of(job).map(str::to_string);
    let video = match resumed {
        Some(id) => id,
        None => {
            at = schedule_time(at, now)?;
            let mut body = json!({ "file_url": media.url, "description": post.text });
            if let Some(at) = at {
                body["published"] = json!(false);
                body["scheduled_publish_time"] = json!(at);
            }
            let created: Created = graph::send_json(
                http::Request::post(graph::url(&[page, "videos"])).json(&body)?,
                token,
            )?;
            VIDEO.checkpoint(&created.id)?;
            created.id
        }
    };
    let task = VideoTask {
        page: page.to_string(),
        video: video.clone(),
        polls: 0,
        scheduled_for: at,
    };
    let waiting_for = format!("waiting for Facebook to process video {video}");
    queue::continue_with(VIDEO_TASK, &task, VIDEO_POLL_MS, waiting_for)
}

#[derive(Deserialize)]
struct VideoNode {
    #[serde(default)]
    status: Option<VideoStatus>,
}

#[derive(Deserialize)]
struct VideoStatus {
    #[serde(default)]
    video_status: String,
}

/// One status check of an uploaded video: done, failed, or another check later.
pub fn handle_video_task(context: TaskContext) -> Result<PublishOutcome> {
    let mut task: VideoTask = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("malformed video task: {e}")))?;
    let token = graph::page_token(&task.page)?;
    let node: VideoNode = graph::send_json(
        http::Request::get(graph::url(&[&task.video])).query("fields", "status"),
        &token,
    )?;
    let status = node.status.map(|s| s.video_status).unwrap_or_default();
    match status.as_str() {
        "ready" => Ok(PublishOutcome::Published(Published {
            url: Some(format!(
                "https://www.facebook.com/{}/videos/{}",
                task.page, task.video
            )),
            post_id: task.video,
            scheduled_for: task.scheduled_for,
        })),
        "error" => Err(Error::invalid_input(format!(
            "Facebook could not process video {}",
            task.video
        ))),
        _ if task.polls >= MAX_VIDEO_POLLS => Err(Error::transient(format!(
            "video {} is still processing ({status})",
            task.video
        ))),
        _ => {
            task.polls += 1;
            let waiting_for = format!("video {} is {status}", task.video);
            queue::continue_with(VIDEO_TASK, &task, VIDEO_POLL_MS, waiting_for)
        }
    }
}

/// Deletes a Page post, photo or video with the Page's token.
pub fn delete(request: &DeleteRequest) -> Result<()> {
    let token = graph::page_token(&request.account_id)?;
    let answer: Value = graph::send_json(
        http::Request::delete(graph::url(&[&request.post_id])),
        &token,
    )?;
    // Documented as `{"success": true}` (unconfirmed): anything but an explicit false is success.
    if answer.get("success").and_then(Value::as_bool) == Some(false) {
        return Err(Error::platform("delete", "Meta answered success: false"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_outside_ten_minutes_to_75_days_are_refused_with_the_reason() {
        let now = 1_000_000;
        assert_eq!(schedule_time(None, now).ok(), Some(None));
        assert_eq!(
            schedule_time(Some(now + 600), now).ok(),
            Some(Some(now + 600))
        );
        assert_eq!(
            schedule_time(Some(now + 75 * 86_400), now).ok(),
            Some(Some(now + 75 * 86_400))
        );
        assert!(
            matches!(schedule_time(Some(now + 599), now), Err(Error::InvalidInput(why)) if why.contains("10 minutes"))
        );
        assert!(
            matches!(schedule_time(Some(now + 76 * 86_400), now), Err(Error::InvalidInput(why)) if why.contains("75 days"))
        );
    }

    #[test]
    fn permalinks_split_page_and_post() {
        assert_eq!(permalink("1_2"), "https://www.facebook.com/1/posts/2");
    }
}

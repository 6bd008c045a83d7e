//! Instagram publishing: quota check, container, status polls as continuations, `media_publish`.
//!
//! The container id is the job's recovery point (`ig-container:<id>`), recorded before the first
//! poll is enqueued; once published, the media id replaces it (`ig-media:<id>`). A retry or a
//! repeated continuation therefore resumes the container it already has, and a container whose
//! status is `PUBLISHED` is never published again.

use postd_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors;
use crate::graph;

/// Continuation that checks a container's status and publishes it once it is ready.
pub const POLL_TASK: &str = "ig-poll";
/// Continuation that holds a post until its scheduled time (Instagram cannot schedule).
pub const WAIT_TASK: &str = "ig-wait";

/// Most items in a carousel.
pub const MAX_CAROUSEL_ITEMS: u32 = 10;
/// Longest caption.
pub const MAX_CAPTION_CHARS: usize = 2_200;

/// Wait between status checks (Meta suggests polling about once a minute; the first check
/// comes sooner because images are usually ready within seconds).
const POLL_MS: u64 = 15_000;
/// Status checks before a container still `IN_PROGRESS` counts as a passing failure.
const MAX_POLLS: u32 = 120;
/// Longest single wait the host accepts is a day; longer waits are chained.
const MAX_WAIT_MS: u64 = 23 * 3_600_000;

const CONTAINER: queue::PointKind = queue::PointKind::new("ig-container:");
const MEDIA: queue::PointKind = queue::PointKind::new("ig-media:");

/// What to publish, carried between continuations (no secrets).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    ig: String,
    page: String,
    caption: String,
    /// (`image` | `video`, url) in order.
    items: Vec<(String, String)>,
    scheduled_for: Option<i64>,
    /// Set once the container exists.
    container: Option<String>,
    polls: u32,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Starts (or resumes) an Instagram post.
pub fn publish(post: Post, job: JobContext, page: &str) -> Result<PublishOutcome> {
    let plan = plan(&post, page)?;
    let token = graph::page_token(page)?;
    if let Some(media) = MEDIA.of(&job) {
        return published(media, &token);
    }
    if let Some(container) = CONTAINER.of(&job) {
        let plan = Plan {
            container: Some(container.to_string()),
            ..plan
        };
        return poll(plan, &token);
    }
    start(plan, &token)
}

fn plan(post: &Post, page: &str) -> Result<Plan> {
    if post.media.is_empty() {
        return Err(Error::invalid_input(
            "an Instagram post needs an image, a video or a carousel",
        ));
    }
    if post.media.len() > MAX_CAROUSEL_ITEMS as usize {
        return Err(Error::invalid_input(format!(
            "an Instagram carousel holds at most {MAX_CAROUSEL_ITEMS} items"
        )));
    }
    let mut caption = post.text.clone();
    if let Some(link) = &post.link {
        // Instagram captions do not link; the URL is kept as text.
        caption = format!("{caption}\n\n{link}");
    }
    if caption.chars().count() > MAX_CAPTION_CHARS {
        return Err(Error::invalid_input(format!(
            "an Instagram caption is at most {MAX_CAPTION_CHARS} characters"
        )));
    }
    Ok(Plan {
        ig: post.account_id.clone(),
        page: page.to_string(),
        caption,
        items: post
            .media
            .iter()
            .map(|m| {
                let kind = if m.kind == MediaKind::Video {
                    "video"
                } else {
                    "image"
                };
                (kind.to_string(), m.url.clone())
            })
            .collect(),
        scheduled_for: post.scheduled_for,
        container: None,
        polls: 0,
    })
}

/// Waits for the scheduled time, checks the quota, creates the container and enqueues the
/// first poll.
fn start(plan: Plan, token: &str) -> Result<PublishOutcome> {
    if let Some(at) = plan.scheduled_for {
        let wait = (at - http::now_unix()).max(0) as u64 * 1000;
        if wait > 0 {
            let waiting_for = format!("Instagram cannot schedule: holding the post until {at}");
            return queue::continue_with(WAIT_TASK, &plan, wait.min(MAX_WAIT_MS), waiting_for);
        }
    }
    check_quota(&plan.ig, token)?;
    let container = create_container(&plan, token)?;
    CONTAINER.checkpoint(&container)?;
    let plan = Plan {
        container: Some(container.clone()),
        ..plan
    };
    let waiting_for = format!("waiting for Instagram to process container {container}");
    queue::continue_with(POLL_TASK, &plan, POLL_MS, waiting_for)
}

#[derive(Deserialize)]
struct Limits {
    #[serde(default)]
    data: Vec<Limit>,
}

#[derive(Deserialize)]
struct Limit {
    #[serde(default)]
    quota_usage: u64,
    #[serde(default)]
    config: Option<LimitConfig>,
}

#[derive(Deserialize)]
struct LimitConfig {
    #[serde(default)]
    quota_total: u64,
}

/// Refuses to start when the 24-hour publishing quota is spent.
fn check_quota(ig: &str, token: &str) -> Result<()> {
    let limits: Limits = graph::send_json(
        http::Request::get(graph::url(&[ig, "content_publishing_limit"]))
            .query("fields", "quota_usage,config"),
        token,
    )?;
    if let Some(limit) = limits.data.first()
        && let Some(total) = limit.config.as_ref().map(|c| c.quota_total)
        && total > 0
        && limit.quota_usage >= total
    {
        return Err(Error::rate_limited(
            errors::IG_LIMIT_WAIT_MS,
            format!(
                "Instagram publishing quota spent ({}/{total} in 24 h)",
                limit.quota_usage
            ),
        ));
    }
    Ok(())
}

fn create_container(plan: &Plan, token: &str) -> Result<String> {
    let url = graph::url(&[&plan.ig, "media"]);
    let create = |body: Value| -> Result<String> {
        let created: Created =
            graph::send_json(http::Request::post(url.clone()).json(&body)?, token)?;
        Ok(created.id)
    };
    if let [(kind, media_url)] = plan.items.as_slice() {
        let body = if kind == "video" {
            json!({ "video_url": media_url, "media_type": "REELS", "caption": plan.caption })
        } else {
            json!({ "image_url": media_url, "caption": plan.caption })
        };
        return create(body);
    }
    let mut children = Vec::new();
    for (kind, media_url) in &plan.items {
        let body = if kind == "video" {
            json!({ "video_url": media_url, "media_type": "VIDEO", "is_carousel_item": true })
        } else {
            json!({ "image_url": media_url, "is_carousel_item": true })
        };
        children.push(create(body)?);
    }
    create(json!({ "media_type": "CAROUSEL", "children": children, "caption": plan.caption }))
}

#[derive(Deserialize)]
struct ContainerStatus {
    #[serde(default)]
    status_code: String,
    #[serde(default)]
    status: Option<String>,
}

/// Runs an `ig-poll` or `ig-wait` continuation.
pub fn handle_task(context: TaskContext) -> Result<PublishOutcome> {
    let plan: Plan = serde_json::from_str(&context.task.payload)
        .map_err(|e| Error::invalid_input(format!("malformed Instagram task: {e}")))?;
    let token = graph::page_token(&plan.page)?;
    if context.task.kind == WAIT_TASK {
        return start(plan, &token);
    }
    poll(plan, &token)
}

/// One status check: publish when `FINISHED`, check again later while `IN_PROGRESS`.
fn poll(mut plan: Plan, token: &str) -> Result<PublishOutcome> {
    let Some(container) = plan.container.clone() else {
        return start(plan, token);
    };
    let status: ContainerStatus = graph::send_json(
        http::Request::get(graph::url(&[&container])).query("fields", "status_code,status"),
        token,
    )?;
    match status.status_code.as_str() {
        "FINISHED" => publish_container(&plan, &container, token),
        "PUBLISHED" => already_published(&plan, &container, token),
        "IN_PROGRESS" if plan.polls < MAX_POLLS => {
            plan.polls += 1;
            let waiting_for = format!("container {container} is in progress");
            queue::continue_with(POLL_TASK, &plan, POLL_MS, waiting_for)
        }
        "IN_PROGRESS" => Err(Error::transient(format!(
            "container {container} is still in progress after {MAX_POLLS} checks"
        ))),
        "EXPIRED" => {
            // A retry must start a new container: forget this one.
            queue::checkpoint(&format!("ig-expired:{container}"))?;
            Err(Error::transient(format!(
                "container {container} expired before publishing"
            )))
        }
        other => Err(Error::invalid_input(format!(
            "Instagram could not process the media (container {container}: {other} {})",
            status.status.unwrap_or_default()
        ))),
    }
}

fn publish_container(plan: &Plan, container: &str, token: &str) -> Result<PublishOutcome> {
    let request = http::Request::post(graph::url(&[&plan.ig, "media_publish"]))
        .query("creation_id", container);
    match graph::send_json::<Created>(request, token) {
        Ok(media) => {
            MEDIA.checkpoint(&media.id)?;
            log::info("instagram media published", &[("media", &media.id)]);
            published(&media.id, token)
        }
        // 9007 "media not ready": check again later rather than fail.
        Err(Error::Platform(p)) if p.code.starts_with("9007") => {
            let mut next = plan.clone();
            next.polls += 1;
            let waiting_for = format!("container {container} is not ready yet");
            queue::continue_with(POLL_TASK, &next, POLL_MS, waiting_for)
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct MediaList {
    #[serde(default)]
    data: Vec<MediaItem>,
}

#[derive(Deserialize)]
struct MediaItem {
    id: String,
    #[serde(default)]
    caption: Option<String>,
}

/// The container was published by an earlier attempt whose answer was lost: find its media
/// among the account's latest instead of publishing again.
fn already_published(plan: &Plan, container: &str, token: &str) -> Result<PublishOutcome> {
    let list: MediaList = graph::send_json(
        http::Request::get(graph::url(&[&plan.ig, "media"]))
            .query("fields", "id,caption,timestamp")
            .query("limit", "10"),
        token,
    )?;
    let media = list
        .data
        .into_iter()
        .find(|m| m.caption.as_deref().unwrap_or("") == plan.caption)
        .ok_or_else(|| {
            Error::platform(
                "published-elsewhere",
                format!("container {container} is published but its media was not found"),
            )
        })?;
    MEDIA.checkpoint(&media.id)?;
    published(&media.id, token)
}

#[derive(Deserialize)]
struct Permalink {
    #[serde(default)]
    permalink: Option<String>,
}

/// The published media with its permalink. Instagram posts go live when published, so
/// `scheduled-for` is never set.
fn published(media: &str, token: &str) -> Result<PublishOutcome> {
    let link: Permalink = graph::send_json(
        http::Request::get(graph::url(&[media])).query("fields", "permalink"),
        token,
    )?;
    Ok(PublishOutcome::Published(Published {
        post_id: media.to_string(),
        url: link.permalink,
        scheduled_for: None,
    }))
}

//! Audiences, and campaigns as posts: create, set content, send or schedule, unschedule, delete.

use postd_sdk::prelude::*;
use postd_sdk::reconcile::{self, CreateAttempt};
use serde::Deserialize;
use serde_json::json;

use crate::client::{self, Credential};
use crate::{MAX_SUBJECT_CHARS, recover, time};

/// Most images one campaign embeds.
pub const MAX_IMAGES: u32 = 10;

/// Audiences fetched per page (Mailchimp allows up to 1000).
const PAGE_SIZE: usize = 100;
/// At most this many pages of audiences (10,000 audiences) are read.
const MAX_PAGES: usize = 100;

#[derive(Deserialize)]
struct Lists {
    #[serde(default)]
    lists: Vec<List>,
    #[serde(default)]
    total_items: usize,
}

#[derive(Deserialize)]
struct List {
    id: String,
    name: String,
}

/// Every audience of the connection, following `offset` paging.
pub fn list_audiences() -> Result<Vec<Account>> {
    audiences(&Credential::load()?)
}

/// Every audience `credential` opens.
pub fn audiences(credential: &Credential) -> Result<Vec<Account>> {
    let lists = paging::collect(MAX_PAGES, |offset: Option<&usize>| {
        let offset = offset.copied().unwrap_or(0);
        let page: Lists = client::send_json(
            credential
                .get("/lists")
                .query("count", &PAGE_SIZE.to_string())
                .query("offset", &offset.to_string())
                .query("fields", "lists.id,lists.name,total_items"),
        )?;
        Ok(paging::Page::by_offset(
            page.lists,
            offset,
            page.total_items,
        ))
    })?;
    Ok(lists
        .into_iter()
        .map(|l| Account {
            id: l.id,
            name: l.name,
            kind: "audience".into(),
            parent_id: None,
        })
        .collect())
}

/// A campaign as Mailchimp describes it.
#[derive(Deserialize)]
pub struct Campaign {
    /// Campaign id.
    pub id: String,
    /// `save`, `paused`, `schedule`, `sending`, `sent`, `canceled`.
    #[serde(default)]
    pub status: String,
    /// Public archive URL.
    #[serde(default)]
    pub archive_url: Option<String>,
}

/// What a post becomes on Mailchimp, checked before anything is sent.
struct Draft {
    kind: &'static str,
    settings: serde_json::Value,
    content: serde_json::Value,
    schedule_at: Option<i64>,
}

/// The campaign for `post`; its title ends with `marker`, so a retry can find it.
fn draft(post: &Post, marker: &str) -> Result<Draft> {
    if post.text.trim().is_empty() {
        return Err(Error::invalid_input("a campaign needs text"));
    }
    if post.media.iter().any(|m| m.kind == MediaKind::Video) {
        return Err(Error::invalid_input(
            "Mailchimp campaigns cannot carry video; link to it instead",
        ));
    }
    if post.media.len() > MAX_IMAGES as usize {
        return Err(Error::invalid_input(format!(
            "a campaign embeds at most {MAX_IMAGES} images"
        )));
    }
    let kind = match post.option("campaign-type").unwrap_or("regular") {
        "regular" => "regular",
        "plaintext" => "plaintext",
        other => {
            return Err(Error::invalid_input(format!(
                "campaign-type `{other}` is not regular or plaintext"
            )));
        }
    };
    let subject = post
        .option("subject")
        .map(str::to_string)
        .unwrap_or_else(|| first_line(&post.text));
    if subject.chars().count() > MAX_SUBJECT_CHARS as usize {
        return Err(Error::invalid_input(format!(
            "the subject line is longer than {MAX_SUBJECT_CHARS} characters"
        )));
    }
    let from_name = post
        .option("from-name")
        .map(str::to_string)
        .or_else(|| vault::app_setting("from-name"))
        .ok_or_else(|| Error::invalid_input("a campaign needs a `from-name` option"))?;
    let reply_to = post
        .option("reply-to")
        .map(str::to_string)
        .or_else(|| vault::app_setting("reply-to"))
        .ok_or_else(|| Error::invalid_input("a campaign needs a `reply-to` option"))?;
    if !reply_to.contains('@') {
        return Err(Error::invalid_input("`reply-to` is not an email address"));
    }
    let mut settings = json!({
        "subject_line": subject,
        "from_name": from_name,
        "reply_to": reply_to,
        "title": format!("{} {marker}", post.option("title").unwrap_or(&subject)),
    });
    if let Some(preview) = post.option("preview-text") {
        settings["preview_text"] = json!(preview);
    }
    let content = if kind == "plaintext" {
        json!({ "plain_text": plain_text(post) })
    } else {
        json!({ "html": html(post) })
    };
    Ok(Draft {
        kind,
        settings,
        content,
        schedule_at: post.scheduled_for.map(time::round_up_to_quarter_hour),
    })
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.trim()
        .chars()
        .take(MAX_SUBJECT_CHARS as usize)
        .collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The post as HTML: one paragraph per blank-line-separated block, then images, then the link.
fn html(post: &Post) -> String {
    let mut out = String::new();
    for block in post.text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        out.push_str("<p>");
        out.push_str(&escape(block.trim()).replace('\n', "<br>"));
        out.push_str("</p>\n");
    }
    for media in &post.media {
        let alt = media.alt_text.as_deref().unwrap_or("");
        out.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\" style=\"max-width:100%\"></p>\n",
            escape(&media.url),
            escape(alt)
        ));
    }
    if let Some(link) = &post.link {
        out.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(link)));
    }
    out
}

fn plain_text(post: &Post) -> String {
    let mut out = post.text.clone();
    for media in &post.media {
        out.push_str("\n\n");
        out.push_str(&media.url);
    }
    if let Some(link) = &post.link {
        out.push_str("\n\n");
        out.push_str(link);
    }
    out
}

fn campaign_path(id: &str) -> String {
    format!("/campaigns/{}", http::encode(id))
}

/// Creates, fills and sends (or schedules) a campaign, following
/// [`postd_sdk::reconcile`]: a create attempt is checkpointed before `POST /campaigns` and the
/// campaign id as soon as it exists, so a retry resumes that campaign, or finds the one a create
/// whose answer was lost made (see [`recover`]), and never sends a second one.
pub fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
    let marker = reconcile::job_marker(&job);
    let draft = draft(&post, &marker)?;
    let credential = Credential::load()?;
    let existing = match job.recovery_point.as_deref() {
        None => None,
        Some(point) => match CreateAttempt::parse(point) {
            Some(attempt) => {
                let found = recover::earlier_campaign(&credential, &post.account_id, &attempt)?;
                if let Some(campaign) = &found {
                    queue::checkpoint(&campaign.id)?;
                }
                found
            }
            None => resume(&credential, point)?,
        },
    };
    let campaign = match existing {
        Some(campaign) if !matches!(campaign.status.as_str(), "save" | "paused") => {
            // Already sent or scheduled by an earlier attempt: report it, send nothing.
            log::info(
                "campaign already sent or scheduled",
                &[("campaign", &campaign.id)],
            );
            return Ok(published(campaign, draft.schedule_at));
        }
        Some(campaign) => campaign,
        None => {
            let body = json!({
                "type": draft.kind,
                "recipients": { "list_id": post.account_id },
                "settings": draft.settings,
            });
            CreateAttempt::record(marker)?;
            let created: Campaign = client::send_json(credential.post("/campaigns").json(&body)?)?;
            queue::checkpoint(&created.id)?;
            created
        }
    };
    let path = campaign_path(&campaign.id);
    client::send(
        credential
            .put(&format!("{path}/content"))
            .json(&draft.content)?,
    )?;
    let now = http::now_unix();
    match draft.schedule_at {
        Some(at) if at > now => {
            let body = json!({ "schedule_time": time::iso8601_utc(at) });
            client::send(
                credential
                    .post(&format!("{path}/actions/schedule"))
                    .json(&body)?,
            )?;
            log::info("campaign scheduled", &[("campaign", &campaign.id)]);
            Ok(published(campaign, Some(at)))
        }
        _ => {
            client::send(credential.post(&format!("{path}/actions/send")))?;
            log::info("campaign sent", &[("campaign", &campaign.id)]);
            Ok(published(campaign, None))
        }
    }
}

/// The campaign an earlier attempt created, if it still exists.
fn resume(credential: &Credential, id: &str) -> Result<Option<Campaign>> {
    match client::send_json::<Campaign>(credential.get(&campaign_path(id))) {
        Ok(campaign) => Ok(Some(campaign)),
        Err(Error::InvalidInput(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn published(campaign: Campaign, scheduled_for: Option<i64>) -> PublishOutcome {
    PublishOutcome::Published(Published {
        post_id: campaign.id,
        url: campaign.archive_url.filter(|u| !u.is_empty()),
        scheduled_for,
    })
}

/// Deletes a campaign, unscheduling it first when it is scheduled.
pub fn delete(id: &str) -> Result<()> {
    let credential = Credential::load()?;
    let path = campaign_path(id);
    let campaign: Campaign = client::send_json(credential.get(&path))?;
    if campaign.status == "schedule" {
        client::send(credential.post(&format!("{path}/actions/unschedule")))?;
    }
    client::send(credential.delete(&path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str) -> Post {
        Post {
            account_id: "list".into(),
            text: text.into(),
            link: Some("https://example.com/?a=1&b=2".into()),
            media: vec![],
            scheduled_for: None,
            options: vec![],
        }
    }

    #[test]
    fn html_escapes_text_and_keeps_paragraphs() {
        let html = html(&post("Hello <b>&\n friends\n\nSecond"));
        assert!(html.contains("<p>Hello &lt;b&gt;&amp;<br> friends</p>"));
        assert!(html.contains("<p>Second</p>"));
        assert!(html.contains("href=\"https://example.com/?a=1&amp;b=2\""));
    }

    #[test]
    fn subject_defaults_to_the_first_line() {
        assert_eq!(first_line("\n  Big news  \nmore"), "Big news");
    }
}

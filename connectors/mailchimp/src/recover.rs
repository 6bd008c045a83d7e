//! The campaign an earlier attempt made when its answer was lost.
//!
//! `POST /campaigns` takes no idempotency key, so a create whose answer is lost (a 502 or a reset
//! after Mailchimp saved the draft) would, retried blindly, leave a second draft. Every campaign's
//! title carries the job's marker ([`postd_sdk::reconcile::job_marker`]): the title is the
//! campaign's internal name, shown in the account's campaign list and never to recipients, and
//! Mailchimp keeps it as sent. A retry after a create attempt lists the audience's campaigns made
//! since the attempt (`GET /campaigns?list_id&since_create_time&sort_field=create_time`, see
//! <https://mailchimp.com/developer/marketing/api/campaigns/list-campaigns/>; Mailchimp has no
//! title filter, so the titles are read page by page) and keeps what carries the marker:
//!
//! - one already scheduled or sent is reported, and nothing is sent again;
//! - else the oldest draft is adopted and filled and sent as if just created;
//! - any other draft carrying the marker (two lost answers in a row) is deleted
//!   (`DELETE /campaigns/{id}`), so no stray draft stays behind. Only drafts (`save`) are deleted.

use postd_sdk::prelude::*;
use postd_sdk::reconcile::CreateAttempt;
use serde::Deserialize;

use crate::campaigns::Campaign;
use crate::client::{self, Credential};
use crate::time;

/// Campaigns read per page (Mailchimp allows up to 1000).
const PAGE_SIZE: usize = 100;
/// Pages read at most: far more campaigns than one audience gets in the window.
const MAX_PAGES: usize = 10;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    campaigns: Vec<Listed>,
    #[serde(default)]
    total_items: usize,
}

/// A campaign as listed: its id, status and title.
#[derive(Debug, Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    archive_url: Option<String>,
    #[serde(default)]
    settings: Settings,
}

#[derive(Debug, Default, Deserialize)]
struct Settings {
    #[serde(default)]
    title: String,
}

/// What to do with the campaigns carrying an attempt's marker (oldest first).
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    keep: Option<usize>,
    delete: Vec<usize>,
}

/// Keeps one already acted on (not a draft) if any, else the oldest draft; deletes the other
/// drafts.
fn plan(statuses: &[&str]) -> Plan {
    let keep = statuses
        .iter()
        .position(|s| *s != "save")
        .or_else(|| (!statuses.is_empty()).then_some(0));
    let delete = (0..statuses.len())
        .filter(|i| Some(*i) != keep && statuses[*i] == "save")
        .collect();
    Plan { keep, delete }
}

/// The campaign `attempt` made in audience `list_id`, if it made one; strays deleted.
pub fn earlier_campaign(
    credential: &Credential,
    list_id: &str,
    attempt: &CreateAttempt,
) -> Result<Option<Campaign>> {
    if attempt.marker.is_empty() {
        return Ok(None);
    }
    let mut marked: Vec<Listed> = paging::collect(MAX_PAGES, |offset: Option<&usize>| {
        let offset = offset.copied().unwrap_or(0);
        let page: Page = client::send_json(
            credential
                .get("/campaigns")
                .query("list_id", list_id)
                .query("since_create_time", &time::iso8601_utc(attempt.since()))
                .query("sort_field", "create_time")
                .query("sort_dir", "ASC")
                .query("count", &PAGE_SIZE.to_string())
                .query("offset", &offset.to_string()),
        )?;
        Ok(paging::Page::by_offset(
            page.campaigns,
            offset,
            page.total_items,
        ))
    })?
    .into_iter()
    .filter(|c| c.settings.title.contains(&attempt.marker))
    .collect();
    let statuses: Vec<&str> = marked.iter().map(|c| c.status.as_str()).collect();
    let plan = plan(&statuses);
    for i in &plan.delete {
        let id = &marked[*i].id;
        match client::send(credential.delete(&format!("/campaigns/{}", http::encode(id)))) {
            Ok(_) => log::info("stray draft campaign deleted", &[("campaign", id)]),
            // Already gone: nothing left to clean.
            Err(Error::InvalidInput(why)) if why.contains("Not Found") => {}
            Err(other) => return Err(other),
        }
    }
    Ok(plan.keep.map(|i| {
        let found = marked.swap_remove(i);
        log::info(
            "campaign made by an earlier attempt adopted",
            &[("campaign", &found.id), ("status", &found.status)],
        );
        Campaign {
            id: found.id,
            status: found.status,
            archive_url: found.archive_url,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_draft_is_kept_and_other_drafts_deleted() {
        assert_eq!(
            plan(&[]),
            Plan {
                keep: None,
                delete: vec![]
            }
        );
        assert_eq!(
            plan(&["save"]),
            Plan {
                keep: Some(0),
                delete: vec![]
            }
        );
        assert_eq!(
            plan(&["save", "save", "save"]),
            Plan {
                keep: Some(0),
                delete: vec![1, 2]
            }
        );
    }

    #[test]
    fn a_campaign_already_sent_is_kept_and_never_deleted() {
        assert_eq!(
            plan(&["save", "sent", "save"]),
            Plan {
                keep: Some(1),
                delete: vec![0, 2]
            }
        );
        assert_eq!(
            plan(&["schedule", "sending"]),
            Plan {
                keep: Some(0),
                delete: vec![]
            }
        );
    }
}

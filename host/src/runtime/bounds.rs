//! Size caps on what a connector answers, applied before anything it returned is stored, served
//! or acted on.
//!
//! A connector's answer crosses into host memory, the database and API responses. Identifiers,
//! names, URLs and lists that exceed their cap make the call fail with `answer-too-large`
//! (cutting an id or a URL would store a wrong one); free text — error messages, reasons, the
//! in-progress note, health messages — is cut at its cap instead, since a shortened message is
//! still true. A webhook delivery may yield a bounded number of events of bounded size, so a
//! small unauthenticated request cannot grow into megabytes of stored events.

use super::invoke::Answer;
use super::wit::connector::{
    Account, ConnectionInfo, HealthReport, Metric, PluginManifest, PublishOutcome, WebhookEvent,
    WebhookResponse,
};
use super::wit::types::ConnectorError;

/// Longest identifier (post, account, event, external id, kind, recovery point), in bytes.
pub const MAX_ID_BYTES: usize = 1024;
/// Longest name shown to people, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest URL, in bytes.
pub const MAX_URL_BYTES: usize = 8 << 10;
/// Longest free text (messages, reasons), in bytes; longer text is cut.
pub const MAX_TEXT_BYTES: usize = 4 << 10;
/// Most accounts one `list-accounts` may answer.
pub const MAX_ACCOUNTS: usize = 5_000;
/// Most metrics one `analytics` may answer.
pub const MAX_METRICS: usize = 1_000;
/// Most scopes in a manifest, connection or health report.
pub const MAX_SCOPES: usize = 256;
/// Most events one webhook delivery may yield.
pub const MAX_EVENTS_PER_DELIVERY: usize = 100;
/// Largest event (id, kind, ids and payload together), in bytes.
pub const MAX_EVENT_BYTES: usize = 256 << 10;
/// Largest webhook challenge answer body, in bytes.
pub const MAX_CHALLENGE_BODY_BYTES: usize = 64 << 10;

/// The first field of an answer that is over its cap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {size} (at most {limit})")]
pub struct Oversized {
    /// Which field (`published.post-id`, `accounts`, `events[3]`).
    pub field: String,
    /// Its size: bytes or entries.
    pub size: usize,
    /// The cap.
    pub limit: usize,
}

fn check(field: &str, size: usize, limit: usize) -> Result<(), Oversized> {
    if size > limit {
        return Err(Oversized {
            field: field.to_string(),
            size,
            limit,
        });
    }
    Ok(())
}

fn id(field: &str, value: &str) -> Result<(), Oversized> {
    check(field, value.len(), MAX_ID_BYTES)
}

fn cut(text: &mut String) {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

fn scopes(field: &str, scopes: &[String]) -> Result<(), Oversized> {
    check(field, scopes.len(), MAX_SCOPES)?;
    scopes.iter().try_for_each(|s| id(field, s))
}

/// Checks `answer` against the caps, cutting free text that is too long.
pub fn bound(answer: &mut Answer) -> Result<(), Oversized> {
    if let Some(error) = answer.error_mut() {
        return bound_error(error);
    }
    match answer {
        Answer::Manifest(manifest) => bound_manifest(manifest),
        Answer::AuthorizeUrl(Ok(url)) => check("authorize-url", url.len(), MAX_URL_BYTES),
        Answer::CompleteAuth(Ok(info)) => bound_connection(info),
        Answer::ListAccounts(Ok(accounts)) => bound_accounts(accounts),
        Answer::Publish(Ok(outcome)) | Answer::HandleTask(Ok(outcome)) => bound_outcome(outcome),
        Answer::Analytics(Ok(metrics)) => bound_metrics(metrics),
        Answer::Health(Ok(report)) => bound_health(report),
        Answer::WebhookChallenge(Ok(Some(response))) => bound_challenge(response),
        Answer::VerifyWebhook(Ok(events)) => bound_events(events),
        // Token expiries, deletions and an absent challenge answer carry nothing to cap; the
        // error cases were bounded above.
        _ => Ok(()),
    }
}

fn bound_error(error: &mut ConnectorError) -> Result<(), Oversized> {
    match error {
        ConnectorError::RateLimited(info) => cut(&mut info.reason),
        ConnectorError::AuthExpired(why)
        | ConnectorError::AuthRevoked(why)
        | ConnectorError::InvalidInput(why)
        | ConnectorError::NotSupported(why)
        | ConnectorError::Transient(why) => cut(why),
        ConnectorError::PermissionMissing(missing) => scopes("permission-missing", missing)?,
        ConnectorError::Platform(platform) => {
            id("platform-error.code", &platform.code)?;
            cut(&mut platform.message);
        }
    }
    Ok(())
}

fn bound_manifest(manifest: &mut PluginManifest) -> Result<(), Oversized> {
    id("manifest.id", &manifest.id)?;
    check(
        "manifest.display-name",
        manifest.display_name.len(),
        MAX_NAME_BYTES,
    )?;
    id("manifest.version", &manifest.version)?;
    id("manifest.sdk-version", &manifest.sdk_version)?;
    scopes("manifest.scopes", &manifest.scopes)
}

fn bound_connection(info: &mut ConnectionInfo) -> Result<(), Oversized> {
    id("connection.external-id", &info.external_id)?;
    check(
        "connection.display-name",
        info.display_name.len(),
        MAX_NAME_BYTES,
    )?;
    scopes("connection.scopes", &info.scopes)
}

fn bound_accounts(accounts: &[Account]) -> Result<(), Oversized> {
    check("accounts", accounts.len(), MAX_ACCOUNTS)?;
    for account in accounts {
        id("account.id", &account.id)?;
        check("account.name", account.name.len(), MAX_NAME_BYTES)?;
        id("account.kind", &account.kind)?;
        if let Some(parent) = &account.parent_id {
            id("account.parent-id", parent)?;
        }
    }
    Ok(())
}

fn bound_outcome(outcome: &mut PublishOutcome) -> Result<(), Oversized> {
    match outcome {
        PublishOutcome::Published(published) => {
            id("published.post-id", &published.post_id)?;
            if let Some(url) = &published.url {
                check("published.url", url.len(), MAX_URL_BYTES)?;
            }
        }
        PublishOutcome::InProgress(progress) => cut(&mut progress.waiting_for),
    }
    Ok(())
}

fn bound_metrics(metrics: &[Metric]) -> Result<(), Oversized> {
    check("metrics", metrics.len(), MAX_METRICS)?;
    metrics.iter().try_for_each(|m| id("metric.name", &m.name))
}

fn bound_health(report: &mut HealthReport) -> Result<(), Oversized> {
    id("health.external-id", &report.external_id)?;
    scopes("health.scopes", &report.scopes)?;
    cut(&mut report.message);
    Ok(())
}

fn bound_challenge(response: &WebhookResponse) -> Result<(), Oversized> {
    check(
        "webhook-response.body",
        response.body.len(),
        MAX_CHALLENGE_BODY_BYTES,
    )?;
    let headers: usize = response
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    check("webhook-response.headers", headers, MAX_TEXT_BYTES)
}

fn bound_events(events: &[WebhookEvent]) -> Result<(), Oversized> {
    check("events", events.len(), MAX_EVENTS_PER_DELIVERY)?;
    for (i, event) in events.iter().enumerate() {
        id("event.id", &event.id)?;
        id("event.kind", &event.kind)?;
        for value in [&event.external_account_id, &event.recovery_point]
            .into_iter()
            .flatten()
        {
            id("event.account-or-recovery-point", value)?;
        }
        let size = event.id.len()
            + event.kind.len()
            + event.external_account_id.as_ref().map_or(0, String::len)
            + event.recovery_point.as_ref().map_or(0, String::len)
            + event.payload.len();
        check(&format!("events[{i}]"), size, MAX_EVENT_BYTES)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::wit::connector::Published;
    use crate::runtime::wit::types::PlatformError;

    #[test]
    fn an_oversized_post_id_fails_the_answer() {
        let mut answer = Answer::Publish(Ok(PublishOutcome::Published(Published {
            post_id: "x".repeat(MAX_ID_BYTES + 1),
            url: None,
            scheduled_for: None,
        })));
        let error = bound(&mut answer).unwrap_err();
        assert_eq!(error.field, "published.post-id");
        assert_eq!(error.limit, MAX_ID_BYTES);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let mut answer = Answer::Publish(Err(ConnectorError::Platform(PlatformError {
            code: "190".into(),
            message: "é".repeat(MAX_TEXT_BYTES),
        })));
        bound(&mut answer).unwrap();
        let Answer::Publish(Err(ConnectorError::Platform(e))) = answer else {
            unreachable!()
        };
        assert!(e.message.len() <= MAX_TEXT_BYTES);
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn a_delivery_yields_a_bounded_number_of_events() {
        let event = WebhookEvent {
            id: "e".into(),
            kind: "k".into(),
            external_account_id: None,
            recovery_point: None,
            payload: "{}".into(),
        };
        let mut answer = Answer::VerifyWebhook(Ok(vec![event.clone(); MAX_EVENTS_PER_DELIVERY]));
        bound(&mut answer).unwrap();
        let mut answer =
            Answer::VerifyWebhook(Ok(vec![event.clone(); MAX_EVENTS_PER_DELIVERY + 1]));
        assert_eq!(bound(&mut answer).unwrap_err().field, "events");
        let big = WebhookEvent {
            payload: "x".repeat(MAX_EVENT_BYTES),
            ..event
        };
        let mut answer = Answer::VerifyWebhook(Ok(vec![big]));
        assert_eq!(bound(&mut answer).unwrap_err().field, "events[0]");
    }
}

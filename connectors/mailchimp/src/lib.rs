//! The Mailchimp connector (Marketing API v3).
//!
//! An account is an audience (`GET /lists`); a post is a campaign: `POST /campaigns`, then
//! `PUT /campaigns/{id}/content`, then `actions/send` or `actions/schedule`. Mailchimp schedules
//! only on the quarter hour, so a scheduled post is moved to the next :00, :15, :30 or :45 at or
//! after the requested time, and `published.scheduled-for` reports the time that was used.
//! Deleting a scheduled campaign unschedules it first. Reports are the analytics; `/ping` is the
//! health check. The campaign body is HTML built from the post: escaped paragraphs, then each
//! image as an `<img>`, then the link (or the same as plain text for `plaintext` campaigns).
//! Mailchimp cannot carry video.
//!
//! # Connections
//!
//! - API key (`complete-auth` with an `api-key` parameter): `<32 hex>-<dc>`, where `<dc>` is the
//!   data centre. A key of any other shape is refused as invalid input before anything is sent.
//! - OAuth (`authorize-url`, then `complete-auth` with `code`): the token never expires; its data
//!   centre comes from `GET {login}/metadata`.
//!
//! Neither expires, so `refresh` only reports "no expiry".
//!
//! # Configuration
//!
//! | Kind | Name | Default | Meaning |
//! | --- | --- | --- | --- |
//! | setting | `api-base-url` | `https://{dc}.api.mailchimp.com/3.0` | API base; `{dc}` is replaced by the connection's data centre |
//! | setting | `auth-base-url` (formerly `login-base-url`) | `https://login.mailchimp.com/oauth2` | OAuth authorize, token and metadata endpoints |
//! | setting | `from-name`, `reply-to` | none | campaign sender when a post does not say |
//! | setting | `client-id` | none | OAuth client id (OAuth connections only) |
//! | secret | `client-secret` | none | OAuth client secret (OAuth connections only) |
//! | setting | `webhook-url` | none | the host's public webhook URL for this plugin; when set (with `webhook-key`), `complete-auth` registers it on every audience |
//! | secret | `webhook-key` | none | derives each account's webhook URL secret; without it webhooks are refused |
//!
//! The API base is always built from the template and the data centre; the `api_endpoint` the
//! metadata call names is not followed, so a token answer can never steer requests elsewhere.
//!
//! Connection vault entries: `api-key` or `access-token`, and `dc`.
//!
//! # Post options
//!
//! `subject` (default: the post's first line), `title`, `from-name`, `reply-to`,
//! `campaign-type` (`regular`, the default, or `plaintext`), `preview-text`. The campaign's title
//! (default: the subject) ends with the job's marker, `[postd <job id>]`.
//!
//! # Retries
//!
//! Mailchimp takes no idempotency key on `POST /campaigns`
//! (<https://mailchimp.com/developer/marketing/api/campaigns/add-campaign/>), so the connector
//! follows [`postd_sdk::reconcile`]: it checkpoints a create attempt before the create and the
//! campaign id right after it. A retry with an id resumes that campaign (an already sent or
//! scheduled one is reported, never sent again). A retry after an attempt whose answer was lost
//! lists the audience's campaigns made since the attempt
//! (<https://mailchimp.com/developer/marketing/api/campaigns/list-campaigns/>), adopts the one
//! whose title carries the job's marker, deletes any second draft carrying it
//! (<https://mailchimp.com/developer/marketing/api/campaigns/delete-campaign/>), and creates only
//! when none exists. The title is the campaign's internal name: recipients never see it.
//!
//! # Concurrency
//!
//! Mailchimp allows 10 simultaneous connections per key. The connector sends one request at a
//! time within a call, and the host enforces the rest: the manifest's rate budget (10 requests a
//! second per connection) and `limits = { max_concurrency = 10 }` in `plugins.toml`. That cap
//! counts the plugin's calls across all keys, so it is stricter than Mailchimp's per-key limit;
//! a "Too Many Requests" that still happens (the key used elsewhere too) is rate-limited for
//! five seconds.
//!
//! # Webhooks
//!
//! Mailchimp does not sign webhooks, so the callback URL carries a secret:
//! `{webhook-url}?account=<account id>&token=<secret>`, where the secret is the hex
//! HMAC-SHA256 of the account id under the operator's `webhook-key`. Each connected account
//! (the connection's external id) thus has its own unguessable URL, `verify-webhook` needs no
//! connection (it recomputes the secret and compares in constant time), and rotating
//! `webhook-key` invalidates every URL at once. A verified event names the account as its
//! `external-account-id`, which is how the host finds the connection. `complete-auth` registers
//! the URL on every audience when `webhook-url` is configured (events from users and admins,
//! not from API calls; a URL Mailchimp refuses is logged and skipped, and the connection still
//! succeeds); `webhook-challenge` answers Mailchimp's GET check with 200. Events are
//! form-encoded (`type=subscribe&data[email]=...`) and come back as JSON; Mailchimp has no
//! event id, so the id is the SHA-256 of the raw body (a retried delivery repeats it exactly).

#![deny(missing_docs)]

mod auth;
mod campaigns;
mod client;
mod errors;
mod recover;
mod reports;
mod time;
mod webhooks;

use postd_sdk::prelude::*;

/// The connector type registered with the host.
pub struct Mailchimp;

/// Longest subject line Mailchimp accepts, in characters.
pub const MAX_SUBJECT_CHARS: u32 = 150;

/// The latest schedule the connector accepts, in seconds from now (Mailchimp documents none).
pub const MAX_SCHEDULE_LEAD_SECS: u64 = 365 * 86_400;

impl Connector for Mailchimp {
    const OAUTH: Option<oauth::App> = Some(auth::OAUTH);

    fn manifest() -> Manifest {
        Manifest::new(
            "mailchimp",
            "Mailchimp",
            env!("CARGO_PKG_VERSION"),
            AuthKind::ApiKey,
        )
        .with_capabilities(
            Capabilities::TEXT
                | Capabilities::LINK
                | Capabilities::IMAGE
                | Capabilities::NATIVE_SCHEDULING
                | Capabilities::DELETE
                | Capabilities::ANALYTICS
                | Capabilities::WEBHOOKS,
        )
        .with_limits(ContentLimits {
            // Campaign bodies have no documented length limit; the subject is checked on its own.
            max_text_chars: None,
            max_media_count: Some(campaigns::MAX_IMAGES),
            max_image_bytes: None,
            max_video_bytes: None,
            max_video_seconds: None,
        })
        // "10 simultaneous connections per user" and the design seed's 10 requests per second.
        .with_rate_budget(10, 1)
        .with_schedule_window(0, MAX_SCHEDULE_LEAD_SECS)
        .with_oauth(&auth::OAUTH)
        .with_setting(
            "api-base-url",
            false,
            "Marketing API base URL; `{dc}` is the account's data center",
        )
        .with_setting(
            "from-name",
            false,
            "campaign sender name when the post names none",
        )
        .with_setting(
            "reply-to",
            false,
            "campaign reply-to address when the post names none",
        )
        .with_setting(
            "webhook-url",
            false,
            "this host's public webhook URL, registered per audience",
        )
        .with_secret(
            webhooks::WEBHOOK_KEY,
            false,
            "the secret path segment of registered webhooks",
        )
    }

    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        auth::complete_auth(callback)
    }

    fn refresh() -> Result<TokenExpiry> {
        // Keys and OAuth tokens never expire: nothing to do but confirm one is stored.
        client::Credential::load()?;
        Ok(TokenExpiry {
            expires_at: None,
            refresh_expires_at: None,
        })
    }

    fn list_accounts() -> Result<Vec<Account>> {
        campaigns::list_audiences()
    }

    fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
        campaigns::publish(post, job)
    }

    fn delete_post(request: DeleteRequest) -> Result<()> {
        campaigns::delete(&request.post_id)
    }

    fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
        reports::analytics(request)
    }

    fn health() -> Result<HealthReport> {
        auth::health()
    }

    fn webhook_challenge(request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        Ok(webhooks::challenge(&request))
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&request)
    }

    fn handle_task(_context: TaskContext) -> Result<PublishOutcome> {
        Err(Error::not_supported(
            "Mailchimp campaigns publish in one call; there are no continuations",
        ))
    }
}

#[cfg(target_arch = "wasm32")]
register_connector!(Mailchimp);

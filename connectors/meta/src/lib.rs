//! The Meta connector: Facebook Pages and Instagram professional accounts over the Graph API.
//!
//! # Connections
//!
//! OAuth through the Facebook login dialog. `complete-auth` exchanges the code for a short-lived
//! user token, exchanges that for a long-lived one (about 60 days), reads the Pages the user
//! manages with their Page tokens (`/me/accounts`, following the `after` cursor) and stores each
//! Page token in the vault. Meta issues no refresh token: `refresh` re-exchanges the long-lived
//! token while it is still valid (and re-reads the Page tokens); once it has expired it answers
//! `auth-expired` and the user must reconnect.
//!
//! Accounts are the Pages (`kind = "page"`) and the Instagram professional accounts linked to them
//! (`kind = "instagram"`, `parent-id` = the Page).
//!
//! # Publishing
//!
//! - Pages: text and link posts (`/{page}/feed`), images (each uploaded unpublished to
//!   `/{page}/photos`, then attached to one feed post) and a video (`/{page}/videos`, then its
//!   processing is followed through queue continuations). Native scheduling from 10 minutes to
//!   75 days ahead (`published=false` + `scheduled_publish_time`); outside that window the post is
//!   refused as invalid input with the reason. Before each feed post the connector records a
//!   recovery point, so that when a retry meets Meta's 506 "duplicate" it can recognise the post
//!   its earlier attempt created and report that one instead of failing or posting again.
//! - Instagram: an image, a reel (one video) or a carousel (2 to 10 items). The publishing quota
//!   is checked first; then a container is created, its id recorded as the recovery point, and
//!   its processing followed by `ig-poll` continuations (never a blocking wait) until it can be
//!   published with `media_publish`. A retry carrying the container id resumes that container,
//!   and a container already `PUBLISHED` is never published again. Instagram has no native
//!   scheduling: a post for an Instagram account that arrives with a future `scheduled-for`
//!   waits in `ig-wait` continuations until its time.
//!
//! # Configuration
//!
//! | Kind | Name | Default | Meaning |
//! | --- | --- | --- | --- |
//! | setting | `graph-version` | `v27.0` ([`versions::DEFAULT_GRAPH_VERSION`]) | the Graph API version every call names |
//! | setting | `api-base-url` (formerly `graph-base-url`) | `https://graph.facebook.com` | Graph API root; a version ending it is used when `graph-version` is unset |
//! | setting | `auth-url` (formerly `dialog-url`) | `https://www.facebook.com/{version}/dialog/oauth` | the login dialog; `{version}` is replaced by the version |
//! | setting | `client-id` | required for OAuth | the Meta app id |
//! | secret | `client-secret` | required | the app secret: token exchange, webhook signatures, `signed_request` |
//! | secret | `webhook-verify-token` | none | the `hub.verify_token` of webhook subscriptions |
//!
//! Meta retires each Graph API version about two years after its successor appears
//! ([`versions::GRAPH_VERSIONS`]). `health` warns in its message from 90 days before the
//! configured version's end and fails (invalid input naming the version) once it has passed;
//! a call Meta refuses for the version (code 2635) is a platform error naming it.
//!
//! # Analytics
//!
//! Pages (daily, over the range), Page posts, Instagram media and Instagram accounts; the metrics
//! each supports are [`insights::supported_metrics`] (and the defaults
//! [`insights::default_metrics`]). Any other metric, including the Page metrics Meta retired in
//! 2025, is refused as invalid input naming the supported ones.
//!
//! Connection vault entries: `access-token` (long-lived user token), `access-token-expires-at`,
//! `page-token:<page id>` (one per Page), `ig-page:<instagram id>` (the Page an Instagram
//! account belongs to) and `ig-accounts` (their ids, comma-separated).
//!
//! # Errors
//!
//! Graph error codes, not HTTP statuses, decide (see [`errors`]): 1 and 2 pass; 4, 17, 32, 613,
//! 80001 and 368/1390008 are rate limits, waiting `estimated_time_to_regain_access` from
//! `X-Business-Use-Case-Usage` when Meta says; 190 is `auth-expired` for subcode 463 and
//! `auth-revoked` otherwise; 10 and 200-299 are missing permissions; 2635 (a retired version)
//! names the version.
//!
//! # Webhooks
//!
//! `webhook-challenge` answers `hub.mode=subscribe` when `hub.verify_token` matches (compared in
//! constant time). `verify-webhook` checks `X-Hub-Signature-256` over the raw body with the app
//! secret, and deauthorization / data-deletion callbacks by their `signed_request` (kind
//! `deauthorize`, or `data_deletion` when the callback URL ends in `data-deletion` or carries
//! `?callback=data-deletion`). Meta sends no event ids: a change's id is the entry id, its time
//! and a digest of the change, so a redelivery repeats it.

#![deny(missing_docs)]

mod accounts;
pub mod errors;
mod graph;
pub mod insights;
mod instagram;
mod oauth;
mod publish;
mod recovery;
mod time;
pub mod versions;
mod webhooks;

pub use insights::{InsightsTarget, supported_metrics};

use postd_sdk::prelude::*;

/// The connector type registered with the host.
pub struct Meta;

/// Scopes asked for by default: Pages, then Instagram.
pub const SCOPES: &[&str] = &[
    "pages_show_list",
    "business_management",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
];

/// Longest Facebook post text; Instagram captions are held to [`instagram::MAX_CAPTION_CHARS`].
pub const MAX_TEXT_CHARS: u32 = 63_206;

/// Refresh a week before the long-lived token expires.
pub const REFRESH_BEFORE_EXPIRY_SECS: u64 = 7 * 86_400;

/// Earliest native schedule, in seconds from now.
pub const MIN_SCHEDULE_LEAD_SECS: u64 = 10 * 60;
/// Latest native schedule, in seconds from now.
pub const MAX_SCHEDULE_LEAD_SECS: u64 = 75 * 86_400;

impl Connector for Meta {
    const TASKS: &'static [(&'static str, TaskHandler)] = &[
        (instagram::POLL_TASK, instagram::handle_task),
        (instagram::WAIT_TASK, instagram::handle_task),
        (publish::VIDEO_TASK, publish::handle_video_task),
    ];

    fn manifest() -> Manifest {
        Manifest::new(
            "meta",
            "Meta (Facebook Pages and Instagram)",
            env!("CARGO_PKG_VERSION"),
            AuthKind::Oauth2,
        )
        .with_scopes(SCOPES)
        .with_capabilities(
            Capabilities::TEXT
                | Capabilities::LINK
                | Capabilities::IMAGE
                | Capabilities::VIDEO
                | Capabilities::CAROUSEL
                | Capabilities::NATIVE_SCHEDULING
                | Capabilities::DELETE
                | Capabilities::ANALYTICS
                | Capabilities::WEBHOOKS,
        )
        .with_limits(ContentLimits {
            max_text_chars: Some(MAX_TEXT_CHARS),
            max_media_count: Some(instagram::MAX_CAROUSEL_ITEMS),
            // Facebook refuses photos over 4 MB (subcode 1366046); Instagram allows 8 MB.
            max_image_bytes: Some(4 * 1024 * 1024),
            // Instagram reels: up to 1 GB and 15 minutes.
            max_video_bytes: Some(1024 * 1024 * 1024),
            max_video_seconds: Some(15 * 60),
        })
        // The design seed's 3,500 calls per hour per token.
        .with_rate_budget(3_500, 3_600)
        .with_refresh_before_expiry(REFRESH_BEFORE_EXPIRY_SECS)
        .with_schedule_window(MIN_SCHEDULE_LEAD_SECS, MAX_SCHEDULE_LEAD_SECS)
        .with_setting(
            "api-base-url",
            false,
            "Graph API and token endpoint (default https://graph.facebook.com)",
        )
        .with_oauth(&oauth::OAUTH)
        .with_setting(
            "graph-version",
            false,
            "the Graph API version (default: the newest this connector knows)",
        )
        .with_secret(
            "webhook-verify-token",
            false,
            "the token Meta's webhook subscription challenge must echo",
        )
    }

    fn authorize_url(request: AuthorizeRequest) -> Result<String> {
        oauth::authorize_url(request)
    }

    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        oauth::complete_auth(callback)
    }

    fn refresh() -> Result<TokenExpiry> {
        oauth::refresh()
    }

    fn list_accounts() -> Result<Vec<Account>> {
        accounts::sync()
    }

    fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
        match accounts::kind_of(&post.account_id)? {
            accounts::Kind::Page => publish::publish(post, job),
            accounts::Kind::Instagram { page } => instagram::publish(post, job, &page),
        }
    }

    fn delete_post(request: DeleteRequest) -> Result<()> {
        match accounts::kind_of(&request.account_id)? {
            accounts::Kind::Page => publish::delete(&request),
            accounts::Kind::Instagram { .. } => Err(Error::not_supported(
                "Instagram media cannot be deleted through the Graph API",
            )),
        }
    }

    fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
        insights::analytics(request)
    }

    fn health() -> Result<HealthReport> {
        oauth::health()
    }

    fn webhook_challenge(request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        webhooks::challenge(&request)
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&request)
    }
}

#[cfg(target_arch = "wasm32")]
register_connector!(Meta);

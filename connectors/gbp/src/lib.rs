//! The Google Business Profile connector: the locations of the user's business accounts and
//! their local posts.
//!
//! # Connections
//!
//! Google OAuth 2.0 with offline access (`access_type=offline&prompt=consent`), scope
//! `business.manage` (plus `openid email profile`). Access tokens live about an hour; the
//! manifest asks the host to refresh 5 minutes before expiry, so a connection in use is renewed
//! every ~55 minutes. Google sends a refresh token on consent only: a refresh keeps the stored
//! one (an answer without one, or with an empty one, never replaces it). `invalid_grant`
//! (revoked, or a "Testing" app's 7-day refresh token) is `auth-revoked`: only a reconnect helps.
//! The connection is named after the first business account, and `health` calls the accounts
//! endpoint.
//!
//! Accounts (`list-accounts`): every location of every business account, following
//! `nextPageToken` on both listings; one connection reaches many locations. An account id is the
//! location's resource name `accounts/{a}/locations/{l}` (kind `location`, parent the business
//! account `accounts/{a}`).
//!
//! # Publishing
//!
//! Local posts (`POST /v4/accounts/{a}/locations/{l}/localPosts`) of topic STANDARD, EVENT,
//! OFFER or ALERT, built from the post and its options (see [`posts`]), with Google's rules
//! checked before sending: `event` for EVENT and OFFER, no call-to-action url for CALL, no call
//! to action on offers, at most 1,500 characters and one photo or video (by URL: Google fetches
//! it). Google takes no idempotency key on create, so the connector follows
//! [`postd_sdk::reconcile`]: a create attempt (with its time) is the job's recovery point just
//! before the create, the new post's name right after it. A retry after an attempt whose answer
//! was lost (a 502 or a reset after Google made the post) lists the location's posts
//! (<https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts/list>)
//! and adopts the one with the same summary and topic created around the attempt instead of
//! posting twice (see [`recover`]); with none, it creates. `LIVE` is published; `PROCESSING` is
//! followed by `gbp-post-state` continuations until `LIVE`; `REJECTED` fails with the reason.
//! No native scheduling: the host holds scheduled jobs. Edits go through `publish` with the
//! `edit-post` option (`PATCH ?updateMask=summary`; Google allows 10 edits a minute per
//! profile, and `RESOURCE_EXHAUSTED` waits a minute); `delete-post` deletes.
//!
//! # Analytics
//!
//! Daily performance metrics of a location (see [`insights`]).
//!
//! # Webhooks
//!
//! None: Business Profile notifications (reviews, questions, Google updates) come through
//! Cloud Pub/Sub, not signed webhooks. The manifest leaves out the `webhooks` capability and
//! `webhook-challenge` / `verify-webhook` answer `not-supported`, saying so.
//!
//! # Configuration
//!
//! | Kind | Name | Default | Meaning |
//! | --- | --- | --- | --- |
//! | setting | `auth-url` (formerly `authorize-url`) | `https://accounts.google.com/o/oauth2/v2/auth` | consent screen |
//! | setting | `token-base-url` (formerly `oauth-base-url`) | `https://oauth2.googleapis.com` | `/token` |
//! | setting | `accounts-base-url` | `https://mybusinessaccountmanagement.googleapis.com` | accounts |
//! | setting | `information-base-url` | `https://mybusinessbusinessinformation.googleapis.com` | locations |
//! | setting | `posts-base-url` | `https://mybusiness.googleapis.com` | local posts |
//! | setting | `performance-base-url` | `https://businessprofileperformance.googleapis.com` | metrics |
//! | setting | `locations-page-size` | 100 | locations per listing page |
//! | setting | `client-id` | required | the Google OAuth client id |
//! | secret | `client-secret` | required | the Google OAuth client secret |
//!
//! Connection vault entries: `access-token`, `refresh-token`, `scopes`. Errors: see [`api`].

#![deny(missing_docs)]

pub mod api;
mod auth;
pub mod insights;
pub mod locations;
pub mod posts;
pub mod recover;

use postd_sdk::prelude::*;

/// The connector type registered with the host.
pub struct Gbp;

/// Scopes asked for by default.
pub const SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/business.manage",
    "openid",
    "email",
    "profile",
];

/// Refresh 5 minutes before the hour-long access token expires.
pub const REFRESH_BEFORE_EXPIRY_SECS: u64 = 5 * 60;

/// Why there are no webhooks.
const NO_WEBHOOKS: &str = "Google Business Profile notifications come through Cloud Pub/Sub, not signed webhooks; not supported yet";

impl Connector for Gbp {
    const OAUTH: Option<oauth::App> = Some(auth::OAUTH);
    const TASKS: &'static [(&'static str, TaskHandler)] =
        &[(posts::STATE_TASK, posts::handle_task)];

    fn manifest() -> Manifest {
        Manifest::new(
            "gbp",
            "Google Business Profile",
            env!("CARGO_PKG_VERSION"),
            AuthKind::Oauth2,
        )
        .with_scopes(SCOPES)
        .with_capabilities(
            Capabilities::TEXT
                | Capabilities::LINK
                | Capabilities::IMAGE
                | Capabilities::VIDEO
                | Capabilities::EDIT
                | Capabilities::DELETE
                | Capabilities::ANALYTICS,
        )
        .with_limits(ContentLimits {
            max_text_chars: Some(posts::MAX_SUMMARY_CHARS),
            max_media_count: Some(1),
            max_image_bytes: Some(5 * 1024 * 1024),
            max_video_bytes: Some(75 * 1024 * 1024),
            max_video_seconds: Some(30),
        })
        // The design seed's 100 calls per 60 s per token.
        .with_rate_budget(100, 60)
        .with_refresh_before_expiry(REFRESH_BEFORE_EXPIRY_SECS)
        .with_oauth(&auth::OAUTH)
        .with_setting(
            "accounts-base-url",
            false,
            &format!(
                "Account Management API (default {})",
                api::defaults::ACCOUNTS_BASE
            ),
        )
        .with_setting(
            "information-base-url",
            false,
            &format!(
                "Business Information API (default {})",
                api::defaults::INFORMATION_BASE
            ),
        )
        .with_setting(
            "posts-base-url",
            false,
            &format!(
                "My Business v4, local posts (default {})",
                api::defaults::POSTS_BASE
            ),
        )
        .with_setting(
            "performance-base-url",
            false,
            &format!(
                "Business Profile Performance API (default {})",
                api::defaults::PERFORMANCE_BASE
            ),
        )
        .with_setting(
            "locations-page-size",
            false,
            "locations read per page (default 100)",
        )
    }

    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        auth::complete_auth(callback)
    }

    fn list_accounts() -> Result<Vec<Account>> {
        locations::list()
    }

    fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
        posts::publish(post, job)
    }

    fn delete_post(request: DeleteRequest) -> Result<()> {
        posts::delete(&request)
    }

    fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
        insights::analytics(request)
    }

    fn health() -> Result<HealthReport> {
        auth::health()
    }

    fn webhook_challenge(request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        let _ = request;
        Err(Error::not_supported(NO_WEBHOOKS))
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Vec<WebhookEvent>> {
        let _ = request;
        Err(Error::not_supported(NO_WEBHOOKS))
    }
}

#[cfg(target_arch = "wasm32")]
register_connector!(Gbp);

//! The TikTok connector: the Content Posting API v2 for one creator per connection.
//!
//! # Connections
//!
//! OAuth v2 with the app's `client_key` and comma-separated scopes. `complete-auth` exchanges
//! the code at `/v2/oauth/token/`, stores the tokens and reads the creator from `/v2/user/info/`.
//! Token lifetimes come from each answer's `expires_in` and `refresh_expires_in` (TikTok's
//! documentation says 24 h / 365 days in one version and 2 h / 180 days in another). Refresh
//! tokens rotate: every refresh answers a new one and retires the old, so the new pair is stored
//! in the same call (the host commits a call's vault writes together) and the host's
//! per-connection refresh lock keeps two refreshes from sending the same refresh token. The
//! manifest asks for a refresh 15 minutes before expiry; `access_token_invalid` is auth-expired,
//! so the host refreshes and retries.
//!
//! The connection posts as its creator: `list-accounts` answers one account (kind `creator`,
//! id the `open_id`).
//!
//! # Publishing
//!
//! See [`publish`]: `creator_info` before every direct post with the privacy level checked
//! against the creator's options; one video (FILE_UPLOAD in chunks read from the media URL
//! through the `http` import, or PULL_FROM_URL when the URL is under a prefix the operator
//! verified with TikTok) or 1 to 35 photos (PULL_FROM_URL from a verified prefix); `mode=draft`
//! sends it to the creator's inbox instead (`video.upload` scope). The publish id is the job's
//! recovery point: a retry resumes that publish, never a second init. Chunks and status polls
//! are continuations, so no worker waits for TikTok. A completed `PUBLIC_TO_EVERYONE` post waits
//! for moderation to give it a public id (at most `public-id-wait-secs`); other posts complete
//! with the publish id as their id.
//!
//! TikTok has no delete and no scheduling API: the manifest claims neither, the host holds
//! scheduled jobs until their time and answers `not-supported` to deletes.
//!
//! # Analytics and health
//!
//! [`analytics`]: the creator's followers, following, likes and videos; a public video's views,
//! likes, comments and shares. `health` reads `/v2/user/info/` and names publishing scopes the
//! grant lacks.
//!
//! # Errors
//!
//! See [`errors`] for the envelope and the table of codes.
//!
//! # Configuration
//!
//! | Kind | Name | Default | Meaning |
//! | --- | --- | --- | --- |
//! | setting | `api-base-url` | `https://open.tiktokapis.com` | API base (`/v2/...`) |
//! | setting | `auth-base-url` | `https://www.tiktok.com` | consent page base (`/v2/auth/authorize/`) |
//! | setting | `client-key` | required | the app's client key |
//! | setting | `chunk-size-mb` | 10 | upload chunk size, clamped to TikTok's 5-64 MB |
//! | setting | `verified-url-prefixes` | none | comma-separated URL prefixes verified with TikTok: videos under them are pulled, photos must be under them |
//! | setting | `public-id-wait-secs` | 1800 | how long a completed public post waits for its public id |
//! | secret | `client-secret` | required | token exchange and webhook signatures |
//!
//! Connection vault entries: `access-token`, `refresh-token`, `open-id`, `scopes`, and
//! `upload-url:<digest>` while an upload is in flight. Memory: one chunk at a time (the last
//! chunk can be up to twice `chunk-size-mb`), so the plugin's `memory_mb` must exceed three
//! times the chunk size; 10 MB chunks fit the host's 64 MiB default.
//!
//! # Webhooks
//!
//! See [`webhooks`]: `TikTok-Signature` checked with a 5-minute tolerance;
//! `authorization.removed` makes the host revoke the connection; `post.publish.*` events name
//! their publish id, so the host wakes the job polling it.

#![deny(missing_docs)]

pub mod analytics;
pub mod api;
mod auth;
pub mod errors;
pub mod publish;
pub mod webhooks;

use postd_sdk::prelude::*;

/// The connector type registered with the host.
pub struct TikTok;

/// Scopes asked for by default.
pub const SCOPES: &[&str] = &[
    api::scopes::USER_INFO,
    api::scopes::USER_STATS,
    api::scopes::PUBLISH,
    api::scopes::UPLOAD,
    api::scopes::LIST,
];

/// Refresh this long before the access token expires (tokens may live only 2 hours).
pub const REFRESH_BEFORE_EXPIRY_SECS: u64 = 15 * 60;

impl Connector for TikTok {
    const OAUTH: Option<oauth::App> = Some(auth::OAUTH);
    const TASKS: &'static [(&'static str, TaskHandler)] = &[
        (publish::upload::TASK, |task| publish::upload::handle(&task)),
        (publish::status::TASK, |task| publish::status::handle(&task)),
    ];

    fn manifest() -> Manifest {
        Manifest::new(
            "tiktok",
            "TikTok",
            env!("CARGO_PKG_VERSION"),
            AuthKind::Oauth2,
        )
        .with_scopes(SCOPES)
        .with_capabilities(
            Capabilities::IMAGE
                | Capabilities::VIDEO
                | Capabilities::CAROUSEL
                | Capabilities::DRAFTS
                | Capabilities::ANALYTICS
                | Capabilities::WEBHOOKS,
        )
        .with_limits(ContentLimits {
            max_text_chars: Some(publish::MAX_TEXT_CHARS),
            max_media_count: Some(publish::MAX_PHOTOS),
            max_image_bytes: Some(20 * 1024 * 1024),
            max_video_bytes: Some(publish::chunks::MAX_VIDEO),
            // The longest any creator may post; each creator's own limit is checked at publish.
            max_video_seconds: Some(600),
        })
        // The design seed's 60 calls per minute per token; TikTok's per-endpoint minute limits
        // (init 6, status 30, creator info 20) are answered as rate-limited when hit.
        .with_rate_budget(60, 60)
        .with_refresh_before_expiry(REFRESH_BEFORE_EXPIRY_SECS)
        .with_setting(
            "api-base-url",
            false,
            "Content Posting and OAuth token API base URL (default https://open.tiktokapis.com)",
        )
        .with_oauth(&auth::OAUTH)
        .with_setting(
            "chunk-size-mb",
            false,
            "video upload chunk size in MiB (5-64, default 10)",
        )
        .with_setting(
            "verified-url-prefixes",
            false,
            "media URL prefixes TikTok pulls from itself (PULL_FROM_URL), comma-separated",
        )
        .with_setting(
            "public-id-wait-secs",
            false,
            "how long to wait for a public post id after publishing",
        )
    }

    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        auth::complete_auth(callback)
    }

    fn list_accounts() -> Result<Vec<Account>> {
        auth::list_accounts()
    }

    fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
        publish::publish(post, job)
    }

    fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
        analytics::analytics(request)
    }

    fn health() -> Result<HealthReport> {
        auth::health()
    }

    fn webhook_challenge(_request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        // TikTok registers callback URLs in the developer portal; it sends no challenge.
        Ok(None)
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&request)
    }
}

#[cfg(target_arch = "wasm32")]
register_connector!(TikTok);

//! The LinkedIn connector: the member and the organizations they administer, over the Posts API.
//!
//! # Connections
//!
//! OAuth 2.0 authorization code with space-separated scopes. `complete-auth` exchanges the code
//! (`POST {oauth}/accessToken`), stores the tokens and reads the member from `/v2/userinfo`.
//! Access tokens live 60 days. LinkedIn issues refresh tokens to approved partners only: with
//! one, `refresh` renews the access token (the refresh token keeps its original expiry, which
//! LinkedIn reports); without one, `refresh` answers `not-supported`, and the host marks the
//! connection `expiring_soon` ahead of expiry so the user reconnects in time. The manifest asks
//! the host to refresh 7 days before expiry.
//!
//! Accounts (`list-accounts`): the member (`urn:li:person:<id>`, kind `member`) and each
//! organization they administer (`urn:li:organization:<id>`, kind `organization`, parent the
//! member), from `GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED`,
//! named through one `GET /rest/organizations?ids=List(...)` (see [`accounts`]). Account ids are
//! the URNs posts are authored as.
//!
//! # Publishing
//!
//! `POST /rest/posts` with `lifecycleState: PUBLISHED`; the new post's URN comes back in the
//! `x-restli-id` header and is recorded at once as the job's recovery point (`li-post:<urn>`),
//! so a retry reports that post instead of posting again. Commentary has LinkedIn's reserved
//! "little text" characters escaped (hashtags kept).
//!
//! LinkedIn takes no idempotency key on create, and an answer can be lost after LinkedIn made
//! the post (a 502 from a proxy, a reset connection). So just before each create the connector
//! records a create attempt (`create-attempt:<unix time>:<video urn or nothing>`, the SDK's
//! [`postd_sdk::reconcile::CreateAttempt`]) as the recovery point. A retry that finds one asks
//! LinkedIn's author finder (`GET /rest/posts?author=<urn>&q=author&sortBy=LAST_MODIFIED`) for
//! the author's recent posts and reports the earliest one with the same commentary created
//! within ten minutes of the attempt (and carrying the same video); only when there is none does
//! it create. A create LinkedIn refused outright (any 4xx) resets the point, so its retry creates
//! without looking. Reading a member's posts needs `r_member_social`, which LinkedIn grants to
//! approved partners only: without it such a retry fails `create-unverified` instead of risking
//! a second public post (see [`recovery`]).
//!
//! - Text, and text with a link (an `article` with the `title` option or the link as title).
//! - Images: each is fetched from its URL, registered with `initializeUpload` and `PUT` to the
//!   upload URL; one image is `content.media`, 2 to 20 are `content.multiImage`.
//! - One video: fetched, `initializeUpload` with its size, each part `PUT` as LinkedIn's
//!   instructions say (collecting the `etag`s), `finalizeUpload` with the etags in order; the
//!   video URN becomes the recovery point (`li-video:<urn>`), then `li-video-status`
//!   continuations poll `GET /rest/videos/{urn}` every 10 s until `AVAILABLE` (then the post is
//!   created) or `PROCESSING_FAILED` (invalid input). See [`video`].
//!
//! LinkedIn has no native scheduling: the host holds scheduled jobs until their time.
//! `delete-post` is `DELETE /rest/posts/{urn}` (204; a post already gone counts as deleted).
//!
//! # Analytics
//!
//! Organizations only: `GET /rest/organizationalEntityShareStatistics` for the organization or
//! one of its posts (see [`analytics`]). LinkedIn gives no engagement statistics for members'
//! posts, so a member account answers `not-supported`.
//!
//! # Calls
//!
//! Every API call sends `LinkedIn-Version: YYYYMM` (the `linkedin-version` setting, or last
//! month by default) and `X-Restli-Protocol-Version: 2.0.0`. Under protocol 2.0 a Rest.li value in
//! a query keeps its structure unencoded and its leaves encoded
//! (`shares=List(urn%3Ali%3Ashare%3A1)`); such values are built with [`postd_sdk::http::Restli`].
//! Only `/v2/userinfo` (OpenID Connect) remains on the unversioned base. Errors: see [`errors`].
//!
//! # Sources
//!
//! - Posts API, including "Find Posts by Authors":
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>
//! - Images and Videos APIs:
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api>,
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api>
//! - Organization Access Control by Role:
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role>
//! - Organization Lookup:
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api>
//! - Organization Share Statistics:
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics>
//! - Protocol Versions (Rest.li 2.0 encoding):
//!   <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version>
//! - Decoration replaced by additional info fields in versioned APIs:
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/additional-info-field>
//! - Versioning (`LinkedIn-Version`, `/rest/`):
//!   <https://learn.microsoft.com/en-us/linkedin/marketing/versioning>
//! - Tokens, rate limits, errors, webhooks: programmatic-refresh-tokens, rate-limits,
//!   error-handling and webhook-validation under
//!   <https://learn.microsoft.com/en-us/linkedin/shared/>
//!
//! # Configuration
//!
//! | Kind | Name | Default | Meaning |
//! | --- | --- | --- | --- |
//! | setting | `api-base-url` | `https://api.linkedin.com` | API base (`/v2`, `/rest` under it) |
//! | setting | `auth-base-url` (formerly `oauth-base-url`) | `https://www.linkedin.com/oauth/v2` | `authorization` and `accessToken` |
//! | setting | `client-id` | required | the LinkedIn app's client id |
//! | setting | `linkedin-version` | last month | the `LinkedIn-Version` header |
//! | secret | `client-secret` | required | token exchange, webhook challenge and signatures |
//!
//! Connection vault entries: `access-token`, `refresh-token` (when issued), `scopes`,
//! `member-id`.
//!
//! # Webhooks
//!
//! `webhook-challenge` answers `GET ?challengeCode=` with `{challengeCode, challengeResponse}`
//! (hex HMAC-SHA256 of the code under the client secret). `verify-webhook` checks
//! `X-LI-Signature`, the hex HMAC-SHA256 of `"hmacsha256=" + raw body` under the client secret,
//! accepting the header with or without its `hmacsha256=` prefix, and parses one event per
//! notification (see [`webhooks`]).

#![deny(missing_docs)]

pub mod accounts;
pub mod analytics;
pub mod api;
mod auth;
pub mod errors;
pub mod publish;
pub mod recovery;
pub mod video;
pub mod webhooks;

use postd_sdk::prelude::*;

/// The connector type registered with the host.
pub struct LinkedIn;

/// Scopes asked for by default: the member's, then the organizations'.
pub const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "w_member_social",
    "rw_organization_admin",
    "w_organization_social",
    "r_organization_social",
];

/// Ask the host to refresh (or, without a refresh token, warn) a week before expiry.
pub const REFRESH_BEFORE_EXPIRY_SECS: u64 = 7 * 86_400;

impl Connector for LinkedIn {
    const OAUTH: Option<oauth::App> = Some(auth::OAUTH);
    const TASKS: &'static [(&'static str, TaskHandler)] =
        &[(publish::VIDEO_TASK, publish::handle_video_task)];

    fn manifest() -> Manifest {
        Manifest::new(
            "linkedin",
            "LinkedIn",
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
                | Capabilities::DELETE
                | Capabilities::ANALYTICS
                | Capabilities::WEBHOOKS,
        )
        .with_limits(ContentLimits {
            max_text_chars: Some(publish::MAX_TEXT_CHARS),
            max_media_count: Some(publish::MAX_IMAGES),
            // LinkedIn's image and video limits (36 megapixels is about 10 MB as JPEG; videos
            // up to 500 MB and 30 minutes). The host's own HTTP body caps apply first.
            max_image_bytes: Some(10 * 1024 * 1024),
            max_video_bytes: Some(500 * 1024 * 1024),
            max_video_seconds: Some(30 * 60),
        })
        // The design seed's 300 calls per 60 s per token.
        .with_rate_budget(300, 60)
        .with_refresh_before_expiry(REFRESH_BEFORE_EXPIRY_SECS)
        .with_oauth(&auth::OAUTH)
        .with_setting(
            "api-base-url",
            false,
            "REST API base URL (default https://api.linkedin.com)",
        )
        .with_setting(
            "linkedin-version",
            false,
            "the `LinkedIn-Version` header, YYYYMM",
        )
    }

    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        auth::complete_auth(callback)
    }

    fn refresh() -> Result<TokenExpiry> {
        auth::refresh()
    }

    fn list_accounts() -> Result<Vec<Account>> {
        accounts::list()
    }

    fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
        publish::publish(post, job)
    }

    fn delete_post(request: DeleteRequest) -> Result<()> {
        publish::delete(&request)
    }

    fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
        analytics::analytics(request)
    }

    fn health() -> Result<HealthReport> {
        auth::health()
    }

    fn webhook_challenge(request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        webhooks::challenge(&request)
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&request)
    }
}

#[cfg(target_arch = "wasm32")]
register_connector!(LinkedIn);

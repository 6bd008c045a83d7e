//! Sandbox settings. Defaults are the documented platform values; tests shorten what they need, or
//! advance the sandbox clock instead.

use std::net::SocketAddr;

/// Settings of a sandbox instance.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Address to bind; port 0 picks a free port. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Base URL the sandbox names in what it hands out (upload URLs, `paging.next`, Mailchimp's
    /// `api_endpoint`), when clients reach it by another name than the bound address (a container,
    /// a proxy). Default: `http://<bound address>`.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes (TikTok's last chunk may be 128 MB). Default 200 MiB.
    pub max_body_bytes: usize,
    /// How much of each request body the request log keeps. Default 1 MiB.
    pub log_body_limit: usize,
    /// How many requests the log keeps (the oldest go first). Default 10,000.
    pub log_capacity: usize,
    /// Meta Graph settings.
    pub meta: MetaConfig,
    /// LinkedIn settings.
    pub linkedin: LinkedInConfig,
    /// TikTok settings.
    pub tiktok: TikTokConfig,
    /// Google Business Profile settings.
    pub gbp: GbpConfig,
    /// Mailchimp settings.
    pub mailchimp: MailchimpConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            max_body_bytes: 200 * 1024 * 1024,
            log_body_limit: 1024 * 1024,
            log_capacity: crate::request_log::DEFAULT_CAPACITY,
            meta: MetaConfig::default(),
            linkedin: LinkedInConfig::default(),
            tiktok: TikTokConfig::default(),
            gbp: GbpConfig::default(),
            mailchimp: MailchimpConfig::default(),
        }
    }
}

/// Meta Graph settings.
#[derive(Clone, Debug)]
pub struct MetaConfig {
    /// Version segment used in URLs the sandbox builds (`paging.next`) and named as the latest when a
    /// retired one is refused. Requests may name any `vNN.N` not past its end of life.
    pub graph_version: String,
    /// Lifetime of the user token the code exchange returns ("about an hour or two"). Default 3600 s.
    pub short_lived_token_secs: i64,
    /// Lifetime of a long-lived user token (~60 days). Default 5,183,944 s, the documented example.
    pub long_lived_token_secs: i64,
    /// Lifetime of page tokens. `None` (default): they do not expire, as reported (unconfirmed).
    pub page_token_secs: Option<i64>,
    /// Calls per hour per token before throttling (the design seed budget). Default 3,500.
    pub calls_per_hour: u64,
    /// Code of the page-token throttle error: 32 (default) or 80001 (business use case, unconfirmed).
    pub page_throttle_code: i64,
    /// Instagram publishes per rolling 24 h. Default 50 (older sources say 25).
    pub ig_publishes_per_day: u64,
    /// Time an Instagram container stays `IN_PROGRESS`. Default 30 s.
    pub ig_container_processing_secs: i64,
    /// Time a Page video takes from `in_progress` to `ready`. Default 60 s.
    pub video_processing_secs: i64,
    /// Earliest scheduled publish time, from now. Default 10 minutes.
    pub min_schedule_secs: i64,
    /// Latest scheduled publish time, from now. Default 75 days.
    pub max_schedule_secs: i64,
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            graph_version: "v27.0".into(),
            short_lived_token_secs: 3600,
            long_lived_token_secs: 5_183_944,
            page_token_secs: None,
            calls_per_hour: 3500,
            page_throttle_code: 32,
            ig_publishes_per_day: 50,
            ig_container_processing_secs: 30,
            video_processing_secs: 60,
            min_schedule_secs: 600,
            max_schedule_secs: 75 * 86_400,
        }
    }
}

/// LinkedIn settings.
#[derive(Clone, Debug)]
pub struct LinkedInConfig {
    /// Access token lifetime. Default 60 days.
    pub access_token_secs: i64,
    /// Refresh token lifetime, counted from the first grant; refreshing does not extend it. Default 365 days.
    pub refresh_token_secs: i64,
    /// Whether refresh tokens are issued (only approved partners get them). Default true.
    pub issue_refresh_tokens: bool,
    /// Calls per 60 s per token (the design seed budget). Default 300.
    pub calls_per_minute: u64,
    /// How many months back a `LinkedIn-Version` stays supported. Default 12.
    pub version_window_months: i64,
    /// Time a video takes from `PROCESSING` to `AVAILABLE` after finalizeUpload. Default 30 s.
    pub video_processing_secs: i64,
}

impl Default for LinkedInConfig {
    fn default() -> Self {
        LinkedInConfig {
            access_token_secs: 60 * 86_400,
            refresh_token_secs: 365 * 86_400,
            issue_refresh_tokens: true,
            calls_per_minute: 300,
            version_window_months: 12,
            video_processing_secs: 30,
        }
    }
}

/// TikTok settings. Defaults follow the newer documentation (2 h / 180 d, rotating refresh tokens);
/// [`TikTokConfig::older_reading`] gives the older one (24 h / 365 d, refresh token reused).
#[derive(Clone, Debug)]
pub struct TikTokConfig {
    /// Access token lifetime. Default 2 h.
    pub access_token_secs: i64,
    /// Refresh token lifetime. Default 180 days.
    pub refresh_token_secs: i64,
    /// Whether a refresh returns a new refresh token and retires the old one. Default true.
    pub rotate_refresh_tokens: bool,
    /// Time from a complete upload (or init, for pulls) to `PUBLISH_COMPLETE`. Default 30 s.
    pub processing_secs: i64,
    /// Time from `PUBLISH_COMPLETE` until a public post id appears (moderation). Default 300 s.
    pub moderation_secs: i64,
    /// An unaudited client may only post `SELF_ONLY`. Default false.
    pub unaudited_client: bool,
}

impl Default for TikTokConfig {
    fn default() -> Self {
        TikTokConfig {
            access_token_secs: 2 * 3600,
            refresh_token_secs: 180 * 86_400,
            rotate_refresh_tokens: true,
            processing_secs: 30,
            moderation_secs: 300,
            unaudited_client: false,
        }
    }
}

impl TikTokConfig {
    /// The older documented reading: 24 h access, 365 d refresh, refresh token not rotated.
    pub fn older_reading() -> Self {
        TikTokConfig {
            access_token_secs: 86_400,
            refresh_token_secs: 365 * 86_400,
            rotate_refresh_tokens: false,
            ..TikTokConfig::default()
        }
    }
}

/// Google Business Profile settings.
#[derive(Clone, Debug)]
pub struct GbpConfig {
    /// Access token lifetime. Default 3599 s.
    pub access_token_secs: i64,
    /// An app in "Testing" status: refresh tokens expire after 7 days. Default false.
    pub testing_app: bool,
    /// Time a local post stays `PROCESSING` before `LIVE`. Default 60 s.
    pub post_processing_secs: i64,
    /// Queries per minute per API (the documented quota). Default 300; 0 imitates a project whose
    /// API access is not approved yet (every call is `RESOURCE_EXHAUSTED`).
    pub queries_per_minute: u64,
    /// Edits per minute per location. Default 10.
    pub edits_per_minute: u64,
}

impl Default for GbpConfig {
    fn default() -> Self {
        GbpConfig {
            access_token_secs: 3599,
            testing_app: false,
            post_processing_secs: 60,
            queries_per_minute: 300,
            edits_per_minute: 10,
        }
    }
}

/// Mailchimp settings.
#[derive(Clone, Debug)]
pub struct MailchimpConfig {
    /// Simultaneous connections per account before 429. Default 10.
    pub max_connections: usize,
    /// Time a sent campaign stays `sending` before `sent`. Default 60 s.
    pub send_duration_secs: i64,
    /// Whether creating a list webhook first sends a GET to its URL and requires a 2xx. Default true.
    pub validate_webhook_url: bool,
}

impl Default for MailchimpConfig {
    fn default() -> Self {
        MailchimpConfig {
            max_connections: 10,
            send_duration_secs: 60,
            validate_webhook_url: true,
        }
    }
}

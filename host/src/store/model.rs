//! The rows the store keeps, as Rust types.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Unix time in milliseconds: the unit of every time the store keeps. Deadlines are computed
/// with [`crate::time::UnixMs`] and [`crate::time::Span`], whose arithmetic cannot overflow.
pub type Millis = i64;

/// A connection's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Works.
    Healthy,
    /// Works, but its token expires soon and cannot be refreshed: the user must reconnect.
    ExpiringSoon,
    /// A refresh or health check failed; its jobs wait until it is reconnected.
    Attention,
    /// The user or platform revoked access.
    Revoked,
}

impl ConnectionStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Healthy => "healthy",
            ConnectionStatus::ExpiringSoon => "expiring_soon",
            ConnectionStatus::Attention => "attention",
            ConnectionStatus::Revoked => "revoked",
        }
    }

    /// Parses the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "healthy" => ConnectionStatus::Healthy,
            "expiring_soon" => ConnectionStatus::ExpiringSoon,
            "attention" => ConnectionStatus::Attention,
            "revoked" => ConnectionStatus::Revoked,
            _ => return None,
        })
    }

    /// True when jobs may run on the connection.
    pub fn usable(self) -> bool {
        matches!(
            self,
            ConnectionStatus::Healthy | ConnectionStatus::ExpiringSoon
        )
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant's authorized account on a platform.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Connection {
    /// The tenant.
    pub tenant_id: String,
    /// The connection id.
    pub id: String,
    /// The plugin that serves it.
    pub plugin: String,
    /// The platform's id for the authorizing user or account.
    pub external_id: String,
    /// A name the user recognizes.
    pub display_name: String,
    /// Its standing.
    pub status: ConnectionStatus,
    /// Why it has that standing, when not healthy.
    pub status_reason: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the access token expires.
    pub expires_at: Option<Millis>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<Millis>,
    /// When the tokens were last refreshed.
    pub refreshed_at: Option<Millis>,
    /// Bumped whenever new tokens are stored.
    pub token_version: i64,
    /// When the next health check is due.
    pub next_health_at: Millis,
    /// Created.
    pub created_at: Millis,
    /// Last changed.
    pub updated_at: Millis,
}

/// What to store for a new (or re-authorized) connection.
#[derive(Debug, Clone, Default)]
pub struct NewConnection {
    /// The connection id; reconnecting reuses the id and resumes its paused jobs.
    pub id: String,
    /// The plugin.
    pub plugin: String,
    /// The platform's account id.
    pub external_id: String,
    /// A name the user recognizes.
    pub display_name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Access token expiry.
    pub expires_at: Option<Millis>,
    /// Refresh token expiry.
    pub refresh_expires_at: Option<Millis>,
}

/// One media item of a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MediaItem {
    /// `image` or `video`.
    pub kind: String,
    /// Where the connector fetches it.
    pub url: String,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// What a post says, the same for every target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PostContent {
    /// The text.
    pub text: String,
    /// A link to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Media, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaItem>,
    /// Platform-specific options (`privacy-level`, `topic-type`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// Where one copy of a post goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The connection.
    pub connection_id: String,
    /// The account of that connection (from `list-accounts`).
    pub account_id: String,
}

/// A publish request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPost {
    /// The caller's idempotency key, unique per tenant.
    pub idempotency_key: String,
    /// What to publish.
    pub content: PostContent,
    /// Where.
    pub targets: Vec<Target>,
    /// When; `None` for now.
    pub scheduled_for: Option<Millis>,
}

/// A job's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `next_run_at` (first run, retry or continuation).
    Queued,
    /// Claimed by a worker until its lease ends.
    Running,
    /// Held: its connection needs attention or its plugin is disabled for the tenant.
    Paused,
    /// Done on the platform.
    Published,
    /// Failed for good; see its dead letter.
    Dead,
    /// Cancelled before it ran.
    Cancelled,
    /// Published, then deleted on the platform through the API (`deleted_at`, and the call in
    /// `state_reason`).
    Deleted,
}

impl JobState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Published => "published",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
            JobState::Deleted => "deleted",
        }
    }

    /// Parses the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "paused" => JobState::Paused,
            "published" => JobState::Published,
            "dead" => JobState::Dead,
            "cancelled" => JobState::Cancelled,
            "deleted" => JobState::Deleted,
            _ => return None,
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One target of a post, as the pipeline runs it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Job {
    /// The tenant.
    pub tenant_id: String,
    /// The job id.
    pub id: String,
    /// The post it belongs to.
    pub post_id: String,
    /// The connection it publishes through.
    pub connection_id: String,
    /// The plugin.
    pub plugin: String,
    /// The account.
    pub account_id: String,
    /// What to publish.
    pub content: PostContent,
    /// When the platform should show it (for native scheduling).
    pub scheduled_for: Option<Millis>,
    /// Lifecycle state.
    pub state: JobState,
    /// Why it is paused, dead, cancelled or deleted.
    pub state_reason: Option<String>,
    /// Attempts spent on the current step.
    pub attempts: u32,
    /// When it runs next.
    pub next_run_at: Millis,
    /// The connector's last recovery point.
    pub recovery_point: Option<String>,
    /// The platform's answer once published (JSON).
    pub result: Option<String>,
    /// The last error.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: Millis,
    /// Last changed.
    pub updated_at: Millis,
    /// When its published post was deleted on the platform, for state `deleted`.
    pub deleted_at: Option<Millis>,
    /// The W3C `traceparent` of the API request that accepted its post, when traces were
    /// exported then: each run's span links to it. Not part of the API's answers.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

/// An accepted post and its jobs.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PostRecord {
    /// The post id.
    pub id: String,
    /// The idempotency key it was accepted under.
    pub idempotency_key: String,
    /// When it should go out.
    pub scheduled_for: Option<Millis>,
    /// One job per target.
    pub jobs: Vec<Job>,
    /// Accepted at.
    pub created_at: Millis,
}

/// What accepting a post did.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// A new post was stored.
    Created(PostRecord),
    /// The same key and payload were accepted before; nothing new was stored.
    Existing(PostRecord),
}

impl Accepted {
    /// The post, new or existing.
    pub fn post(&self) -> &PostRecord {
        match self {
            Accepted::Created(p) | Accepted::Existing(p) => p,
        }
    }
}

/// A continuation waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTask {
    /// The task id.
    pub id: String,
    /// The job.
    pub job_id: String,
    /// What the connector called it.
    pub kind: String,
    /// Its payload.
    pub payload: String,
    /// When it is due.
    pub run_at: Millis,
}

/// One recorded run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Attempt {
    /// The attempt number it ran as.
    pub attempt: u32,
    /// `publish` or `handle-task`.
    pub export: String,
    /// The worker that ran it.
    pub worker: String,
    /// Started at.
    pub started_at: Millis,
    /// How long it took.
    pub latency_ms: i64,
    /// Fuel it used.
    pub fuel: u64,
    /// `published`, `in-progress`, `retry`, `rate-limited`, `paused` or `dead`.
    pub outcome: String,
    /// The error's code, when it failed.
    pub error_code: Option<String>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// The OpenTelemetry trace of the run (32 hex digits), when traces were exported and the
    /// run sampled: where its `job run` span is in the trace backend.
    pub trace_id: Option<String>,
}

/// A job that failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DeadLetter {
    /// The dead letter id.
    pub id: String,
    /// The job.
    pub job_id: String,
    /// Why (`invalid-input`, `attempts-exhausted`, …).
    pub reason_code: String,
    /// The last error.
    pub last_error: String,
    /// Attempts spent.
    pub attempts: u32,
    /// Dead since.
    pub created_at: Millis,
    /// When an operator replayed it.
    pub replayed_at: Option<Millis>,
}

/// One health check of a connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthRecord {
    /// The connection.
    pub connection_id: String,
    /// When.
    pub checked_at: Millis,
    /// How long the check took.
    pub latency_ms: i64,
    /// Whether it passed.
    pub ok: bool,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: Millis,
    /// Who (`api`, `admin`, `pipeline`, `refresh`, `health`, `webhook`).
    pub actor: String,
    /// What (`connection.created`, `connection.refreshed`, `plugin.disabled`, …).
    pub action: String,
    /// The row concerned.
    pub subject: String,
    /// Details, without secrets.
    pub detail: String,
}

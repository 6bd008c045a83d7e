//! The 0.1 types converted to the newest and back.

use super::generated::exports::postd::connector::connector as old;
use super::generated::postd::connector::{
    http as old_http, log as old_log, queue as old_queue, types as old_types, vault as old_vault,
};
use crate::runtime::wit::convert::{Convert, flags, records, variants};
use crate::runtime::wit::since_v0_2_0::connector as new;
use crate::runtime::wit::since_v0_2_0::{
    http as new_http, log as new_log, queue as new_queue, types as new_types, vault as new_vault,
};

records! {
    [old::ContentLimits] <=> [new::ContentLimits] {
        max_text_chars, max_media_count, max_image_bytes, max_video_bytes, max_video_seconds,
    }
    [old::RateBudget] <=> [new::RateBudget] { requests, per_seconds }
    [old::ScheduleWindow] <=> [new::ScheduleWindow] { min_lead_secs, max_lead_secs }
    [old::AuthorizeRequest] <=> [new::AuthorizeRequest] { state, redirect_uri, scopes }
    [old::AuthCallback] <=> [new::AuthCallback] { params, redirect_uri }
    [old::ConnectionInfo] <=> [new::ConnectionInfo] {
        external_id, display_name, scopes, expires_at, refresh_expires_at,
    }
    [old::TokenExpiry] <=> [new::TokenExpiry] { expires_at, refresh_expires_at }
    [old::Account] <=> [new::Account] { id, name, kind, parent_id }
    [old::Media] <=> [new::Media] { kind, url, mime_type, size_bytes, alt_text }
    [old::Post] <=> [new::Post] { account_id, text, link, media, scheduled_for, options }
    [old::JobContext] <=> [new::JobContext] { job_id, attempt, recovery_point }
    [old::Published] <=> [new::Published] { post_id, url, scheduled_for }
    [old::DeleteRequest] <=> [new::DeleteRequest] { account_id, post_id }
    [old::AnalyticsRequest] <=> [new::AnalyticsRequest] {
        account_id, post_id, since, until, metrics,
    }
    [old::Metric] <=> [new::Metric] { name, value, period_end }
    [old::HealthReport] <=> [new::HealthReport] { external_id, scopes, message }
    [old::WebhookRequest] <=> [new::WebhookRequest] { method, path, query, headers, body }
    [old::WebhookResponse] <=> [new::WebhookResponse] { status, headers, body }
    [old::WebhookEvent] <=> [new::WebhookEvent] {
        id, kind, external_account_id, recovery_point, payload,
    }
    [old::TaskContext] <=> [new::TaskContext] { task, job }
    [old_queue::Task] <=> [new_queue::Task] { kind, payload }
    [old_types::RateLimitedInfo] <=> [new_types::RateLimitedInfo] { retry_after_ms, reason }
    [old_types::PlatformError] <=> [new_types::PlatformError] { code, message }
    [old_http::Request] <=> [new_http::Request] { method, url, headers, body, timeout_ms }
    [old_http::Response] <=> [new_http::Response] { status, headers, body }
}

variants! {
    [old::AuthKind] <=> [new::AuthKind] { Oauth2, ApiKey }
    [old::MediaKind] <=> [new::MediaKind] { Image, Video }
    [old_types::ConnectorError] <=> [new_types::ConnectorError] {
        RateLimited(x), AuthExpired(x), AuthRevoked(x), PermissionMissing(x), InvalidInput(x),
        NotSupported(x), Transient(x), Platform(x),
    }
    [old_http::Method] <=> [new_http::Method] { Get, Head, Post, Put, Patch, Delete }
    [old_http::HttpError] <=> [new_http::HttpError] {
        Denied(x), RateLimited(x), Timeout, TooLarge(x), InvalidRequest(x), Connection(x),
    }
    [old_log::Level] <=> [new_log::Level] { Trace, Debug, Info, Warn, Error }
}

flags! {
    [old::Capabilities] <=> [new::Capabilities] {
        TEXT, LINK, IMAGE, VIDEO, CAROUSEL, NATIVE_SCHEDULING, DELETE, EDIT, ANALYTICS, WEBHOOKS,
        DRAFTS,
    }
}

/// A 0.1 manifest declares no settings: the host checks none of its plugin entry's names.
impl Convert<new::PluginManifest> for old::PluginManifest {
    fn convert(self) -> new::PluginManifest {
        new::PluginManifest {
            id: self.id,
            display_name: self.display_name,
            version: self.version,
            sdk_version: self.sdk_version,
            auth: self.auth.convert(),
            scopes: self.scopes,
            capabilities: self.capabilities.convert(),
            limits: self.limits.convert(),
            rate_budget: self.rate_budget.convert(),
            refresh_before_expiry_secs: self.refresh_before_expiry_secs,
            schedule_window: self.schedule_window.convert(),
            settings: Vec::new(),
        }
    }
}

/// A 0.1 `in-progress` names what it waits for; its continuations were enqueued during the call.
impl Convert<new::PublishOutcome> for old::PublishOutcome {
    fn convert(self) -> new::PublishOutcome {
        match self {
            old::PublishOutcome::Published(published) => {
                new::PublishOutcome::Published(published.convert())
            }
            old::PublishOutcome::InProgress(waiting_for) => {
                new::PublishOutcome::InProgress(new::Progress {
                    waiting_for,
                    continuations: Vec::new(),
                })
            }
        }
    }
}

/// 0.2 dropped `unavailable`: a fault of the secret store ends the call in both versions.
impl Convert<old_vault::VaultError> for new_vault::VaultError {
    fn convert(self) -> old_vault::VaultError {
        match self {
            new_vault::VaultError::NoConnection => old_vault::VaultError::NoConnection,
            new_vault::VaultError::InvalidName(name) => old_vault::VaultError::InvalidName(name),
            new_vault::VaultError::TooLarge(cap) => old_vault::VaultError::TooLarge(cap),
        }
    }
}

/// 0.2's checkpoint refusals, in 0.1's words.
impl Convert<old_queue::QueueError> for new_queue::QueueError {
    fn convert(self) -> old_queue::QueueError {
        match self {
            new_queue::QueueError::NoJob => old_queue::QueueError::NoJob,
            new_queue::QueueError::TooMany(n) => old_queue::QueueError::TooManyPending(n),
            new_queue::QueueError::TooLarge(cap) => old_queue::QueueError::TooLarge(cap),
        }
    }
}

//! Write a Postd connector.
//!
//! A connector is a Rust crate built as a `cdylib` for `wasm32-wasip2`; the host runs it as a
//! sandboxed WebAssembly component. It depends on this crate alone, implements [`Connector`]
//! (every method but [`Connector::manifest`] defaults to "not supported") and registers the type
//! with [`register_connector!`]:
//!
//! ```text
//! use postd_sdk::prelude::*;
//!
//! struct Echo;
//!
//! impl Connector for Echo {
//!     fn manifest() -> Manifest {
//!         Manifest::new("echo", "Echo", env!("CARGO_PKG_VERSION"), AuthKind::ApiKey)
//!     }
//!     fn health() -> Result<HealthReport> {
//!         let answer = http::Request::get("https://echo.example/ping").send()?.error_for_status()?;
//!         Ok(HealthReport { external_id: answer.text(), scopes: vec![], message: "ok".into() })
//!     }
//! }
//!
//! register_connector!(Echo);
//! ```
//!
//! The host owns tokens, egress, retries and scheduling. A connector builds requests, reads
//! answers and maps errors: see [`http`], [`vault`], [`queue`], [`log`], [`oauth`], [`webhook`].
#![deny(missing_docs)]

extern crate self as postd_sdk;

mod adapter;
#[doc(hidden)]
pub mod bindings;
mod error;
pub mod fields;
pub mod http;
pub mod log;
mod manifest;
pub mod media;
pub mod oauth;
pub mod paging;
pub mod queue;
pub mod reconcile;
pub mod time;
pub mod vault;
pub mod webhook;

pub use error::{DEFAULT_RETRY_AFTER_MS, Error, PlatformError, RateLimitedInfo, retry_after_ms};

pub(crate) use bindings::exports::postd::connector::connector as export;

pub use export::PluginManifest as Manifest;
pub use export::{
    Account, AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities,
    ConnectionInfo, ContentLimits, Continuation, DeleteRequest, HealthReport, JobContext, Media,
    MediaKind, Metric, Post, Progress, PublishOutcome, Published, RateBudget, ScheduleWindow,
    SettingSpec, TaskContext, TokenExpiry, WebhookEvent, WebhookRequest, WebhookResponse,
};
pub use queue::Task;

/// Runs one kind of continuation (see [`Connector::TASKS`]).
pub type TaskHandler = fn(TaskContext) -> Result<PublishOutcome>;

/// The result type of every connector method.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The version of this SDK, stamped into every connector's manifest so the host can check it.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a connector implements. Every method except [`Connector::manifest`] answers
/// [`Error::NotSupported`] unless overridden, so a connector states only what its platform does.
///
/// Each call runs in a fresh instance: keep nothing in statics between calls; tokens belong in
/// the [`vault`], multi-step progress in [`queue`] continuations and checkpoints.
pub trait Connector {
    /// Who the connector is and what it can do. Must not do I/O: the host calls it to validate
    /// the component before serving it. The SDK fills in [`Manifest::sdk_version`].
    fn manifest() -> Manifest;

    /// The connector's OAuth app, when its platform's flow fits [`oauth::App`]: then
    /// [`Connector::authorize_url`] and [`Connector::refresh`] default to the app's.
    const OAUTH: Option<oauth::App> = None;

    /// The continuations the connector answers with ([`queue::continue_after`]), by task kind:
    /// [`Connector::handle_task`] runs the one the task names.
    const TASKS: &'static [(&'static str, TaskHandler)] = &[];

    /// The platform's consent URL for an OAuth connection ([`Connector::OAUTH`]'s by default).
    fn authorize_url(request: AuthorizeRequest) -> Result<String> {
        match Self::OAUTH {
            Some(app) => app.authorize_url(request),
            None => Err(Error::not_supported("authorize-url")),
        }
    }

    /// Exchanges the callback (or a pasted API key) for tokens, stores them with [`vault::put`].
    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        let _ = callback;
        Err(Error::not_supported("complete-auth"))
    }

    /// Refreshes the connection's tokens in the vault ([`Connector::OAUTH`]'s refresh grant by
    /// default).
    fn refresh() -> Result<TokenExpiry> {
        match Self::OAUTH {
            Some(app) => Ok(app.refresh()?.expiry()),
            None => Err(Error::not_supported("refresh")),
        }
    }

    /// Accounts the connection can post to.
    fn list_accounts() -> Result<Vec<Account>> {
        Err(Error::not_supported("list-accounts"))
    }

    /// Publishes (or natively schedules) a post.
    fn publish(post: Post, job: JobContext) -> Result<PublishOutcome> {
        let _ = (post, job);
        Err(Error::not_supported("publish"))
    }

    /// Deletes a published post.
    fn delete_post(request: DeleteRequest) -> Result<()> {
        let _ = request;
        Err(Error::not_supported("delete-post"))
    }

    /// Reads figures for an account or a post.
    fn analytics(request: AnalyticsRequest) -> Result<Vec<Metric>> {
        let _ = request;
        Err(Error::not_supported("analytics"))
    }

    /// Checks that the connection still works.
    fn health() -> Result<HealthReport> {
        Err(Error::not_supported("health"))
    }

    /// Answers a webhook subscription challenge; `Ok(None)` when the request is not one.
    fn webhook_challenge(request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        let _ = request;
        Err(Error::not_supported("webhook-challenge"))
    }

    /// Verifies a webhook delivery over its raw body and parses its events.
    fn verify_webhook(request: WebhookRequest) -> Result<Vec<WebhookEvent>> {
        let _ = request;
        Err(Error::not_supported("verify-webhook"))
    }

    /// Runs a continuation of an earlier [`queue::continue_after`]: by default the handler
    /// [`Connector::TASKS`] lists for its kind.
    fn handle_task(context: TaskContext) -> Result<PublishOutcome> {
        if Self::TASKS.is_empty() {
            return Err(Error::not_supported("handle-task"));
        }
        let kind = context.task.kind.as_str();
        match Self::TASKS.iter().find(|(name, _)| *name == kind) {
            Some((_, handler)) => handler(context),
            None => Err(Error::invalid_input(format!("unknown task kind `{kind}`"))),
        }
    }
}

/// Everything a connector usually needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Account, AnalyticsRequest, AuthCallback, AuthKind, AuthorizeRequest, Capabilities,
        ConnectionInfo, Connector, ContentLimits, DeleteRequest, Error, HealthReport, JobContext,
        Manifest, Media, MediaKind, Metric, Post, PublishOutcome, Published, RateBudget, Result,
        ScheduleWindow, Task, TaskContext, TaskHandler, TokenExpiry, WebhookEvent, WebhookRequest,
        WebhookResponse, http, log, media, oauth, paging, queue, register_connector, vault,
        webhook,
    };
}

/// Registers `T: Connector` as the component's implementation of the `connector` export.
/// Call it once, at the root of a connector crate.
#[macro_export]
macro_rules! register_connector {
    ($connector:ty) => {
        type __PostdRegisteredConnector = $crate::__private::Adapter<$connector>;
        $crate::__private::bindings::__export_connector!(
            __PostdRegisteredConnector with_types_in $crate::__private::bindings
        );
    };
}

/// Used by [`register_connector!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::adapter::Adapter;
    pub use crate::bindings;
    pub use crate::bindings::__export_connector;
    pub use wit_bindgen;
}

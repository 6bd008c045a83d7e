//! Faithful local imitations of the Meta Graph, LinkedIn, TikTok, Google Business Profile and Mailchimp
//! APIs, with fault injection, a controllable clock, a request log and signed webhook delivery.
//!
//! It is the embedded default of `make run`, the backbone of the connectors' tests, and what a partner
//! uses to try a connector offline. Everything runs on one loopback port over real HTTP:
//!
//! | Real base URL | Sandbox base URL |
//! | --- | --- |
//! | `https://graph.facebook.com`, `https://www.facebook.com` (login dialog) | `{base}/meta` |
//! | `https://www.linkedin.com` (OAuth), `https://api.linkedin.com` | `{base}/linkedin` |
//! | `https://www.tiktok.com` (authorize), `https://open.tiktokapis.com`, `https://open-upload.tiktokapis.com` | `{base}/tiktok` (uploads under `{base}/tiktok/upload`) |
//! | `https://accounts.google.com`, `https://oauth2.googleapis.com`, `https://mybusiness*.googleapis.com`, `https://businessprofileperformance.googleapis.com` | `{base}/gbp` |
//! | `https://<dc>.api.mailchimp.com` | `{base}/mailchimp/<dc>` (so `/3.0/...` becomes `{base}/mailchimp/us6/3.0/...`) |
//! | `https://login.mailchimp.com` | `{base}/mailchimp/login` |
//!
//! The control API lives under `{base}/_control`; `README.md` lists every route, the control API, the
//! seed data, and how the points the platform facts mark unconfirmed are handled. Credentials are fixed
//! fake values in [`seed`]. Defaults are the documented platform values ([`SandboxConfig`]); tests
//! advance the sandbox clock ([`RunningSandbox::advance_clock`]) instead of sleeping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), postd_sandbox::SandboxError> {
//! use postd_sandbox::{Platform, Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let graph = format!("{}/v27.0", sandbox.url(Platform::Meta));
//! sandbox.advance_clock(std::time::Duration::from_secs(3600));
//! # let _ = graph;
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod clock;
pub mod config;
mod control;
pub mod endpoints;
pub mod example;
pub mod faults;
mod http;
pub mod platform;
pub mod platforms;
mod ratelimit;
pub mod request_log;
pub mod seed;
mod server;
pub mod state;
pub mod webhooks;

pub use clock::Clock;
pub use config::{
    GbpConfig, LinkedInConfig, MailchimpConfig, MetaConfig, SandboxConfig, TikTokConfig,
};
pub use endpoints::{Endpoint, endpoints, to_sandbox};
pub use faults::{FaultRule, PlatformFaults};
pub use platform::Platform;
pub use request_log::RecordedRequest;
pub use server::{IssuedToken, RunningSandbox, Sandbox, SandboxError};
pub use state::SandboxState;
pub use webhooks::{DeliveryOptions, SubscriptionCheck, WebhookDelivery, WebhookError};

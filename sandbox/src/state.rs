//! State shared by every route: settings, clock, request log, faults, rate counters and each
//! platform's data.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::Clock;
use crate::config::SandboxConfig;
use crate::faults::{Faults, splitmix64};
use crate::platform::Platform;
use crate::platforms::{gbp, linkedin, mailchimp, meta, tiktok};
use crate::ratelimit::RateLimiter;
use crate::request_log::{RequestLog, lock};

/// Everything the sandbox knows. Reached from tests through `RunningSandbox::state`.
#[derive(Debug)]
pub struct SandboxState {
    /// Settings the sandbox was started with.
    pub config: SandboxConfig,
    /// The sandbox clock.
    pub clock: Clock,
    /// Every request received.
    pub log: RequestLog,
    /// Injected faults.
    pub faults: Faults,
    pub(crate) limits: RateLimiter,
    pub(crate) base_url: String,
    counter: AtomicU64,
    pub(crate) meta: Mutex<meta::MetaState>,
    pub(crate) linkedin: Mutex<linkedin::LinkedInState>,
    pub(crate) tiktok: Mutex<tiktok::TikTokState>,
    pub(crate) gbp: Mutex<gbp::GbpState>,
    pub(crate) mailchimp: Mutex<mailchimp::MailchimpState>,
    pub(crate) example: Mutex<crate::example::ExampleState>,
}

impl SandboxState {
    /// Calls `platform` refused because they were over one of its own limits (a token's calls
    /// per minute, Mailchimp's simultaneous connections): what a well-behaved client never causes.
    /// Injected faults are not counted.
    pub fn throttled(&self, platform: Platform) -> u64 {
        self.limits.refused(platform.as_str())
    }

    pub(crate) fn new(config: SandboxConfig, base_url: String) -> SandboxState {
        SandboxState {
            meta: Mutex::new(meta::MetaState::seed()),
            linkedin: Mutex::new(linkedin::LinkedInState::seed()),
            tiktok: Mutex::new(tiktok::TikTokState::seed()),
            gbp: Mutex::new(gbp::GbpState::seed()),
            mailchimp: Mutex::new(mailchimp::MailchimpState::seed()),
            example: Mutex::default(),
            log: RequestLog::new(config.log_capacity),
            config,
            clock: Clock::new(),
            faults: Faults::default(),
            limits: RateLimiter::default(),
            base_url,
            counter: AtomicU64::new(0),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Base URL of one platform's prefix, e.g. `http://127.0.0.1:PORT/meta`.
    pub fn platform_url(&self, platform: Platform) -> String {
        format!("{}/{}", self.base_url, platform.as_str())
    }

    /// A fresh sequence number (never reused, not even across resets, so old ids stay unknown).
    pub(crate) fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A fresh opaque token: `prefix` then `len` hex characters.
    pub(crate) fn token(&self, prefix: &str, len: usize) -> String {
        let mut seed = self.next_id().wrapping_mul(0x2545_F491_4F6C_DD1D);
        let mut out = String::from(prefix);
        while out.len() < prefix.len() + len {
            out.push_str(&format!("{:016x}", splitmix64(&mut seed)));
        }
        out.truncate(prefix.len() + len);
        out
    }

    /// Puts one platform back to its seeded state: data, faults, rate counters and its request log.
    pub fn reset_platform(&self, platform: Platform) {
        match platform {
            Platform::Meta => *lock(&self.meta) = meta::MetaState::seed(),
            Platform::Linkedin => *lock(&self.linkedin) = linkedin::LinkedInState::seed(),
            Platform::Tiktok => *lock(&self.tiktok) = tiktok::TikTokState::seed(),
            Platform::Gbp => *lock(&self.gbp) = gbp::GbpState::seed(),
            Platform::Mailchimp => *lock(&self.mailchimp) = mailchimp::MailchimpState::seed(),
        }
        self.faults.clear(Some(platform));
        self.limits.clear(&format!("{}:", platform.as_str()));
        self.log.clear(Some(platform));
    }

    /// Puts the whole sandbox back to its seeded state, clock included.
    pub fn reset(&self) {
        for p in Platform::ALL {
            self.reset_platform(p);
        }
        self.log.clear(None);
        self.clock.reset();
    }
}

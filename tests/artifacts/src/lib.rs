//! Paths of the wasm fixtures, built from source by this crate's build script.
#![deny(missing_docs)]

/// The example connector (`connectors/example`), version 0.1.0.
pub const EXAMPLE: &str = env!("POSTD_FIXTURE_EXAMPLE");

/// The same connector source under version 0.2.0, for hot-swap tests.
pub const EXAMPLE_NEXT: &str = env!("POSTD_FIXTURE_EXAMPLE_NEXT");

/// The Mailchimp connector (`connectors/mailchimp`).
pub const MAILCHIMP: &str = env!("POSTD_FIXTURE_MAILCHIMP");

/// The Meta connector (`connectors/meta`).
pub const META: &str = env!("POSTD_FIXTURE_META");

/// The LinkedIn connector (`connectors/linkedin`).
pub const LINKEDIN: &str = env!("POSTD_FIXTURE_LINKEDIN");

/// The Google Business Profile connector (`connectors/gbp`).
pub const GBP: &str = env!("POSTD_FIXTURE_GBP");

/// The TikTok connector (`connectors/tiktok`).
pub const TIKTOK: &str = env!("POSTD_FIXTURE_TIKTOK");

/// A connector that misbehaves on request (`tests/fixtures/hostile`).
pub const HOSTILE: &str = env!("POSTD_FIXTURE_HOSTILE");

/// A connector whose behaviour each post chooses, for the job pipeline (`tests/fixtures/pipeline`).
pub const PIPELINE: &str = env!("POSTD_FIXTURE_PIPELINE");

/// The pipeline fixture's source under version 0.2.0, for hot swap under load.
pub const PIPELINE_NEXT: &str = env!("POSTD_FIXTURE_PIPELINE_NEXT");

/// A connector whose publish is CPU-bound work only (`tests/fixtures/cpu-heavy`).
pub const CPU_HEAVY: &str = env!("POSTD_FIXTURE_CPU_HEAVY");

/// A connector that reaches for other plugins' secrets, the app secret and the host's origin
/// (`tests/fixtures/snoop`).
pub const SNOOP: &str = env!("POSTD_FIXTURE_SNOOP");

/// A connector whose publish is exactly one HTTP POST, for the external pipeline benchmark
/// (`tests/fixtures/one-post`).
pub const ONE_POST: &str = env!("POSTD_FIXTURE_ONE_POST");

/// Reads a fixture's bytes.
pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading fixture {path}: {e}"))
}

/// The example connector built with postd-sdk 0.1 from the pinned commit: a
/// `postd:connector@0.1.0` component.
pub const EXAMPLE_V0_1: &str = env!("POSTD_FIXTURE_EXAMPLE_V0_1");

/// The pipeline fixture built with postd-sdk 0.1 from the pinned commit: a
/// `postd:connector@0.1.0` component whose multi-step posts use 0.1's `queue.enqueue`.
pub const PIPELINE_V0_1: &str = env!("POSTD_FIXTURE_PIPELINE_V0_1");

//! What the fault cases share: private servers to break (PostgreSQL, Redis, a small
//! filesystem), `postd-host` replicas with their HTTP API, a load of posts through that API, and
//! the exactly-once check. The pipeline suite's support (its test platform, harness and API
//! client) is reused as it is.

pub mod disk;
pub mod host;
pub mod load;
pub mod postgres;
pub mod redis;
pub mod sandbox;

#[path = "../../pipeline/support/mod.rs"]
#[allow(
    dead_code,
    reason = "the pipeline suite's support, of which the fault cases use a part"
)]
pub mod pipeline;

use std::time::{Duration, Instant};

pub use pipeline::{Platform, eventually};

/// A free TCP port on loopback (free when asked; the servers started on it bind it at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `command` to completion; panics with its output when it fails.
pub fn run(command: &mut std::process::Command) -> String {
    let what = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what} could not start: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what} failed: {text}");
    text
}

/// Fails the case, with what to install, when `path` is missing: these cases never skip.
pub fn require(path: &str, why: &str) {
    assert!(
        std::path::Path::new(path).exists(),
        "{path} is missing; the fault suite needs it {why}"
    );
}

/// Seconds since `start`, for the figures a case prints.
pub fn secs(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

/// Polls `check` until it holds, as [`eventually`], and returns how long that took.
pub async fn timed<F, Fut>(within: Duration, what: &str, check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    eventually(within, what, check).await;
    start.elapsed()
}

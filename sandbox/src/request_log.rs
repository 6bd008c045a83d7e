//! Every request the sandbox receives, recorded so tests can assert on what a connector sent.

use std::collections::VecDeque;
use std::sync::Mutex;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::platform::Platform;

/// One recorded request.
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    /// Sequence number, increasing across the whole sandbox.
    pub id: u64,
    /// The platform whose prefix the request used (`None` for unknown prefixes).
    pub platform: Option<Platform>,
    /// HTTP method.
    pub method: String,
    /// Full path, including the platform prefix.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers in the order received (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body as text when it is UTF-8.
    pub body_text: Option<String>,
    /// Body as base64 when it is not UTF-8.
    pub body_base64: Option<String>,
    /// Length of the whole body in bytes.
    pub body_len: usize,
    /// Whether only the first part of the body was kept (see `SandboxConfig::log_body_limit`).
    pub body_truncated: bool,
    /// Status the sandbox answered with.
    pub status: Option<u16>,
    /// When it arrived, on the sandbox clock (Unix milliseconds).
    pub at_unix_ms: i64,
}

impl RecordedRequest {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body bytes kept in the log.
    pub fn body_bytes(&self) -> Vec<u8> {
        match (&self.body_text, &self.body_base64) {
            (Some(t), _) => t.as_bytes().to_vec(),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The body parsed as JSON, when it is.
    pub fn body_json(&self) -> Option<Value> {
        self.body_text
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
    }
}

/// The log of recorded requests. It keeps the newest `capacity` entries, so a long-running sandbox
/// does not grow without bound.
#[derive(Debug)]
pub struct RequestLog {
    entries: Mutex<VecDeque<RecordedRequest>>,
    next_id: Mutex<u64>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog::new(DEFAULT_CAPACITY)
    }
}

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

impl RequestLog {
    /// A log keeping the newest `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        RequestLog {
            entries: Mutex::new(VecDeque::new()),
            next_id: Mutex::new(0),
            capacity: capacity.max(1),
        }
    }

    /// Appends a request, assigning its id; returns the id.
    pub(crate) fn push(&self, mut entry: RecordedRequest) -> u64 {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            *next
        };
        entry.id = id;
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
        id
    }

    /// Records the answered status of request `id`.
    pub(crate) fn set_status(&self, id: u64, status: u16) {
        if let Some(e) = lock(&self.entries).iter_mut().rev().find(|e| e.id == id) {
            e.status = Some(status);
        }
    }

    /// Requests received, oldest first; only those of `platform` when given.
    pub fn list(&self, platform: Option<Platform>) -> Vec<RecordedRequest> {
        lock(&self.entries)
            .iter()
            .filter(|e| platform.is_none() || e.platform == platform)
            .cloned()
            .collect()
    }

    /// Forgets recorded requests (of `platform` only, when given).
    pub fn clear(&self, platform: Option<Platform>) {
        lock(&self.entries).retain(|e| platform.is_some() && e.platform != platform);
    }
}

/// Locks a mutex, recovering the data if a holder panicked (the state stays usable for later tests).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! Connector logs, into the host's traces, capped and redacted.

mod host;

use std::sync::Arc;

use super::{CallContext, Redactor};

/// Most bytes of messages and fields one call may log; past it events are counted, not written.
pub const DEFAULT_LOG_BUDGET: usize = 64 << 10;

/// The `log` capability of one call.
pub struct LogState {
    plugin: Arc<str>,
    version: Arc<str>,
    context: CallContext,
    redactor: Redactor,
    budget: usize,
    used: usize,
    dropped: u64,
}

impl LogState {
    /// Logging for one call of `plugin` at `version`.
    pub fn new(
        plugin: Arc<str>,
        version: Arc<str>,
        context: CallContext,
        redactor: Redactor,
    ) -> Self {
        LogState {
            plugin,
            version,
            context,
            redactor,
            budget: DEFAULT_LOG_BUDGET,
            used: 0,
            dropped: 0,
        }
    }

    /// Events dropped because the call's budget was spent.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes captured stdout or stderr (`stream`) as one event each, redacted, within budget.
    pub fn captured_output(&mut self, stream: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        let text = self.redactor.redact(text.trim_end());
        tracing::info!(
            target: "postd::plugin",
            plugin = %self.plugin,
            version = %self.version,
            tenant = %self.context.tenant,
            stream,
            "{text}"
        );
    }
}

//! The WIT `log` adapter.

use super::LogState;
use crate::runtime::wit::log::{self, Level};

impl log::Host for LogState {
    fn emit(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.used + size > self.budget {
            self.dropped += 1;
            if self.dropped == 1 {
                tracing::warn!(target: "postd::plugin", plugin = %self.plugin, "log budget spent; further events of this call are dropped");
            }
            return;
        }
        self.used += size;
        let message = self.redactor.redact(&message);
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", self.redactor.redact(v)))
            .collect::<Vec<_>>()
            .join(" ");
        let connection = self.context.connection.as_deref().unwrap_or("-");
        let job = self.context.job.as_deref().unwrap_or("-");
        macro_rules! event {
            ($level:expr) => {
                tracing::event!(
                    target: "postd::plugin",
                    $level,
                    plugin = %self.plugin,
                    version = %self.version,
                    tenant = %self.context.tenant,
                    connection,
                    job,
                    fields = %fields,
                    "{message}"
                )
            };
        }
        match level {
            Level::Trace => event!(tracing::Level::TRACE),
            Level::Debug => event!(tracing::Level::DEBUG),
            Level::Info => event!(tracing::Level::INFO),
            Level::Warn => event!(tracing::Level::WARN),
            Level::Error => event!(tracing::Level::ERROR),
        }
    }
}

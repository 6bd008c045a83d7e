//! Keeps secrets out of what a connector logs, and out of the errors it answers with.

use std::sync::{Arc, Mutex};

use super::memory::{CallMemory, MemoryExceeded};
use crate::runtime::wit::types::ConnectorError;

/// The secret values handed to (or written by) the current call. Everything the call logs or
/// prints passes through [`Redactor::redact`], which replaces each of them with `[redacted]`.
/// Each remembered value is host memory held for the call and charged to it.
#[derive(Debug, Clone)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<String>>>,
    memory: CallMemory,
}

impl Default for Redactor {
    /// A redactor whose memory is not charged to a call (tools and tests).
    fn default() -> Self {
        Redactor::charged_to(CallMemory::unlimited())
    }
}

/// Values shorter than this are not redacted: they would mangle ordinary words, and a
/// credential that short is no secret anyway.
const MIN_SECRET_LEN: usize = 6;

impl Redactor {
    /// A redactor whose remembered values are charged to `memory`.
    pub fn charged_to(memory: CallMemory) -> Self {
        Redactor {
            secrets: Arc::default(),
            memory,
        }
    }

    /// Remembers `value` as secret for the rest of the call; refused when the call may hold no
    /// more.
    pub fn remember(&self, value: &str) -> Result<(), MemoryExceeded> {
        if value.len() >= MIN_SECRET_LEN {
            let mut secrets = self.secrets.lock().expect("redactor lock");
            if !secrets.iter().any(|s| s == value) {
                self.memory.charge(value.len())?;
                // Longest first, so a secret containing another is replaced whole.
                let at = secrets.partition_point(|s| s.len() >= value.len());
                secrets.insert(at, value.to_string());
            }
        }
        Ok(())
    }

    /// `text` with every remembered secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.lock().expect("redactor lock");
        let mut out = text.to_string();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

impl Redactor {
    /// Replaces every remembered secret in the text of a connector's error.
    pub fn redact_connector_error(&self, error: &mut ConnectorError) {
        let redact = |text: &mut String| *text = self.redact(text);
        match error {
            ConnectorError::RateLimited(info) => redact(&mut info.reason),
            ConnectorError::AuthExpired(why)
            | ConnectorError::AuthRevoked(why)
            | ConnectorError::InvalidInput(why)
            | ConnectorError::NotSupported(why)
            | ConnectorError::Transient(why) => redact(why),
            ConnectorError::PermissionMissing(scopes) => scopes.iter_mut().for_each(redact),
            ConnectorError::Platform(platform) => {
                redact(&mut platform.code);
                redact(&mut platform.message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_values_are_replaced_wherever_they_appear() {
        let r = Redactor::default();
        r.remember("EAAB-token-123").unwrap();
        r.remember("abc").unwrap();
        assert_eq!(
            r.redact("token=EAAB-token-123; again EAAB-token-123"),
            "token=[redacted]; again [redacted]"
        );
        assert_eq!(r.redact("abc stays"), "abc stays");
    }

    #[test]
    fn longer_secrets_are_replaced_first_and_each_is_charged_once() {
        let memory = CallMemory::unlimited();
        let r = Redactor::charged_to(memory.clone());
        r.remember("secret").unwrap();
        r.remember("secret-longer").unwrap();
        r.remember("secret").unwrap();
        assert_eq!(r.redact("secret-longer secret"), "[redacted] [redacted]");
        assert_eq!(memory.held(), (19, 2));
    }

    #[test]
    fn connector_errors_lose_the_secrets_they_quote() {
        let r = Redactor::default();
        r.remember("sk-live-0123456789").unwrap();
        let mut error = ConnectorError::InvalidInput("key sk-live-0123456789 refused".into());
        r.redact_connector_error(&mut error);
        assert!(
            matches!(&error, ConnectorError::InvalidInput(why) if why == "key [redacted] refused"),
            "{error:?}"
        );
    }
}

//! The four capabilities a connector imports: `http`, `vault`, `queue` and `log`.
//!
//! Each follows one shape: a backend that knows nothing of wasm (a trait, with in-memory and
//! real implementations), per-call state that scopes it to one tenant, connection and job, and
//! a thin adapter implementing the generated WIT `Host` trait on that state.

pub mod http;
pub mod log;
pub mod memory;
pub mod queue;
mod redact;
pub mod vault;

pub use redact::Redactor;

/// Who a call runs for. The host sets it; a connector can never name another tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// The tenant.
    pub tenant: String,
    /// The connection, for calls that act on one (publish, refresh, health).
    pub connection: Option<String>,
    /// The job, for calls that run one (publish, handle-task).
    pub job: Option<String>,
    /// The tenant's enablement override for the plugin (the per-tenant table the admin API
    /// writes), which wins over `plugins.toml`'s `tenants` list when set.
    pub enabled: Option<bool>,
    /// The call's first egress request was already taken from its rate buckets
    /// (`Runtime::reserve_egress`).
    pub prepaid: bool,
}

impl CallContext {
    /// A call for `tenant` with no connection and no job (manifest, webhooks, authorize URL).
    pub fn tenant(tenant: impl Into<String>) -> Self {
        CallContext {
            tenant: tenant.into(),
            connection: None,
            job: None,
            enabled: None,
            prepaid: false,
        }
    }

    /// The same call, its first egress request already taken from its rate buckets.
    pub fn with_prepaid(mut self) -> Self {
        self.prepaid = true;
        self
    }

    /// The same call, acting on `connection`.
    pub fn with_connection(mut self, connection: impl Into<String>) -> Self {
        self.connection = Some(connection.into());
        self
    }

    /// The same call, with the tenant's enablement override for the plugin.
    pub fn with_enabled(mut self, enabled: Option<bool>) -> Self {
        self.enabled = enabled;
        self
    }

    /// The same call, running `job`.
    pub fn with_job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }
}

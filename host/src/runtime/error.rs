//! Why a call or a load failed. A connector's own error is data (in the call's answer); these
//! are the host's verdicts: a limit, a trap, a missing plugin, a component that cannot serve.

use std::path::PathBuf;
use std::time::Duration;

/// Why a call produced no answer. Each limit has its own case so operators and the job
/// pipeline can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No plugin with that id is configured.
    #[error("plugin `{0}` is not configured")]
    UnknownPlugin(String),
    /// The plugin is configured but no version of it loaded.
    #[error("plugin `{0}` has no loaded version: {1}")]
    NotLoaded(String, String),
    /// The plugin is not enabled for the calling tenant.
    #[error("plugin `{plugin}` is not enabled for tenant `{tenant}`")]
    NotEnabled {
        /// The plugin.
        plugin: String,
        /// The tenant.
        tenant: String,
    },
    /// The plugin (or tenant) already runs as many calls as it may; none freed up in time.
    #[error("plugin `{plugin}` is busy: {limit} calls already running ({scope} limit)")]
    Busy {
        /// The plugin.
        plugin: String,
        /// `plugin`, `tenant` or `instance pool`.
        scope: &'static str,
        /// The limit that was full.
        limit: usize,
    },
    /// The guest used its whole fuel budget.
    #[error("plugin `{plugin}` ran out of fuel ({budget} units)")]
    FuelExhausted {
        /// The plugin.
        plugin: String,
        /// The budget it had.
        budget: u64,
    },
    /// The call ran past its deadline, in guest code or waiting on the host.
    #[error("plugin `{plugin}` exceeded its {deadline:?} deadline ({during})")]
    DeadlineExceeded {
        /// The plugin.
        plugin: String,
        /// The deadline it had.
        deadline: Duration,
        /// `in guest code` or `waiting on host I/O`.
        during: &'static str,
    },
    /// The guest tried to grow its memory past the limit (and did not survive the refusal).
    #[error("plugin `{plugin}` hit its memory limit ({limit_bytes} bytes)")]
    MemoryLimit {
        /// The plugin.
        plugin: String,
        /// The limit.
        limit_bytes: usize,
    },
    /// The call would have made the host hold more on its behalf (vault writes, remembered
    /// secrets, continuations, recovery points, bodies in flight) than its caps allow.
    #[error(
        "plugin `{plugin}` hit its memory limit: the host would hold more than {limit_bytes} bytes or {limit_items} values for the call"
    )]
    HostMemoryLimit {
        /// The plugin.
        plugin: String,
        /// The call's byte cap (the plugin's memory limit).
        limit_bytes: usize,
        /// The call's cap on values held.
        limit_items: usize,
    },
    /// Running calls already hold the host's whole memory budget; retry later.
    #[error(
        "plugin `{plugin}` is busy: the host's memory for running calls is full ({ceiling_bytes} bytes)"
    )]
    HostMemoryFull {
        /// The plugin.
        plugin: String,
        /// The host-wide ceiling.
        ceiling_bytes: usize,
    },
    /// The connector answered, but a field of its answer is over its size cap; nothing of it
    /// is used.
    #[error("plugin `{plugin}` answered too much: {oversized}")]
    AnswerTooLarge {
        /// The plugin.
        plugin: String,
        /// The field and its cap.
        oversized: super::bounds::Oversized,
    },
    /// The connector answered `in-progress` with a continuation over the queue's caps; nothing
    /// of the answer is used.
    #[error("plugin `{plugin}` answered an unacceptable continuation: {refused}")]
    BadContinuation {
        /// The plugin.
        plugin: String,
        /// The cap it broke.
        refused: crate::capability::queue::ContinuationRefused,
    },
    /// The guest recursed past the wasm stack limit.
    #[error("plugin `{plugin}` overflowed its stack")]
    StackOverflow {
        /// The plugin.
        plugin: String,
    },
    /// The guest trapped (panic, unreachable, bad memory access, ...).
    #[error("plugin `{plugin}` trapped: {message}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The trap and its backtrace.
        message: String,
    },
    /// The host failed around the call (instantiation, committing vault writes).
    #[error("plugin `{plugin}`: host failure: {message}")]
    Host {
        /// The plugin.
        plugin: String,
        /// What failed.
        message: String,
    },
}

impl CallError {
    /// A short, stable code for metrics and the job pipeline.
    pub fn code(&self) -> &'static str {
        match self {
            CallError::UnknownPlugin(_) => "unknown-plugin",
            CallError::NotLoaded(..) => "not-loaded",
            CallError::NotEnabled { .. } => "not-enabled",
            CallError::Busy { .. } | CallError::HostMemoryFull { .. } => "busy",
            CallError::FuelExhausted { .. } => "fuel-exhausted",
            CallError::DeadlineExceeded { .. } => "deadline-exceeded",
            CallError::MemoryLimit { .. } | CallError::HostMemoryLimit { .. } => "memory-limit",
            CallError::StackOverflow { .. } => "stack-overflow",
            CallError::AnswerTooLarge { .. } => "answer-too-large",
            CallError::BadContinuation { .. } => "bad-continuation",
            CallError::Trap { .. } => "trap",
            CallError::Host { .. } => "host-failure",
        }
    }
}

/// Why a component was not loaded (the version already serving, if any, keeps serving).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct LoadError {
    /// The component file (or `<upload>` for bytes that came from the admin API).
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: LoadProblem,
}

/// What is wrong with a component.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadProblem {
    /// The file could not be read.
    #[error("cannot read the component: {0}")]
    Unreadable(String),
    /// The bytes are not a valid WebAssembly component.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// The component targets another world: it imports something this host does not provide
    /// or does not export a `postd:connector/connector` version the host serves.
    #[error("not a postd:connector component this host serves (0.1.0 or 0.2.0): {0}")]
    ForeignWorld(String),
    /// `manifest()` did not answer.
    #[error("its manifest() call failed: {0}")]
    ManifestFailed(String),
    /// The manifest's id differs from the component the entry names (its `component`, or its
    /// id).
    #[error(
        "its manifest id `{found}` does not match `{expected}` (the entry's `component`, which defaults to the plugin id)"
    )]
    IdMismatch {
        /// The configured component id.
        expected: String,
        /// The manifest's id.
        found: String,
    },
    /// Built with an SDK this host cannot serve.
    #[error("built with postd-sdk {found}; this host supports {supported}")]
    UnsupportedSdk {
        /// The SDK version in the manifest.
        found: String,
        /// What this host supports.
        supported: String,
    },
    /// The plugin entry names a setting or secret the connector does not declare.
    #[error("its entry sets `{name}`, which the connector does not read (it reads: {known})")]
    UnknownSetting {
        /// The name in the entry.
        name: String,
        /// The names the manifest declares, comma-separated.
        known: String,
    },
    /// The plugin entry lacks a setting or secret the connector requires.
    #[error("its entry lacks `{name}` ({description}), which the connector requires")]
    MissingSetting {
        /// The declared name.
        name: String,
        /// What the manifest says it is for.
        description: String,
    },
    /// The manifest is malformed (empty id, version not semver, ...).
    #[error("its manifest is invalid: {0}")]
    BadManifest(String),
}

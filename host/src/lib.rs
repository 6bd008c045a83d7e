//! Postd Connector Host: runs third-party API connectors as sandboxed WebAssembly components.
//!
//! - [`runtime`]: the engine, plugin registry, per-call limits and hot swap.
//! - [`capability`]: what connectors import: `http`, `vault`, `queue`, `log`.
//! - [`config`]: `plugins.toml` and service settings.
//! - [`store`]: the database (SQLite now; PostgreSQL with the job pipeline).
//! - [`check`]: `postd-host check <file.wasm>`.
//! - [`trial`]: a component run outside the service (`postd-host try`, `postd-testkit`).
//! - [`scaffold`]: `postd-host new <id>`, a connector crate to start from.
//! - [`time`]: points in time and spans whose arithmetic saturates instead of overflowing.
//! - [`files`]: the host's own files and directories, private to its user.
//! - [`telemetry`]: logs, and OpenTelemetry traces exported over OTLP when configured.
#![deny(missing_docs)]

pub mod api;
pub mod capability;
pub mod check;
pub mod config;
pub mod connect;
pub mod console;
pub mod events;
pub mod files;
pub mod fleet;
pub mod jobs;
pub mod redis_link;
pub mod runtime;
pub mod scaffold;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod trial;

//! The job pipeline over real databases (SQLite; PostgreSQL + Redis), the real host runtime
//! running the pipeline fixture component, a test platform over loopback HTTP, and the HTTP API
//! over it all.

mod accept;
mod api;
mod contracts;
mod crash;
mod dispatch;
mod holds;
mod python_connector;
mod rate_limits;
mod refresh;
mod retention;
mod retries;
mod support;
mod traces;
mod vault;

//! The job pipeline over real databases (SQLite; PostgreSQL + Redis), the real host runtime
//! running the pipeline fixture component, and a test platform over loopback HTTP.

mod accept;
mod crash;
mod dispatch;
mod refresh;
mod retries;
mod support;

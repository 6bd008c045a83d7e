//! The runtime against real components built from `connectors/` and `tests/fixtures/`.

mod check;
mod host_memory;
mod hot_swap;
mod limits;
mod loading;
mod pool;
mod support;
mod tryout;
mod validation;

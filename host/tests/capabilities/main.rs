//! The capabilities' WIT `Host` implementations, called directly, without building wasm.

mod http;
mod kms;
mod media;
mod queue;
mod rate;
mod rotate_cli;
mod vault;

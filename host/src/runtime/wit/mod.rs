//! Host bindings of the connector contract, one module per WIT version.
//!
//! `since_v0_1_0` binds `wit/since_v0.1.0`. When the contract changes, the new version gets a
//! folder and a module of its own, the capabilities implement the newest one, and older modules
//! convert into it, so components built against an older SDK keep loading.

pub mod since_v0_1_0;

pub use since_v0_1_0::*;

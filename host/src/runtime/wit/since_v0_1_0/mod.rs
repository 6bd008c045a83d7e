//! `postd:connector@0.1.0`: its bindings, and how the host serves a 0.1 component while the
//! capabilities speak the newest contract.
//!
//! Imports forward to the newest `Host` implementations with their arguments and answers
//! converted (`imports.rs`); exports are called with the newest types converted down and their
//! answers converted up (`exports.rs`). Where 0.2 changed something, the 0.1 behaviour is kept
//! here: `queue.enqueue` still collects continuations during the call, and an `in-progress`
//! answer carries none of its own (the pipeline takes the enqueued ones).

mod convert;
mod exports;
mod imports;

use wasmtime::component::{HasSelf, Linker};

use crate::runtime::state::CallState;

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "connector-plugin",
        imports: {
            "postd:connector/http.send": async | trappable,
            "postd:connector/vault.get": async | trappable,
            "postd:connector/vault.put": trappable,
            "postd:connector/vault.delete": async | trappable,
            "postd:connector/vault.app-secret": trappable,
            "postd:connector/queue.enqueue": async | trappable,
            "postd:connector/queue.checkpoint": async | trappable,
        },
        exports: { default: async },
    });
}

pub(crate) use exports::call;
pub use generated::{ConnectorPlugin, ConnectorPluginPre};

use generated::postd::connector::{http, log, queue, vault};

/// Defines the 0.1 `http`, `vault` and `queue` imports in `linker` (`log` is
/// [`add_logging`]'s).
pub(crate) fn add_capabilities(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    http::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.http)?;
    vault::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.vault)?;
    queue::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.queue)
}

/// Defines the 0.1 `log` import in `linker`.
pub(crate) fn add_logging(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    log::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.log)
}

//! Bindings of `postd:connector@0.1.0`, generated privately with a curated re-export.

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "connector-plugin",
        imports: {
            "postd:connector/http.send": async,
            "postd:connector/vault.get": async,
            "postd:connector/vault.delete": async,
            "postd:connector/queue.enqueue": async,
            "postd:connector/queue.checkpoint": async,
        },
        exports: { default: async },
    });
}

/// The world's typed instance and its pre-instantiated form.
pub use generated::{ConnectorPlugin, ConnectorPluginPre};

/// The imported interfaces, each with the `Host` trait a capability implements.
pub use generated::postd::connector::{http, log, queue, types, vault};

/// The exported `connector` interface and its types.
pub use generated::exports::postd::connector::connector;

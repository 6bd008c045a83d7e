//! Bindings of `postd:connector@0.2.0`, the newest contract: the capabilities implement its
//! `Host` traits and the runtime speaks its types. Generated privately with a curated re-export.

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "connector-plugin",
        // `trappable`: the imports that keep something for the call (charged to its host
        // memory) or can meet a host fault end the call with a trap instead of handing the
        // guest an error it could ignore.
        imports: {
            "postd:connector/http.send": async | trappable,
            "postd:connector/vault.get": async | trappable,
            "postd:connector/vault.put": trappable,
            "postd:connector/vault.delete": async | trappable,
            "postd:connector/vault.app-secret": trappable,
            "postd:connector/queue.checkpoint": async | trappable,
            "postd:connector/media.[static]source.open": async | trappable,
            "postd:connector/media.[method]source.send-range": async | trappable,
            "postd:connector/media.[method]source.size": trappable,
            "postd:connector/media.[method]source.mime-type": trappable,
        },
        with: { "postd:connector/media.source": crate::capability::http::MediaSource },
        exports: { default: async },
    });
}

/// The world's typed instance and its pre-instantiated form.
pub use generated::{ConnectorPlugin, ConnectorPluginPre};

/// The imported interfaces, each with the `Host` trait a capability implements.
pub use generated::postd::connector::{http, log, media, queue, types, vault};

/// The exported `connector` interface and its types.
pub use generated::exports::postd::connector::connector;

//! Generated guest bindings for `postd:connector@0.2.0`.
//!
//! Private to the SDK: authors see the curated re-exports in the crate root, so a change of
//! binding generator or WIT layout does not ripple into every connector.

wit_bindgen::generate!({
    path: "../wit/since_v0.2.0",
    world: "connector-plugin",
    pub_export_macro: true,
    export_macro_name: "__export_connector",
    default_bindings_module: "::postd_sdk::__private::bindings",
    runtime_path: "::postd_sdk::__private::wit_bindgen::rt",
    generate_all,
});

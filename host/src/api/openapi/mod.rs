//! The OpenAPI 3.0 document, built from one table of the routes (which the tests check against
//! the router: every documented operation is routed, and answers as documented when unauthorized).

mod answers;
mod operations;
mod params;
mod requests;

use serde_json::{Value, json};

use answers::{answer_schema, answer_schemas, take_definitions};
use params::parameters;
use requests::schemas;

pub use operations::OPERATIONS;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (operations, OAuth callback authenticated by its state, webhooks verified by signature).
    Public,
    /// A tenant's API key.
    Tenant,
    /// The admin key.
    Admin,
}

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its success status.
    pub success: u16,
    /// The request body schema, if it takes JSON.
    pub body: Option<&'static str>,
}

/// Lists paged with `cursor` and `limit` (see `paging`).
const PAGED: &[&str] = &[
    "/v1/connections",
    "/v1/jobs",
    "/v1/dead-letters",
    "/v1/event-endpoints/{id}/deliveries",
    "/admin/tenants",
    "/admin/tenants/{tenant}/connections",
    "/admin/audit",
];

/// The document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    let mut answers = answer_schemas();
    for operation in OPERATIONS {
        let mut entry = json!({
            "operationId": format!("{}{}", operation.method, operation.path.replace(['/', '{', '}', '.', '-'], "_")),
            "summary": operation.summary,
            "parameters": parameters(operation.method, operation.path),
            "responses": {
                operation.success.to_string(): { "description": "Success" },
                "default": {
                    "description": "An error",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }
            }
        });
        if let Some(schema) = answer_schema(&mut answers, operation.method, operation.path) {
            let success = operation.success.to_string();
            entry["responses"][&success]["content"] =
                json!({ "application/json": { "schema": schema } });
            if operation.method == "get" && PAGED.contains(&operation.path) {
                entry["responses"][&success]["headers"] = json!({
                    "next-cursor": {
                        "description": "When the page is full: the `cursor` of the next page",
                        "schema": { "type": "string" }
                    }
                });
            }
            if (operation.method, operation.path) == ("post", "/v1/posts") {
                // A repeat with the same key and payload answers the post accepted earlier.
                entry["responses"]["200"] = entry["responses"][&success].clone();
                entry["responses"]["200"]["description"] =
                    json!("A repeat: the post accepted earlier under this key");
            }
        }
        match operation.access {
            Access::Tenant => entry["security"] = json!([{ "tenantKey": [] }]),
            Access::Admin => entry["security"] = json!([{ "adminKey": [] }]),
            Access::Public => entry["security"] = json!([]),
        }
        if (operation.method, operation.path) == ("put", "/admin/plugins/{id}/config") {
            entry["requestBody"] = json!({
                "required": true,
                "description": "The keys of a `[plugins.<id>]` table of plugins.toml, as TOML (app secrets only as `{ env = \"…\" }`)",
                "content": { "text/plain": { "schema": { "type": "string" } } }
            });
        }
        if [
            ("put", "/admin/plugins/{id}"),
            ("post", "/admin/plugins/{id}/check"),
        ]
        .contains(&(operation.method, operation.path))
        {
            entry["requestBody"] = json!({
                "required": true,
                "description": "The component (wasm32-wasip2), at most 64 MiB",
                "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } }
            });
        }
        if let Some(schema) = operation.body {
            entry["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
            });
        }
        paths
            .entry(operation.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(operation.method.to_string(), entry);
    }
    let mut components = schemas();
    let named = components
        .as_object_mut()
        .expect("the request schemas are an object");
    for (name, schema) in take_definitions(&mut answers) {
        assert!(
            named.insert(name.clone(), schema).is_none(),
            "two schemas are named `{name}`"
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Postd Connector Host", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "tenantKey": { "type": "http", "scheme": "bearer", "description": "A tenant's API key" },
                "adminKey": { "type": "http", "scheme": "bearer", "description": "The admin key (POSTD_ADMIN_KEY)" }
            }
        }
    })
}

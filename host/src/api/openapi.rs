//! The OpenAPI 3.0 document, built from one table of the routes (which the tests check against
//! the router: every documented operation is routed, and answers as documented when unauthorized).

use serde_json::{Value, json};

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

const fn op(
    method: &'static str,
    path: &'static str,
    access: Access,
    success: u16,
    body: Option<&'static str>,
    summary: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        access,
        success,
        body,
    }
}

use Access::{Admin, Public, Tenant};

/// Every route of the API.
pub const OPERATIONS: &[Operation] = &[
    op(
        "get",
        "/v1/connections",
        Tenant,
        200,
        None,
        "List the tenant's connections",
    ),
    op(
        "post",
        "/v1/connections",
        Tenant,
        201,
        Some("NewApiKeyConnection"),
        "Connect an account with an API key",
    ),
    op(
        "get",
        "/v1/connections/{id}",
        Tenant,
        200,
        None,
        "Read a connection",
    ),
    op(
        "delete",
        "/v1/connections/{id}",
        Tenant,
        204,
        None,
        "Delete a connection, erasing its secrets and cancelling its pending jobs",
    ),
    op(
        "post",
        "/v1/connections/{id}/refresh",
        Tenant,
        200,
        None,
        "Refresh a connection's tokens now",
    ),
    op(
        "get",
        "/v1/connections/{id}/accounts",
        Tenant,
        200,
        None,
        "List the accounts a connection can post to",
    ),
    op(
        "get",
        "/v1/oauth/{plugin}/start",
        Tenant,
        200,
        None,
        "Start an OAuth authorization (state valid 10 minutes, single use)",
    ),
    op(
        "get",
        "/v1/oauth/{plugin}/callback",
        Public,
        200,
        None,
        "OAuth redirect target; the state authenticates it",
    ),
    op(
        "post",
        "/v1/posts",
        Tenant,
        202,
        Some("CreatePost"),
        "Publish or schedule a post to one or more targets (Idempotency-Key header)",
    ),
    op(
        "get",
        "/v1/posts/{id}",
        Tenant,
        200,
        None,
        "Read a post and its jobs",
    ),
    op(
        "delete",
        "/v1/posts/{id}",
        Tenant,
        200,
        None,
        "Cancel pending jobs and delete published posts where the platform allows",
    ),
    op(
        "get",
        "/v1/analytics",
        Tenant,
        200,
        None,
        "Figures for an account or a post",
    ),
    op(
        "get",
        "/v1/jobs",
        Tenant,
        200,
        None,
        "List jobs, optionally by status",
    ),
    op(
        "get",
        "/v1/dead-letters",
        Tenant,
        200,
        None,
        "List dead letters not yet replayed",
    ),
    op(
        "post",
        "/v1/dead-letters/{id}/replay",
        Tenant,
        202,
        None,
        "Run a dead-lettered job again with its idempotency key",
    ),
    op(
        "get",
        "/webhooks/{plugin}",
        Public,
        200,
        None,
        "Answer a platform's subscription challenge",
    ),
    op(
        "post",
        "/webhooks/{plugin}",
        Public,
        200,
        None,
        "Receive a platform delivery (verified over the raw body)",
    ),
    op(
        "get",
        "/admin/plugins",
        Admin,
        200,
        None,
        "List plugins with version, digest and status",
    ),
    op(
        "put",
        "/admin/plugins/{id}",
        Admin,
        200,
        None,
        "Upload a component: validated, then hot-swapped",
    ),
    op(
        "post",
        "/admin/plugins/{id}/rollback",
        Admin,
        200,
        None,
        "Serve the previous version again",
    ),
    op(
        "post",
        "/admin/tenants",
        Admin,
        201,
        Some("NewTenant"),
        "Create a tenant and its first API key",
    ),
    op(
        "put",
        "/admin/tenants/{tenant}/plugins/{id}",
        Admin,
        204,
        Some("Enablement"),
        "Enable or disable a plugin for a tenant",
    ),
    op(
        "delete",
        "/admin/tenants/{tenant}/plugins/{id}",
        Admin,
        204,
        None,
        "Remove a tenant's override (back to plugins.toml)",
    ),
    op("get", "/livez", Public, 200, None, "The process answers"),
    op(
        "get",
        "/readyz",
        Public,
        200,
        None,
        "Database, Redis and plugins are ready",
    ),
    op("get", "/metrics", Public, 200, None, "Prometheus metrics"),
    op("get", "/openapi.json", Public, 200, None, "This document"),
];

fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect()
}

fn schemas() -> Value {
    json!({
        "Error": {
            "type": "object", "required": ["code", "message"],
            "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
        },
        "NewApiKeyConnection": {
            "type": "object", "required": ["plugin", "api_key"], "additionalProperties": false,
            "properties": { "plugin": { "type": "string" }, "api_key": { "type": "string" }, "id": { "type": "string" } }
        },
        "Target": {
            "type": "object", "required": ["connection_id", "account_id"],
            "properties": { "connection_id": { "type": "string" }, "account_id": { "type": "string" } }
        },
        "Media": {
            "type": "object", "required": ["kind", "url"],
            "properties": {
                "kind": { "enum": ["image", "video"] }, "url": { "type": "string" },
                "mime_type": { "type": "string" }, "size_bytes": { "type": "integer" }, "alt_text": { "type": "string" }
            }
        },
        "CreatePost": {
            "type": "object", "required": ["text", "targets"], "additionalProperties": false,
            "properties": {
                "text": { "type": "string" }, "link": { "type": "string" },
                "media": { "type": "array", "items": { "$ref": "#/components/schemas/Media" } },
                "options": { "type": "object", "additionalProperties": { "type": "string" } },
                "targets": { "type": "array", "minItems": 1, "items": { "$ref": "#/components/schemas/Target" } },
                "scheduled_for": { "type": "integer", "description": "Unix seconds" }
            }
        },
        "NewTenant": {
            "type": "object", "required": ["id", "name"], "additionalProperties": false,
            "properties": { "id": { "type": "string" }, "name": { "type": "string" } }
        },
        "Enablement": {
            "type": "object", "required": ["enabled"], "additionalProperties": false,
            "properties": { "enabled": { "type": "boolean" } }
        }
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for operation in OPERATIONS {
        let mut entry = json!({
            "operationId": format!("{}{}", operation.method, operation.path.replace(['/', '{', '}', '.', '-'], "_")),
            "summary": operation.summary,
            "parameters": parameters(operation.path),
            "responses": {
                operation.success.to_string(): { "description": "Success" },
                "default": {
                    "description": "An error",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }
            }
        });
        match operation.access {
            Access::Tenant => entry["security"] = json!([{ "tenantKey": [] }]),
            Access::Admin => entry["security"] = json!([{ "adminKey": [] }]),
            Access::Public => entry["security"] = json!([]),
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
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Postd Connector Host", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "tenantKey": { "type": "http", "scheme": "bearer", "description": "A tenant's API key" },
                "adminKey": { "type": "http", "scheme": "bearer", "description": "The admin key (POSTD_ADMIN_KEY)" }
            }
        }
    })
}

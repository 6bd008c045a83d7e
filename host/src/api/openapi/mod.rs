//! The OpenAPI 3.0 document, built from one table of the routes (which the tests check against
//! the router: every documented operation is routed, and answers as documented when unauthorized).

mod answers;
mod params;
mod requests;

use serde_json::{Value, json};

use answers::{answer_schema, answer_schemas, take_definitions};
use params::parameters;
use requests::schemas;

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
        "/v1/oauth/return-origins",
        Tenant,
        200,
        None,
        "The origins an OAuth `return_to` may name",
    ),
    op(
        "put",
        "/v1/oauth/return-origins",
        Tenant,
        200,
        Some("ReturnOrigins"),
        "Replace the origins an OAuth `return_to` may name (https, or http on localhost)",
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
        "/v1/jobs/{id}/attempts",
        Tenant,
        200,
        None,
        "A job's recorded runs, oldest first, each with its trace id when traces are exported",
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
        "/v1/event-types",
        Tenant,
        200,
        None,
        "List the event types an endpoint can receive (schemas: components.schemas.Event_*)",
    ),
    op(
        "get",
        "/v1/event-endpoints",
        Tenant,
        200,
        None,
        "List the tenant's event endpoints",
    ),
    op(
        "post",
        "/v1/event-endpoints",
        Tenant,
        201,
        Some("NewEventEndpoint"),
        "Add an endpoint for signed events; the answer shows its signing secret, once",
    ),
    op(
        "get",
        "/v1/event-endpoints/{id}",
        Tenant,
        200,
        None,
        "Read an event endpoint",
    ),
    op(
        "patch",
        "/v1/event-endpoints/{id}",
        Tenant,
        200,
        Some("EventEndpointPatch"),
        "Change an endpoint's URL, event types, description or enablement",
    ),
    op(
        "delete",
        "/v1/event-endpoints/{id}",
        Tenant,
        204,
        None,
        "Delete an endpoint with its deliveries and secrets",
    ),
    op(
        "post",
        "/v1/event-endpoints/{id}/rotate-secret",
        Tenant,
        200,
        None,
        "New signing secret (shown once); the old one also signs for the grace period",
    ),
    op(
        "get",
        "/v1/event-endpoints/{id}/deliveries",
        Tenant,
        200,
        None,
        "An endpoint's deliveries with their attempts, newest first (state, limit)",
    ),
    op(
        "post",
        "/v1/event-endpoints/{id}/redeliver",
        Tenant,
        202,
        Some("Redeliver"),
        "Send one event, or every event of a time range, again",
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
        "get",
        "/admin/plugins/{id}/config",
        Admin,
        200,
        None,
        "A plugin's effective configuration and whether the admin API or plugins.toml sets it",
    ),
    op(
        "put",
        "/admin/plugins/{id}/config",
        Admin,
        200,
        None,
        "Set a plugin's configuration for every replica (TOML keys of a [plugins.<id>] table)",
    ),
    op(
        "delete",
        "/admin/plugins/{id}/config",
        Admin,
        200,
        None,
        "Remove the configuration set through the API; plugins.toml applies again",
    ),
    op(
        "get",
        "/admin/config",
        Admin,
        200,
        None,
        "The plugin file, why its last change was refused, and the plugins the API configures",
    ),
    op(
        "get",
        "/admin/tenants",
        Admin,
        200,
        None,
        "List tenants, oldest first (status, limit, cursor)",
    ),
    op(
        "post",
        "/admin/tenants",
        Admin,
        201,
        Some("NewTenant"),
        "Create a tenant and its first API key (shown once)",
    ),
    op(
        "get",
        "/admin/tenants/{tenant}",
        Admin,
        200,
        None,
        "Read a tenant with its keys, plugin enablement and connections by status",
    ),
    op(
        "delete",
        "/admin/tenants/{tenant}",
        Admin,
        200,
        None,
        "Delete a tenant: secrets erased, jobs cancelled, keys revoked (the id is not reused)",
    ),
    op(
        "post",
        "/admin/tenants/{tenant}/disable",
        Admin,
        200,
        Some("DisableTenant"),
        "Disable a tenant: its keys refused on every replica, its jobs held",
    ),
    op(
        "post",
        "/admin/tenants/{tenant}/enable",
        Admin,
        200,
        None,
        "Re-enable a disabled tenant; its held jobs are queued",
    ),
    op(
        "get",
        "/admin/tenants/{tenant}/keys",
        Admin,
        200,
        None,
        "List a tenant's API keys (never the keys)",
    ),
    op(
        "post",
        "/admin/tenants/{tenant}/keys",
        Admin,
        201,
        Some("NewApiKey"),
        "Create a named API key (shown once)",
    ),
    op(
        "delete",
        "/admin/tenants/{tenant}/keys/{id}",
        Admin,
        200,
        None,
        "Revoke an API key now",
    ),
    op(
        "post",
        "/admin/tenants/{tenant}/keys/{id}/rotate",
        Admin,
        201,
        Some("RotateApiKey"),
        "Replace an API key by a new one (shown once); the old one works for the grace period",
    ),
    op(
        "get",
        "/admin/tenants/{tenant}/plugins",
        Admin,
        200,
        None,
        "Whether the tenant may use each configured plugin, and what decides",
    ),
    op(
        "get",
        "/admin/tenants/{tenant}/connections",
        Admin,
        200,
        None,
        "A tenant's connections with their status, oldest first",
    ),
    op(
        "get",
        "/admin/audit",
        Admin,
        200,
        None,
        "The audit log, newest first (tenant, action, actor, since_ms, until_ms, limit, cursor)",
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
        if (operation.method, operation.path) == ("put", "/admin/plugins/{id}") {
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

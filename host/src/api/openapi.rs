//! The OpenAPI 3.0 document, built from one table of the routes (which the tests check against
//! the router: every documented operation is routed, and answers as documented when unauthorized).

use serde_json::{Value, json};

use crate::events::EventType;

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

/// A query parameter or header of one operation.
struct Param {
    method: &'static str,
    path: &'static str,
    /// `query` or `header`.
    place: &'static str,
    name: &'static str,
    required: bool,
    /// A JSON schema, as text.
    schema: &'static str,
    description: &'static str,
}

const fn param(
    method: &'static str,
    path: &'static str,
    place: &'static str,
    name: &'static str,
    required: bool,
    schema: &'static str,
    description: &'static str,
) -> Param {
    Param {
        method,
        path,
        place,
        name,
        required,
        schema,
        description,
    }
}

const STRING: &str = r#"{"type":"string"}"#;
const INTEGER: &str = r#"{"type":"integer","format":"int64"}"#;
const LIMIT: &str = r#"{"type":"integer","minimum":0,"maximum":4294967295}"#;

/// The query parameters and headers operations take, beside their path parameters; each is
/// read by its handler's query type (`StartQuery`, `AnalyticsQuery`, `JobsQuery`,
/// `DeliveriesQuery`) or headers.
const PARAMETERS: &[Param] = &[
    param("get", "/v1/oauth/{plugin}/start", "query", "connection_id", false, STRING, "Re-authorize this connection instead of creating one"),
    param("get", "/v1/oauth/{plugin}/start", "query", "return_to", false, STRING, "Where the callback sends the user's browser (under one of the tenant's return origins)"),
    param("get", "/v1/oauth/{plugin}/callback", "query", "state", true, STRING, "The state `start` answered with"),
    param("get", "/v1/oauth/{plugin}/callback", "query", "code", false, STRING, "The platform's authorization code"),
    param("get", "/v1/oauth/{plugin}/callback", "query", "error", false, STRING, "The platform's refusal"),
    param("post", "/v1/posts", "header", "Idempotency-Key", true, r#"{"type":"string","minLength":1,"maxLength":255}"#, "A retry with the same key and payload answers the same post"),
    param("get", "/v1/analytics", "query", "connection", true, STRING, "The connection"),
    param("get", "/v1/analytics", "query", "account", true, STRING, "The account"),
    param("get", "/v1/analytics", "query", "post", false, STRING, "One post (the platform's id), or the whole account"),
    param("get", "/v1/analytics", "query", "since", false, INTEGER, "Start, Unix seconds (default 7 days ago)"),
    param("get", "/v1/analytics", "query", "until", false, INTEGER, "End, Unix seconds (default now)"),
    param("get", "/v1/analytics", "query", "metrics", false, STRING, "Metric names, comma-separated (default: the connector's choice)"),
    param("get", "/v1/jobs", "query", "status", false, r#"{"enum":["queued","running","paused","published","dead","cancelled","deleted"]}"#, "Only jobs in this state"),
    param("get", "/v1/jobs", "query", "limit", false, LIMIT, "At most this many (default 100, at most 1000)"),
    param("get", "/v1/event-endpoints/{id}/deliveries", "query", "state", false, r#"{"enum":["pending","delivered","failed"]}"#, "Only deliveries in this state"),
    param("get", "/v1/event-endpoints/{id}/deliveries", "query", "limit", false, LIMIT, "At most this many (default 50, at most 500)"),
];

fn parameters(method: &str, path: &str) -> Vec<Value> {
    let in_path = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
    let others = PARAMETERS
        .iter()
        .filter(|p| p.method == method && p.path == path)
        .map(|p| {
            let schema: Value = serde_json::from_str(p.schema).expect("parameter schemas are JSON");
            json!({ "name": p.name, "in": p.place, "required": p.required, "description": p.description, "schema": schema })
        });
    in_path.chain(others).collect()
}

fn schemas() -> Value {
    let mut schemas = json!({
        "Error": {
            "type": "object", "required": ["code", "message"],
            "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
        },
        "ReturnOrigins": {
            "type": "object", "required": ["origins"], "additionalProperties": false,
            "properties": { "origins": { "type": "array", "maxItems": 20, "items": { "type": "string" } } }
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
        },
        "NewEventEndpoint": {
            "type": "object", "required": ["url"], "additionalProperties": false,
            "properties": {
                "url": { "type": "string", "description": "https, or http to an address in event_allowed_ranges" },
                "event_types": { "type": "array", "items": { "type": "string" }, "description": "Empty or [\"*\"] for all" },
                "description": { "type": "string" },
                "enabled": { "type": "boolean" }
            }
        },
        "EventEndpointPatch": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "url": { "type": "string" },
                "event_types": { "type": "array", "items": { "type": "string" } },
                "description": { "type": "string" },
                "enabled": { "type": "boolean" }
            }
        },
        "Redeliver": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "event_id": { "type": "string" },
                "since_ms": { "type": "integer", "description": "Unix ms, inclusive" },
                "until_ms": { "type": "integer", "description": "Unix ms, exclusive (default now)" }
            }
        }
    });
    let schemas = schemas.as_object_mut().expect("the schemas are an object");
    for kind in EventType::ALL {
        schemas.insert(event_schema_name(kind), event_schema(kind));
    }
    serde_json::Value::Object(std::mem::take(schemas))
}

/// The component name of an event type's delivery body: `Event_post_published`.
fn event_schema_name(kind: EventType) -> String {
    format!("Event_{}", kind.as_str().replace('.', "_"))
}

/// The schema of a delivery body of `kind`: the envelope, with that type's data.
fn event_schema(kind: EventType) -> Value {
    json!({
        "type": "object",
        "description": format!("`{}`: {}. POSTed to event endpoints, signed as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature).", kind.as_str(), kind.summary()),
        "required": ["id", "type", "timestamp", "tenant_id", "data"],
        "properties": {
            "id": { "type": "string", "description": "The event id; also the webhook-id header, the same on every attempt" },
            "type": { "enum": [kind.as_str()] },
            "timestamp": { "type": "string", "format": "date-time", "description": "When it occurred (RFC 3339, UTC)" },
            "tenant_id": { "type": "string" },
            "data": kind.data_schema()
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
            "parameters": parameters(operation.method, operation.path),
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
        if (operation.method, operation.path) == ("put", "/admin/plugins/{id}") {
            entry["requestBody"] = json!({
                "required": true,
                "description": "The component (wasm32-wasip2), at most 64 MiB",
                "content": { "application/wasm": { "schema": { "type": "string", "format": "binary" } } }
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

//! Request body schemas (written by hand beside the handlers' body types, which refuse unknown
//! fields) and the outbound event schemas.

use serde_json::{Value, json};

use crate::events::EventType;

pub(super) fn schemas() -> Value {
    let mut schemas = json!({
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
        "NewConnectSession": {
            "type": "object", "required": ["return_to"], "additionalProperties": false,
            "properties": {
                "plugins": { "type": "array", "maxItems": 20, "items": { "type": "string" }, "description": "Plugins to offer (default: every plugin the tenant may use)" },
                "return_to": { "type": "string", "description": "Where the user goes back to, under one of the tenant's return origins" }
            }
        },
        "ReplayBody": {
            "type": "object", "additionalProperties": false,
            "properties": { "options": { "type": "object", "maxProperties": 32,
                "additionalProperties": { "type": "string", "nullable": true, "maxLength": 4096 },
                "description": "Options to change before the job runs again: a value sets it, null removes it" } }
        },
        "NewTenant": {
            "type": "object", "required": ["id", "name"], "additionalProperties": false,
            "properties": { "id": { "type": "string" }, "name": { "type": "string" } }
        },
        "DisableTenant": {
            "type": "object", "additionalProperties": false,
            "properties": { "reason": { "type": "string", "maxLength": 500 } }
        },
        "TenantLimits": {
            "type": "object", "additionalProperties": false,
            "properties": { "egress_per_second": { "type": "integer", "nullable": true, "minimum": 0, "maximum": 1000000, "description": "Requests a second across plugins (0: no ceiling); null or absent: the host's tenant_egress_per_second" } }
        },
        "NewApiKey": {
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 64 } }
        },
        "RotateApiKey": {
            "type": "object", "additionalProperties": false,
            "properties": { "grace_secs": { "type": "integer", "minimum": 0, "maximum": 2592000, "description": "How long the old key keeps working (default 0)" } }
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

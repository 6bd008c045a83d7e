//! Query parameters and headers of the operations that take them.

use serde_json::{Value, json};

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
    param(
        "get",
        "/v1/oauth/{plugin}/start",
        "query",
        "connection_id",
        false,
        STRING,
        "Re-authorize this connection instead of creating one",
    ),
    param(
        "get",
        "/v1/oauth/{plugin}/start",
        "query",
        "return_to",
        false,
        STRING,
        "Where the callback sends the user's browser (under one of the tenant's return origins)",
    ),
    param(
        "get",
        "/v1/oauth/{plugin}/callback",
        "query",
        "state",
        true,
        STRING,
        "The state `start` answered with",
    ),
    param(
        "get",
        "/v1/oauth/{plugin}/callback",
        "query",
        "code",
        false,
        STRING,
        "The platform's authorization code",
    ),
    param(
        "get",
        "/v1/oauth/{plugin}/callback",
        "query",
        "error",
        false,
        STRING,
        "The platform's refusal",
    ),
    param(
        "post",
        "/v1/posts",
        "header",
        "Idempotency-Key",
        true,
        r#"{"type":"string","minLength":1,"maxLength":255,"pattern":"^[!-~]+$"}"#,
        "A retry with the same key and payload answers the same post",
    ),
    param(
        "get",
        "/v1/analytics",
        "query",
        "connection",
        true,
        STRING,
        "The connection",
    ),
    param(
        "get",
        "/v1/analytics",
        "query",
        "account",
        true,
        STRING,
        "The account",
    ),
    param(
        "get",
        "/v1/analytics",
        "query",
        "post",
        false,
        STRING,
        "One post (the platform's id), or the whole account",
    ),
    param(
        "get",
        "/v1/analytics",
        "query",
        "since",
        false,
        INTEGER,
        "Start, Unix seconds (default 7 days ago)",
    ),
    param(
        "get",
        "/v1/analytics",
        "query",
        "until",
        false,
        INTEGER,
        "End, Unix seconds (default now)",
    ),
    param(
        "get",
        "/v1/analytics",
        "query",
        "metrics",
        false,
        STRING,
        "Metric names, comma-separated (default: the connector's choice)",
    ),
    param(
        "get",
        "/v1/jobs",
        "query",
        "status",
        false,
        r#"{"enum":["queued","running","paused","published","dead","cancelled","deleted"]}"#,
        "Only jobs in this state",
    ),
    param(
        "get",
        "/v1/jobs",
        "query",
        "limit",
        false,
        LIMIT,
        "At most this many (default 100, at most 1000)",
    ),
    param(
        "get",
        "/v1/jobs",
        "query",
        "cursor",
        false,
        STRING,
        "The previous page's `next-cursor` header",
    ),
    param(
        "get",
        "/v1/dead-letters",
        "query",
        "limit",
        false,
        LIMIT,
        "At most this many (default 100, at most 1000)",
    ),
    param(
        "get",
        "/v1/dead-letters",
        "query",
        "cursor",
        false,
        STRING,
        "The previous page's `next-cursor` header",
    ),
    param(
        "get",
        "/v1/event-endpoints/{id}/deliveries",
        "query",
        "state",
        false,
        r#"{"enum":["pending","delivered","failed"]}"#,
        "Only deliveries in this state",
    ),
    param(
        "get",
        "/v1/event-endpoints/{id}/deliveries",
        "query",
        "limit",
        false,
        LIMIT,
        "At most this many (default 50, at most 500)",
    ),
    param(
        "get",
        "/v1/event-endpoints/{id}/deliveries",
        "query",
        "cursor",
        false,
        STRING,
        "The previous page's `next-cursor` header",
    ),
    param(
        "get",
        "/v1/connections",
        "query",
        "limit",
        false,
        LIMIT,
        "At most this many (default 100, at most 1000)",
    ),
    param(
        "get",
        "/v1/connections",
        "query",
        "cursor",
        false,
        STRING,
        "The previous page's `next-cursor` header",
    ),
];

pub(super) fn parameters(method: &str, path: &str) -> Vec<Value> {
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

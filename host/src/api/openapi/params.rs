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
        "plugin",
        false,
        STRING,
        "Only jobs of this plugin",
    ),
    param(
        "get",
        "/v1/jobs",
        "query",
        "since_ms",
        false,
        INTEGER,
        "Only jobs created at or after this, Unix ms",
    ),
    param(
        "get",
        "/v1/jobs",
        "query",
        "until_ms",
        false,
        INTEGER,
        "Only jobs created before this, Unix ms",
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
        "/admin/tenants",
        "query",
        "status",
        false,
        r#"{"enum":["active","disabled","deleted"]}"#,
        "Only tenants with this status",
    ),
    param(
        "get",
        "/admin/audit",
        "query",
        "tenant",
        false,
        STRING,
        "One tenant's entries",
    ),
    param(
        "get",
        "/admin/audit",
        "query",
        "action",
        false,
        STRING,
        "One action (`tenant.disabled`, `api-key.revoked`, …)",
    ),
    param(
        "get",
        "/admin/audit",
        "query",
        "actor",
        false,
        STRING,
        "One actor (`admin`, `cli`, `api`, …)",
    ),
    param(
        "get",
        "/admin/audit",
        "query",
        "subject",
        false,
        STRING,
        "One subject (a key, connection or plugin id, …)",
    ),
    param(
        "get",
        "/admin/audit",
        "query",
        "since_ms",
        false,
        INTEGER,
        "At or after, Unix ms",
    ),
    param(
        "get",
        "/admin/audit",
        "query",
        "until_ms",
        false,
        INTEGER,
        "Before, Unix ms",
    ),
];

/// Lists paged with `limit` (default 100, at most 1000) and `cursor`.
const PAGED_BY_100: &[&str] = &[
    "/v1/connections",
    "/v1/jobs",
    "/v1/dead-letters",
    "/admin/tenants",
    "/admin/tenants/{tenant}/connections",
    "/admin/tenants/{tenant}/jobs",
    "/admin/tenants/{tenant}/dead-letters",
    "/admin/audit",
];

/// Admin routes that read a tenant's list as its own key does under `/v1`: they take the same
/// query parameters.
const MIRRORS: &[(&str, &str)] = &[
    ("/admin/tenants/{tenant}/jobs", "/v1/jobs"),
    ("/admin/tenants/{tenant}/dead-letters", "/v1/dead-letters"),
];

/// The `limit` and `cursor` parameters of a list in [`PAGED_BY_100`].
fn paging_parameters() -> [Value; 2] {
    [
        json!({ "name": "limit", "in": "query", "required": false,
                "description": "At most this many (default 100, at most 1000)",
                "schema": serde_json::from_str::<Value>(LIMIT).expect("JSON") }),
        json!({ "name": "cursor", "in": "query", "required": false,
                "description": "The previous page's `next-cursor` header",
                "schema": { "type": "string" } }),
    ]
}

pub(super) fn parameters(method: &str, path: &str) -> Vec<Value> {
    let in_path = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
    let query_of = MIRRORS
        .iter()
        .find(|(admin, _)| *admin == path)
        .map_or(path, |(_, v1)| v1);
    let others = PARAMETERS
        .iter()
        .filter(|p| p.method == method && p.path == query_of)
        .map(|p| {
            let schema: Value = serde_json::from_str(p.schema).expect("parameter schemas are JSON");
            json!({ "name": p.name, "in": p.place, "required": p.required, "description": p.description, "schema": schema })
        });
    let paged = (method == "get" && PAGED_BY_100.contains(&path))
        .then(paging_parameters)
        .into_iter()
        .flatten();
    in_path.chain(others).chain(paged).collect()
}

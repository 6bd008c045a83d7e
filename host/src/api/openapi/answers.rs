//! The schemas of the API's answers, derived (schemars) from the types the handlers serialize,
//! so the document describes what is sent and cannot drift from it. The API fuzz run checks
//! every answer against them.

use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value};

use crate::api::ConnectSessionCreated;
use crate::api::admin::{CheckVerdict, ConfigView, PluginView};
use crate::api::connections::{AccountView, OAuthStart};
use crate::api::events::{EndpointWithSecret, EventTypeView, Redelivered};
use crate::api::overview::Overview;
use crate::api::posts::{Deletion, MetricView};
use crate::api::return_to::ReturnOrigins;
use crate::api::tenants::{KeyCreated, PluginEnablement, TenantCreated, TenantView};
use crate::api::webhooks::Received;
use crate::fleet::FileState;
use crate::store::{
    ApiKeyRecord, Attempt, AuditRecord, Connection, DeadLetter, EventDeliveryRecord, EventEndpoint,
    Job, PostRecord, TenantDeletion, TenantRecord,
};

type Make = fn(&mut SchemaGenerator) -> Value;

fn one<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

fn list<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<Vec<T>>().to_value()
}

/// The JSON answer of each operation that has one: (method, path, its schema).
const ANSWERS: &[(&str, &str, Make)] = &[
    ("get", "/v1/connections", list::<Connection>),
    ("post", "/v1/connections", one::<Connection>),
    ("get", "/v1/connections/{id}", one::<Connection>),
    ("post", "/v1/connections/{id}/refresh", one::<Connection>),
    ("get", "/v1/connections/{id}/accounts", list::<AccountView>),
    ("get", "/v1/oauth/return-origins", one::<ReturnOrigins>),
    ("put", "/v1/oauth/return-origins", one::<ReturnOrigins>),
    ("get", "/v1/oauth/{plugin}/start", one::<OAuthStart>),
    ("post", "/v1/connect-sessions", one::<ConnectSessionCreated>),
    ("get", "/v1/oauth/{plugin}/callback", one::<Connection>),
    ("post", "/v1/posts", one::<PostRecord>),
    ("get", "/v1/posts/{id}", one::<PostRecord>),
    ("delete", "/v1/posts/{id}", one::<Deletion>),
    ("get", "/v1/analytics", list::<MetricView>),
    ("get", "/v1/jobs", list::<Job>),
    ("get", "/v1/jobs/{id}", one::<Job>),
    ("get", "/v1/jobs/{id}/attempts", list::<Attempt>),
    ("get", "/v1/dead-letters", list::<DeadLetter>),
    ("post", "/v1/dead-letters/{id}/replay", one::<Job>),
    ("get", "/v1/event-types", list::<EventTypeView>),
    ("get", "/v1/event-endpoints", list::<EventEndpoint>),
    ("post", "/v1/event-endpoints", one::<EndpointWithSecret>),
    ("get", "/v1/event-endpoints/{id}", one::<EventEndpoint>),
    ("patch", "/v1/event-endpoints/{id}", one::<EventEndpoint>),
    (
        "post",
        "/v1/event-endpoints/{id}/rotate-secret",
        one::<EndpointWithSecret>,
    ),
    (
        "get",
        "/v1/event-endpoints/{id}/deliveries",
        list::<EventDeliveryRecord>,
    ),
    (
        "post",
        "/v1/event-endpoints/{id}/redeliver",
        one::<Redelivered>,
    ),
    ("post", "/webhooks/{plugin}", one::<Received>),
    ("get", "/admin/plugins", list::<PluginView>),
    ("put", "/admin/plugins/{id}", one::<PluginView>),
    ("post", "/admin/plugins/{id}/rollback", one::<PluginView>),
    ("get", "/admin/plugins/{id}/config", one::<ConfigView>),
    ("put", "/admin/plugins/{id}/config", one::<ConfigView>),
    ("delete", "/admin/plugins/{id}/config", one::<ConfigView>),
    ("get", "/admin/config", one::<FileState>),
    ("get", "/admin/tenants", list::<TenantRecord>),
    ("post", "/admin/tenants", one::<TenantCreated>),
    ("get", "/admin/tenants/{tenant}", one::<TenantView>),
    ("delete", "/admin/tenants/{tenant}", one::<TenantDeletion>),
    (
        "post",
        "/admin/tenants/{tenant}/disable",
        one::<TenantRecord>,
    ),
    (
        "post",
        "/admin/tenants/{tenant}/enable",
        one::<TenantRecord>,
    ),
    ("put", "/admin/tenants/{tenant}/limits", one::<TenantRecord>),
    ("get", "/admin/tenants/{tenant}/keys", list::<ApiKeyRecord>),
    ("post", "/admin/tenants/{tenant}/keys", one::<KeyCreated>),
    (
        "delete",
        "/admin/tenants/{tenant}/keys/{id}",
        one::<ApiKeyRecord>,
    ),
    (
        "post",
        "/admin/tenants/{tenant}/keys/{id}/rotate",
        one::<KeyCreated>,
    ),
    (
        "get",
        "/admin/tenants/{tenant}/plugins",
        list::<PluginEnablement>,
    ),
    (
        "get",
        "/admin/tenants/{tenant}/connections",
        list::<Connection>,
    ),
    ("get", "/admin/audit", list::<AuditRecord>),
    ("post", "/admin/plugins/{id}/check", one::<CheckVerdict>),
    ("get", "/admin/overview", one::<Overview>),
    (
        "post",
        "/admin/tenants/{tenant}/connections/{id}/refresh",
        one::<Connection>,
    ),
    ("get", "/admin/tenants/{tenant}/jobs", list::<Job>),
    ("get", "/admin/tenants/{tenant}/jobs/{id}", one::<Job>),
    (
        "get",
        "/admin/tenants/{tenant}/jobs/{id}/attempts",
        list::<Attempt>,
    ),
    (
        "get",
        "/admin/tenants/{tenant}/dead-letters",
        list::<DeadLetter>,
    ),
    (
        "post",
        "/admin/tenants/{tenant}/dead-letters/{id}/replay",
        one::<Job>,
    ),
];

/// A generator of schemas for what the host serializes (OpenAPI 3.0 dialect; a field left out
/// when empty is optional, an `Option` that is always written is required and nullable).
pub(super) fn answer_schemas() -> SchemaGenerator {
    SchemaSettings::openapi3()
        .with(|s| s.contract = Contract::Serialize)
        .into_generator()
}

/// The schema of the JSON answer of `method path`, if it has one; its named parts are kept in
/// `generator` for [`take_definitions`].
pub(super) fn answer_schema(
    generator: &mut SchemaGenerator,
    method: &str,
    path: &str,
) -> Option<Value> {
    ANSWERS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, make)| make(generator))
}

/// The named schemas the answers refer to.
pub(super) fn take_definitions(generator: &mut SchemaGenerator) -> Map<String, Value> {
    generator.take_definitions(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OPERATIONS;

    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves_and_answers_have_schemas() {
        let document = crate::api::openapi::document();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 40, "{}", found.len());
        for target in found {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target}"));
            assert!(
                document["components"]["schemas"].get(name).is_some(),
                "{target} does not resolve"
            );
        }
        let job = &document["components"]["schemas"]["Job"];
        assert_eq!(job["type"], "object", "{job}");
        assert!(job["properties"]["deleted_at"]["nullable"] == true, "{job}");
        let listed = &document["paths"]["/v1/jobs"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            listed["items"]["$ref"], "#/components/schemas/Job",
            "{listed}"
        );
    }

    #[test]
    fn every_answer_names_a_documented_operation() {
        for (method, path, _) in ANSWERS {
            assert!(
                OPERATIONS
                    .iter()
                    .any(|o| o.method == *method && o.path == *path),
                "{method} {path}"
            );
        }
    }
}

//! The event types, what each one's `data` holds, and the envelope every delivery's body is.

use serde_json::{Value, json};

use crate::store::{ConnectionStatus, Job, Millis};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A post target went live on its platform.
    PostPublished,
    /// A post target was handed to its platform's own scheduler.
    PostScheduled,
    /// A post target failed for good (dead-lettered).
    PostFailed,
    /// A published post target was deleted on its platform.
    PostDeleted,
    /// A connection needs the user (consent again, a permission missing).
    ConnectionAttention,
    /// A connection's access was revoked, or the connection deleted.
    ConnectionRevoked,
    /// A connection's tokens expire soon and cannot be refreshed.
    ConnectionExpiringSoon,
    /// A connection is usable (again).
    ConnectionHealthy,
    /// An admin disabled a plugin for the tenant.
    PluginDisabledForTenant,
}

impl EventType {
    /// Every type, in documentation order.
    pub const ALL: [EventType; 9] = [
        EventType::PostPublished,
        EventType::PostScheduled,
        EventType::PostFailed,
        EventType::PostDeleted,
        EventType::ConnectionAttention,
        EventType::ConnectionRevoked,
        EventType::ConnectionExpiringSoon,
        EventType::ConnectionHealthy,
        EventType::PluginDisabledForTenant,
    ];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PostPublished => "post.published",
            EventType::PostScheduled => "post.scheduled",
            EventType::PostFailed => "post.failed",
            EventType::PostDeleted => "post.deleted",
            EventType::ConnectionAttention => "connection.attention",
            EventType::ConnectionRevoked => "connection.revoked",
            EventType::ConnectionExpiringSoon => "connection.expiring_soon",
            EventType::ConnectionHealthy => "connection.healthy",
            EventType::PluginDisabledForTenant => "plugin.disabled_for_tenant",
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// What it means, for the OpenAPI document.
    pub fn summary(self) -> &'static str {
        match self {
            EventType::PostPublished => "A post target went live on its platform",
            EventType::PostScheduled => {
                "A post target was handed to its platform's own scheduler (goes live at scheduled_for)"
            }
            EventType::PostFailed => "A post target failed for good and was dead-lettered",
            EventType::PostDeleted => "A published post target was deleted on its platform",
            EventType::ConnectionAttention => {
                "A connection needs the user: consent again or grant a missing permission"
            }
            EventType::ConnectionRevoked => {
                "A connection's access was revoked, or the connection was deleted"
            }
            EventType::ConnectionExpiringSoon => {
                "A connection's tokens expire soon and cannot be refreshed"
            }
            EventType::ConnectionHealthy => "A connection is usable: new, reconnected or recovered",
            EventType::PluginDisabledForTenant => "An admin disabled a plugin for the tenant",
        }
    }

    /// The JSON schema of its `data`, for the OpenAPI document.
    pub fn data_schema(self) -> Value {
        let string = json!({ "type": "string" });
        let nullable_string = json!({ "type": "string", "nullable": true });
        let target = [
            ("post_id", string.clone()),
            ("job_id", string.clone()),
            ("connection_id", string.clone()),
            ("account_id", string.clone()),
            ("plugin", string.clone()),
        ];
        let (extra, required): (Vec<(&str, Value)>, &[&str]) = match self {
            EventType::PostPublished | EventType::PostScheduled => (
                vec![
                    ("platform_post_id", string.clone()),
                    ("url", nullable_string.clone()),
                    (
                        "scheduled_for",
                        json!({ "type": "integer", "nullable": true, "description": "Unix seconds" }),
                    ),
                ],
                &["platform_post_id"],
            ),
            EventType::PostFailed => (
                vec![
                    ("reason_code", string.clone()),
                    ("error", string.clone()),
                    ("attempts", json!({ "type": "integer" })),
                ],
                &["reason_code"],
            ),
            EventType::PostDeleted => (vec![("platform_post_id", nullable_string.clone())], &[]),
            EventType::ConnectionAttention
            | EventType::ConnectionRevoked
            | EventType::ConnectionExpiringSoon
            | EventType::ConnectionHealthy => {
                let properties = json!({
                    "connection_id": string,
                    "plugin": string,
                    "status": { "enum": ["healthy", "expiring_soon", "attention", "revoked"] },
                    "previous_status": { "type": "string", "nullable": true },
                    "reason": nullable_string,
                });
                return json!({
                    "type": "object",
                    "required": ["connection_id", "plugin", "status"],
                    "properties": properties,
                });
            }
            EventType::PluginDisabledForTenant => {
                return json!({
                    "type": "object",
                    "required": ["plugin"],
                    "properties": { "plugin": string },
                });
            }
        };
        let mut properties = serde_json::Map::new();
        for (name, schema) in target.into_iter().chain(extra) {
            properties.insert(name.to_string(), schema);
        }
        let mut all_required = vec!["post_id", "job_id", "connection_id", "plugin"];
        all_required.extend_from_slice(required);
        json!({ "type": "object", "required": all_required, "properties": properties })
    }

    /// The event a connection's move to `status` reports.
    pub fn for_status(status: ConnectionStatus) -> Self {
        match status {
            ConnectionStatus::Healthy => EventType::ConnectionHealthy,
            ConnectionStatus::ExpiringSoon => EventType::ConnectionExpiringSoon,
            ConnectionStatus::Attention => EventType::ConnectionAttention,
            ConnectionStatus::Revoked => EventType::ConnectionRevoked,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event, before it is stored: its type, the subject whose events stay in order, and its
/// data.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventType,
    /// Events with the same key reach an endpoint in the order they occurred.
    pub ordering_key: String,
    /// The type's data.
    pub data: Value,
}

impl Event {
    /// A post target's event: `data` names the post, job, connection, account and plugin, plus
    /// `extra`.
    fn for_job(kind: EventType, job: &Job, extra: Value) -> Self {
        let mut data = json!({
            "post_id": job.post_id,
            "job_id": job.id,
            "connection_id": job.connection_id,
            "account_id": job.account_id,
            "plugin": job.plugin,
        });
        if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
            data.extend(extra);
        }
        Event {
            kind,
            ordering_key: format!("job:{}", job.id),
            data,
        }
    }

    /// `post.published`, or `post.scheduled` when the platform schedules it, from the job's
    /// stored result (`{post_id, url, scheduled_for}`).
    pub fn published(job: &Job, result: &str) -> Self {
        let result: Value = serde_json::from_str(result).unwrap_or(Value::Null);
        let scheduled_for = result.get("scheduled_for").filter(|v| !v.is_null());
        let kind = match scheduled_for {
            Some(_) => EventType::PostScheduled,
            None => EventType::PostPublished,
        };
        Self::for_job(
            kind,
            job,
            json!({
                "platform_post_id": result.get("post_id").cloned().unwrap_or(Value::Null),
                "url": result.get("url").cloned().unwrap_or(Value::Null),
                "scheduled_for": scheduled_for.cloned().unwrap_or(Value::Null),
            }),
        )
    }

    /// `post.failed`: the job was dead-lettered.
    pub fn failed(job: &Job, reason_code: &str, error: &str) -> Self {
        Self::for_job(
            EventType::PostFailed,
            job,
            json!({ "reason_code": reason_code, "error": error, "attempts": job.attempts }),
        )
    }

    /// `post.deleted`: the job's platform post was deleted.
    pub fn deleted(job: &Job) -> Self {
        let result: Value = job
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        Self::for_job(
            EventType::PostDeleted,
            job,
            json!({ "platform_post_id": result.get("post_id").cloned().unwrap_or(Value::Null) }),
        )
    }

    /// A connection's move from `previous` (none for a new one) to `status`.
    pub fn connection(
        connection: &str,
        plugin: &str,
        status: ConnectionStatus,
        previous: Option<ConnectionStatus>,
        reason: Option<&str>,
    ) -> Self {
        Event {
            kind: EventType::for_status(status),
            ordering_key: format!("connection:{connection}"),
            data: json!({
                "connection_id": connection,
                "plugin": plugin,
                "status": status.as_str(),
                "previous_status": previous.map(|p| p.as_str()),
                "reason": reason,
            }),
        }
    }

    /// `plugin.disabled_for_tenant`.
    pub fn plugin_disabled(plugin: &str) -> Self {
        Event {
            kind: EventType::PluginDisabledForTenant,
            ordering_key: format!("plugin:{plugin}"),
            data: json!({ "plugin": plugin }),
        }
    }

    /// The delivery body: `{id, type, timestamp, tenant_id, data}`, the envelope the Standard
    /// Webhooks specification recommends (`timestamp` in RFC 3339, UTC).
    pub fn body(&self, id: &str, tenant: &str, at: Millis) -> String {
        json!({
            "id": id,
            "type": self.kind.as_str(),
            "timestamp": crate::time::rfc3339(at),
            "tenant_id": tenant,
            "data": self.data,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_type_has_a_schema() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.data_schema()["type"], "object", "{kind}");
        }
        assert_eq!(EventType::parse("post.everything"), None);
    }

    #[test]
    fn a_natively_scheduled_result_is_post_scheduled() {
        let job = Job {
            tenant_id: "t".into(),
            id: "job_1".into(),
            post_id: "post_1".into(),
            connection_id: "c".into(),
            plugin: "meta".into(),
            account_id: "a".into(),
            content: Default::default(),
            scheduled_for: None,
            state: crate::store::JobState::Published,
            state_reason: None,
            attempts: 1,
            next_run_at: 0,
            recovery_point: None,
            result: None,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
            traceparent: None,
        };
        let now = Event::published(
            &job,
            r#"{"post_id":"p9","url":"https://x/p9","scheduled_for":null}"#,
        );
        assert_eq!(now.kind, EventType::PostPublished);
        assert_eq!(now.data["platform_post_id"], "p9");
        assert_eq!(now.data["job_id"], "job_1");
        let later = Event::published(
            &job,
            r#"{"post_id":"p9","url":null,"scheduled_for":1900000000}"#,
        );
        assert_eq!(later.kind, EventType::PostScheduled);
        assert_eq!(later.ordering_key, "job:job_1");
        let body: Value = serde_json::from_str(&later.body("evt_1", "t", 0)).unwrap();
        assert_eq!(body["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(body["data"]["scheduled_for"], 1_900_000_000);
    }
}

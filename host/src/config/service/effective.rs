//! The settings as resolved, for `postd-host config check`, with passwords in URLs redacted.

use std::time::Duration;

use super::{InstanceAllocation, LogFormat, ServiceSettings};

impl ServiceSettings {
    /// Every setting as resolved, keyed as in `postd.toml`, for `postd-host config check`.
    /// Nothing secret is among them (the admin key is not a file setting).
    pub fn effective(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        let secs = |d: Duration| d.as_secs().to_string();
        let e = &self.events;
        let mut settings = vec![
            ("data_dir", self.data_dir.display().to_string()),
            ("database_url", redact_password(&self.database_url)),
            ("cache_dir", self.cache_dir.display().to_string()),
            (
                "redis_url",
                opt(&self.redis_url.as_deref().map(redact_password)),
            ),
            ("redis_namespace", self.redis_namespace.clone()),
            ("listen", self.listen.clone()),
            ("public_url", self.public_url.clone()),
            ("plugins", self.plugins.display().to_string()),
            ("workers", self.workers.to_string()),
            ("finish_batch", self.finish_batch.to_string()),
            ("lease_secs", self.lease_secs.to_string()),
            (
                "max_rate_limit_wait_secs",
                self.max_rate_limit_wait_secs.to_string(),
            ),
            (
                "tenant_egress_per_second",
                self.tenant_egress_per_second.to_string(),
            ),
            ("worker_id", opt(&self.worker_id)),
            (
                "log_format",
                match self.log_format {
                    Some(LogFormat::Text) => "text".into(),
                    Some(LogFormat::Json) => "json".into(),
                    None => "(by terminal)".into(),
                },
            ),
            (
                "instance_allocation",
                match self.instance_allocation {
                    InstanceAllocation::Pooling => "pooling".into(),
                    InstanceAllocation::OnDemand => "on-demand".into(),
                },
            ),
            ("host_memory_mb", self.host_memory_mb.to_string()),
            (
                "auth_failures_per_minute",
                self.auth_failures_per_minute.to_string(),
            ),
            (
                "console_admins",
                self.console_admins
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("shutdown_delay_secs", self.shutdown_delay_secs.to_string()),
            ("shutdown_grace_secs", self.shutdown_grace_secs.to_string()),
            ("event_delivery", e.deliver.to_string()),
            (
                "event_allowed_ranges",
                e.allowed_ranges
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("event_timeout_secs", secs(e.timeout)),
            (
                "event_retry_first_ms",
                e.retry_first.as_millis().to_string(),
            ),
            ("event_retry_max_secs", secs(e.retry_max)),
            ("event_retry_window_secs", secs(e.retry_window)),
            ("event_secret_grace_secs", secs(e.secret_grace)),
            ("event_concurrency", e.concurrency.to_string()),
            (
                "event_retention_days",
                (e.retention.as_secs() / 86_400).to_string(),
            ),
        ];
        settings.extend(self.retention.describe());
        settings.extend([
            (
                "otlp_endpoint",
                opt(&self.otlp_endpoint.as_deref().map(redact_password)),
            ),
            ("otlp_service_name", self.otlp_service_name.clone()),
        ]);
        settings
    }
}

/// `scheme://user:password@host…` with the password replaced by `***`.
fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

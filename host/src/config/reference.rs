//! The reference of every service setting: its `postd.toml` key, environment variable, type,
//! default and meaning. `postd.example.toml` at the top of the repository is generated from it
//! ([`example_toml`]), and the tests hold the three together: the keys are exactly the fields
//! the settings file accepts, a file setting every key to its documented default resolves to
//! the same settings as no file at all, and every variable, when set, changes what it names.

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// The key in `postd.toml`.
    pub key: &'static str,
    /// The environment variable that overrides it.
    pub env: &'static str,
    /// Its type, as written.
    pub kind: &'static str,
    /// Its default as a TOML value, or `None` when it is derived (see `meaning`) or unset.
    pub default: Option<&'static str>,
    /// What it does.
    pub meaning: &'static str,
    /// A value other than the default, as the environment variable would carry it (tests).
    pub sample: &'static str,
}

const fn doc(
    key: &'static str,
    env: &'static str,
    kind: &'static str,
    default: Option<&'static str>,
    meaning: &'static str,
    sample: &'static str,
) -> SettingDoc {
    SettingDoc {
        key,
        env,
        kind,
        default,
        meaning,
        sample,
    }
}

/// Every setting, in the order of the example file.
pub const SETTINGS: &[SettingDoc] = &[
    doc(
        "data_dir",
        "POSTD_DATA_DIR",
        "path",
        Some("\"data\""),
        "Local key, compile cache and (by default) the SQLite database; created 0700.",
        "/var/lib/postd",
    ),
    doc(
        "database_url",
        "POSTD_DATABASE_URL",
        "string",
        None,
        "`postgres://…` or `sqlite://path`. Default: `sqlite://<data_dir>/postd.db`.",
        "sqlite:///tmp/other.db",
    ),
    doc(
        "cache_dir",
        "POSTD_CACHE_DIR",
        "path",
        None,
        "Compiled components, keyed by digest and engine. Default: `<data_dir>/cache`.",
        "/var/cache/postd",
    ),
    doc(
        "redis_url",
        "POSTD_REDIS_URL",
        "string",
        None,
        "Redis shared by the replicas (shared rate budgets). Unset: none.",
        "redis://127.0.0.1:6379",
    ),
    doc(
        "redis_namespace",
        "POSTD_REDIS_NAMESPACE",
        "string",
        Some("\"postd:\""),
        "Prefix of every Redis key this host writes.",
        "other:",
    ),
    doc(
        "listen",
        "POSTD_LISTEN",
        "address",
        Some("\"127.0.0.1:8080\""),
        "Where the HTTP API listens.",
        "0.0.0.0:9000",
    ),
    doc(
        "public_url",
        "POSTD_PUBLIC_URL",
        "URL",
        None,
        "How browsers reach the API (OAuth redirects). Default: `http://<listen>`.",
        "https://postd.example.com",
    ),
    doc(
        "plugins",
        "POSTD_PLUGINS",
        "path",
        Some("\"plugins.toml\""),
        "The plugin configuration file.",
        "/etc/postd/plugins.toml",
    ),
    doc(
        "workers",
        "POSTD_WORKERS",
        "integer > 0",
        Some("32"),
        "Jobs this process runs at once.",
        "8",
    ),
    doc(
        "finish_batch",
        "POSTD_FINISH_BATCH",
        "integer > 0",
        Some("64"),
        "Most run outcomes recorded in one write (group commit; 1 records each alone). Concurrent runs share it; a lone run is never held back.",
        "16",
    ),
    doc(
        "lease_secs",
        "POSTD_LEASE_SECS",
        "integer > 0",
        Some("120"),
        "How long a claimed job is held before another worker may take it over.",
        "60",
    ),
    doc(
        "max_rate_limit_wait_secs",
        "POSTD_MAX_RATE_LIMIT_WAIT_SECS",
        "integer, 1 s to a year",
        Some("86400"),
        "The longest rate-limit wait a job is queued for; longer is dead-lettered (`rate-limit-too-long`).",
        "3600",
    ),
    doc(
        "tenant_egress_per_second",
        "POSTD_TENANT_EGRESS_PER_SECOND",
        "integer (0: no ceiling)",
        Some("100"),
        "Egress requests a second one tenant may send across plugins and connections, unless the tenant has its own (`PUT /admin/tenants/{tenant}/limits`). Jobs of a tenant at its ceiling wait their turn without running.",
        "500",
    ),
    doc(
        "worker_id",
        "POSTD_WORKER_ID",
        "string",
        None,
        "This process's name in leases and attempts. Default: `<hostname>-<pid>`.",
        "host-a",
    ),
    doc(
        "log_format",
        "POSTD_LOG_FORMAT",
        "\"text\" | \"json\"",
        None,
        "Log lines. Default: text on a terminal, JSON lines otherwise.",
        "json",
    ),
    doc(
        "instance_allocation",
        "POSTD_INSTANCE_ALLOCATION",
        "\"pooling\" | \"on-demand\"",
        Some("\"pooling\""),
        "How wasm instances are allocated. Pooling reserves address space at start for every plugin's max_concurrency + 1 instances (and one more plugin with the [defaults] limits), with memories of twice the largest memory_mb; a plugin configured later over that is refused. On-demand maps memory per call: slower calls, nothing reserved.",
        "on-demand",
    ),
    doc(
        "host_memory_mb",
        "POSTD_HOST_MEMORY_MB",
        "integer > 0",
        Some("1024"),
        "MiB the host may hold for all running plugin calls together; past it calls answer `busy`.",
        "512",
    ),
    doc(
        "auth_failures_per_minute",
        "POSTD_AUTH_FAILURES_PER_MINUTE",
        "integer",
        Some("20"),
        "Wrong API or admin keys one source address may present per minute (429 after); 0 is off.",
        "0",
    ),
    doc(
        "console_admins",
        "POSTD_CONSOLE_ADMINS",
        "\"name=sha256:<hex>,…\"",
        None,
        "Admins who sign in to the console (/console) with a key of their own, as name=sha256:<SHA-256 of the key in hex> pairs, comma-separated (printf %s \"$KEY\" | sha256sum); their changes are audited as console:<name>. Only digests are kept. The admin key also signs in (as console:admin); the console is off when neither is set.",
        "ana=sha256:6e1b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708",
    ),
    doc(
        "shutdown_delay_secs",
        "POSTD_SHUTDOWN_DELAY_SECS",
        "integer",
        Some("0"),
        "On SIGTERM, how long /readyz answers 503 while requests are still served.",
        "5",
    ),
    doc(
        "shutdown_grace_secs",
        "POSTD_SHUTDOWN_GRACE_SECS",
        "integer",
        Some("30"),
        "Then how long running jobs may take to finish.",
        "10",
    ),
    doc(
        "event_delivery",
        "POSTD_EVENT_DELIVERY",
        "bool",
        Some("true"),
        "Whether this process sends outbound events.",
        "false",
    ),
    doc(
        "event_allowed_ranges",
        "POSTD_EVENT_ALLOWED_RANGES",
        "list of CIDRs (comma-separated in the variable)",
        Some("[]"),
        "Private ranges event endpoints may reach despite the address guard.",
        "10.0.0.0/8",
    ),
    doc(
        "event_timeout_secs",
        "POSTD_EVENT_TIMEOUT_SECS",
        "integer > 0",
        Some("10"),
        "One delivery attempt.",
        "3",
    ),
    doc(
        "event_retry_first_ms",
        "POSTD_EVENT_RETRY_FIRST_MS",
        "integer > 0",
        Some("5000"),
        "First retry delay of a delivery, doubling each time.",
        "1000",
    ),
    doc(
        "event_retry_max_secs",
        "POSTD_EVENT_RETRY_MAX_SECS",
        "integer > 0",
        Some("3600"),
        "Longest retry delay.",
        "600",
    ),
    doc(
        "event_retry_window_secs",
        "POSTD_EVENT_RETRY_WINDOW_SECS",
        "integer > 0",
        Some("86400"),
        "After this long a delivery is marked failed.",
        "3600",
    ),
    doc(
        "event_secret_grace_secs",
        "POSTD_EVENT_SECRET_GRACE_SECS",
        "integer",
        Some("86400"),
        "How long a rotated-out signing secret still signs beside the new one.",
        "60",
    ),
    doc(
        "event_concurrency",
        "POSTD_EVENT_CONCURRENCY",
        "integer > 0 (at most 1024)",
        Some("16"),
        "Deliveries in flight per process.",
        "4",
    ),
    doc(
        "event_retention_days",
        "POSTD_EVENT_RETENTION_DAYS",
        "integer > 0 (at most 3650)",
        Some("30"),
        "How long finished deliveries are kept.",
        "7",
    ),
    doc(
        "job_retention_days",
        "POSTD_JOB_RETENTION_DAYS",
        "days, fractions allowed (0 to 36500; 0 keeps jobs forever)",
        Some("30"),
        "How long finished jobs (published, cancelled, deleted on the platform) are kept, with their attempts; a post goes once none of its jobs remain, and its idempotency key can then be used again. Queued, running, paused and dead-lettered jobs are never deleted by age.",
        "7",
    ),
    doc(
        "webhook_retention_days",
        "POSTD_WEBHOOK_RETENTION_DAYS",
        "days, fractions allowed (0 to 36500; 0 keeps them forever)",
        Some("30"),
        "How long verified webhook events are kept. They are also what de-duplicates redeliveries: keep them longer than any platform redelivers an event.",
        "7",
    ),
    doc(
        "health_retention_days",
        "POSTD_HEALTH_RETENTION_DAYS",
        "days, fractions allowed (0 to 36500; 0 keeps them forever)",
        Some("30"),
        "How long connections' health checks are kept (the health log of each connection).",
        "14",
    ),
    doc(
        "audit_retention_days",
        "POSTD_AUDIT_RETENTION_DAYS",
        "days, fractions allowed (0 to 36500; 0 keeps it forever)",
        Some("365"),
        "How long audit log entries are kept.",
        "730",
    ),
    doc(
        "otlp_endpoint",
        "POSTD_OTLP_ENDPOINT",
        "URL",
        None,
        "OpenTelemetry collector (OTLP over HTTP, protobuf) traces are exported to; `/v1/traces` is appended. Unset: no export.",
        "http://127.0.0.1:4318",
    ),
    doc(
        "otlp_service_name",
        "POSTD_OTLP_SERVICE_NAME",
        "string",
        Some("\"postd-host\""),
        "The `service.name` of exported traces.",
        "postd-eu",
    ),
];

/// `postd.example.toml`: every key with its variable, type, default and meaning; keys without a
/// fixed default are commented out.
pub fn example_toml() -> String {
    let mut out = String::from(
        "# postd.toml: the host's settings. Every key is optional; each POSTD_* variable overrides\n\
         # its key. Generated from host/src/config/reference.rs (a test keeps them equal).\n\
         # The admin key is a secret and comes only from the environment: POSTD_ADMIN_KEY\n\
         # (16 characters or more; unset turns the admin API off). POSTD_CONFIG names this file\n\
         # (default ./postd.toml when it exists).\n",
    );
    for setting in SETTINGS {
        out.push_str(&format!(
            "\n# {}\n# {} · {}\n",
            setting.meaning, setting.env, setting.kind
        ));
        match setting.default {
            Some(value) => out.push_str(&format!("{} = {value}\n", setting.key)),
            None => out.push_str(&format!("# {} = {}\n", setting.key, toml_sample(setting))),
        }
    }
    out
}

/// The sample as a TOML value, for commented-out keys.
fn toml_sample(setting: &SettingDoc) -> String {
    format!("\"{}\"", setting.sample)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::config::ServiceSettings;

    #[test]
    fn the_keys_are_exactly_the_fields_the_file_accepts() {
        let documented: BTreeSet<&str> = SETTINGS.iter().map(|s| s.key).collect();
        assert_eq!(documented.len(), SETTINGS.len(), "a key documented twice");
        let accepted = super::super::service::accepted_keys();
        assert_eq!(documented, accepted.iter().map(String::as_str).collect());
    }

    #[test]
    fn config_check_shows_every_key_and_no_password() {
        let shown: Vec<&str> = ServiceSettings::from_parts(None, |_| None)
            .unwrap()
            .effective()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let documented: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        assert_eq!(shown, documented);
        let with_password = ServiceSettings::from_parts(None, |name| {
            (name == "POSTD_DATABASE_URL").then(|| "postgres://postd:hunter2@db/postd".into())
        })
        .unwrap();
        let shown = with_password.effective();
        assert!(
            shown.iter().all(|(_, v)| !v.contains("hunter2")),
            "{shown:?}"
        );
    }

    #[test]
    fn every_documented_default_is_the_default() {
        let example = example_toml();
        let from_example = ServiceSettings::from_parts(Some(&example), |_| None).unwrap();
        assert_eq!(
            from_example,
            ServiceSettings::from_parts(None, |_| None).unwrap()
        );
        // The commented-out samples are valid values too.
        let uncommented: String = example
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        ServiceSettings::from_parts(Some(&uncommented), |_| None).unwrap();
    }

    #[test]
    fn every_variable_changes_what_it_names() {
        let defaults = ServiceSettings::from_parts(None, |_| None).unwrap();
        for setting in SETTINGS {
            let set = ServiceSettings::from_parts(None, |name| {
                (name == setting.env).then(|| setting.sample.to_string())
            })
            .unwrap_or_else(|e| panic!("{}={}: {e}", setting.env, setting.sample));
            assert_ne!(set, defaults, "{} is not read", setting.env);
        }
    }

    #[test]
    fn the_committed_example_is_generated() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../postd.example.toml");
        let generated = example_toml();
        if std::env::var_os("POSTD_WRITE_EXAMPLE").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "postd.example.toml is out of date: run \
             `POSTD_WRITE_EXAMPLE=1 cargo test -p postd-host --lib config::reference`"
        );
    }
}

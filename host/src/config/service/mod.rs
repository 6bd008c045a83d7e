//! Service settings: an optional TOML file (`POSTD_CONFIG`, default `./postd.toml` when it
//! exists) with `POSTD_*` environment variables overriding it. The embedded default needs
//! neither. Every key, its variable, type, default and meaning: [`super::SETTINGS`], and
//! `postd.example.toml` generated from it.
//!
//! The admin key is a secret and comes only from the environment (`POSTD_ADMIN_KEY`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::capability::http::Cidr;
use crate::events::EventSettings;
use retention::RawRetention;
pub use retention::{MAX_RETENTION_DAYS, RetentionSettings};

mod effective;
mod retention;

/// Where the settings file is looked for by default.
pub const DEFAULT_CONFIG_FILE: &str = "postd.toml";

/// `max_rate_limit_wait_secs` by default: 24 h.
pub const DEFAULT_MAX_RATE_LIMIT_WAIT_SECS: u64 =
    crate::jobs::DEFAULT_MAX_RATE_LIMIT_WAIT.as_secs();

/// The largest `max_rate_limit_wait_secs` accepted: a year. A platform asking for longer is not
/// rate-limiting; and no setting can make the pipeline schedule a job at the end of time.
pub const MAX_RATE_LIMIT_WAIT_SECS_LIMIT: u64 = 365 * 24 * 3600;

/// `tenant_egress_per_second` by default: a ceiling against one tenant crowding out the others;
/// each platform's own budget (much lower per connection) binds first in normal use.
pub const DEFAULT_TENANT_EGRESS_PER_SECOND: u32 = 100;

/// `finish_batch` by default (see `PipelineSettings::finish_batch`).
pub const DEFAULT_FINISH_BATCH: usize = crate::jobs::DEFAULT_FINISH_BATCH;

/// How a host process is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Local key, compile cache and (by default) the SQLite database.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://path`.
    pub database_url: String,
    /// Compiled components.
    pub cache_dir: PathBuf,
    /// Redis, shared by the replicas; `None` runs without it.
    pub redis_url: Option<String>,
    /// Key prefix in Redis.
    pub redis_namespace: String,
    /// Where the API listens.
    pub listen: String,
    /// How browsers reach the API (OAuth redirects), without a trailing slash.
    pub public_url: String,
    /// The plugin configuration file.
    pub plugins: PathBuf,
    /// Jobs this process runs at once.
    pub workers: usize,
    /// Most run outcomes recorded in one write (group commit; 1: each alone).
    pub finish_batch: usize,
    /// How long a claimed job is held, in seconds.
    pub lease_secs: u64,
    /// The longest rate-limit wait (`Retry-After`, `rate-limited(ms)`) a job is queued for, in
    /// seconds; a job asked to wait longer is dead-lettered (`rate-limit-too-long`).
    pub max_rate_limit_wait_secs: u64,
    /// Egress requests per second one tenant may send across plugins and connections, unless
    /// the tenant has its own ceiling (admin API); 0: no ceiling.
    pub tenant_egress_per_second: u32,
    /// This process's name in leases and attempts.
    pub worker_id: Option<String>,
    /// The admin API's key (environment only); `None` turns the admin API off.
    pub admin_key: Option<String>,
    /// Admins who sign in to the console with a key of their own (its SHA-256 only), so their
    /// changes are audited by name. The console is on when these or the admin key are set.
    pub console_admins: Vec<ConsoleAdmin>,
    /// `text` or `json` logs; `None` chooses by where they go ([`LogFormat::for_stderr`]).
    pub log_format: Option<LogFormat>,
    /// How wasm instances are allocated: a pool sized from the plugin configuration (the
    /// default), or on demand.
    pub instance_allocation: InstanceAllocation,
    /// MiB the host may hold on behalf of all running plugin calls together (vault writes,
    /// continuations, bodies in flight); past it calls answer `busy`.
    pub host_memory_mb: u64,
    /// Wrong API or admin keys one source address may present per minute before it must wait
    /// (see `api::FailureBudget`); 0 turns the budget off.
    pub auth_failures_per_minute: u32,
    /// On SIGTERM or SIGINT, how long `/readyz` answers 503 (`draining`) while requests are still
    /// served, so load balancers stop routing here before the listener closes.
    pub shutdown_delay_secs: u64,
    /// Then how long running jobs may take to finish; jobs still running after it are taken
    /// over by another worker when their lease ends.
    pub shutdown_grace_secs: u64,
    /// How outbound events are delivered.
    pub events: EventSettings,
    /// How long finished jobs, webhook events, health checks and the audit log are kept.
    pub retention: RetentionSettings,
    /// Where traces are exported with OpenTelemetry (OTLP over HTTP, protobuf): the collector's
    /// base URL (`http://collector:4318`; `/v1/traces` is appended). `None`: no export.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of the exported traces.
    pub otlp_service_name: String,
}

/// An admin of the console with a key of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAdmin {
    /// The name the audit log gives their changes (`console:<name>`).
    pub name: String,
    /// The SHA-256 of their key.
    pub key_sha256: [u8; 32],
}

/// `name=sha256:<64 hex digits>` pairs, comma-separated: the console's named admins.
pub fn parse_console_admins(text: &str) -> Result<Vec<ConsoleAdmin>, String> {
    let mut admins: Vec<ConsoleAdmin> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let problem = || {
            format!(
                "console_admins: `{}` is not name=sha256:<64 hex digits> (the SHA-256 of the admin's key, e.g. `printf %s \"$KEY\" | sha256sum`)",
                pair.chars().take(40).collect::<String>()
            )
        };
        let (name, digest) = pair.split_once('=').ok_or_else(problem)?;
        let name = name.trim();
        let valid_name = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let key_sha256: [u8; 32] = digest
            .trim()
            .strip_prefix("sha256:")
            .and_then(|hex_digits| hex::decode(hex_digits).ok())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(problem)?;
        if !valid_name {
            return Err(format!(
                "console_admins: admin names are 1-64 letters, digits, `.`, `_` or `-`, not `{}`",
                name.chars().take(64).collect::<String>()
            ));
        }
        if admins.iter().any(|a| a.name == name) {
            return Err(format!("console_admins: `{name}` is named twice"));
        }
        admins.push(ConsoleAdmin {
            name: name.to_string(),
            key_sha256,
        });
    }
    Ok(admins)
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The format when none is set: text for a person at a terminal, JSON lines for whatever
    /// collects the logs otherwise (a file, journald, a container runtime).
    pub fn for_stderr() -> LogFormat {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            LogFormat::Text
        } else {
            LogFormat::Json
        }
    }
}

/// How wasm instances are allocated (`instance_allocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum InstanceAllocation {
    /// A pool reserved at start, sized from `plugins.toml` (`runtime::Allocation::pooling_for`).
    #[serde(rename = "pooling")]
    Pooling,
    /// Memory mapped and unmapped per call: nothing reserved at rest, slower calls.
    #[serde(rename = "on-demand")]
    OnDemand,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    cache_dir: Option<PathBuf>,
    redis_url: Option<String>,
    redis_namespace: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    plugins: Option<PathBuf>,
    workers: Option<usize>,
    finish_batch: Option<usize>,
    lease_secs: Option<u64>,
    max_rate_limit_wait_secs: Option<u64>,
    tenant_egress_per_second: Option<u32>,
    worker_id: Option<String>,
    log_format: Option<LogFormat>,
    instance_allocation: Option<InstanceAllocation>,
    host_memory_mb: Option<u64>,
    auth_failures_per_minute: Option<u32>,
    console_admins: Option<String>,
    shutdown_delay_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    event_delivery: Option<bool>,
    event_allowed_ranges: Option<Vec<String>>,
    event_timeout_secs: Option<u64>,
    event_retry_first_ms: Option<u64>,
    event_retry_max_secs: Option<u64>,
    event_retry_window_secs: Option<u64>,
    event_secret_grace_secs: Option<u64>,
    event_concurrency: Option<u64>,
    event_retention_days: Option<u64>,
    job_retention_days: Option<f64>,
    webhook_retention_days: Option<f64>,
    health_retention_days: Option<f64>,
    audit_retention_days: Option<f64>,
    otlp_endpoint: Option<String>,
    otlp_service_name: Option<String>,
}

impl ServiceSettings {
    /// Reads the file (if any) and the environment.
    pub fn load() -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (path, required) = match env("POSTD_CONFIG") {
            Some(path) => (PathBuf::from(path), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let raw = read_file(&path, required)?;
        Self::resolve(raw, env)
    }

    /// Resolves settings from file contents and an environment lookup.
    pub fn from_parts(
        file: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let raw = match file {
            Some(text) => {
                toml::from_str(text).map_err(|e| format!("settings: {}", e.to_string().trim()))?
            }
            None => RawSettings::default(),
        };
        Self::resolve(raw, env)
    }

    fn resolve(raw: RawSettings, env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let number = |name: &str, file: Option<u64>, default: u64| -> Result<u64, String> {
            match env(name) {
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive number, not `{v}`")),
                None => match file {
                    Some(0) => Err(format!("{name} must be positive")),
                    Some(n) => Ok(n),
                    None => Ok(default),
                },
            }
        };
        let data_dir = env("POSTD_DATA_DIR")
            .map(PathBuf::from)
            .or(raw.data_dir)
            .unwrap_or_else(|| "data".into());
        let listen = env("POSTD_LISTEN")
            .or(raw.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let log_format = match env("POSTD_LOG_FORMAT").as_deref() {
            Some("json") => Some(LogFormat::Json),
            Some("text") => Some(LogFormat::Text),
            Some(other) => return Err(format!("POSTD_LOG_FORMAT is text or json, not `{other}`")),
            None => raw.log_format,
        };
        let instance_allocation = match env("POSTD_INSTANCE_ALLOCATION").as_deref() {
            Some("pooling") => InstanceAllocation::Pooling,
            Some("on-demand") => InstanceAllocation::OnDemand,
            Some(other) => {
                return Err(format!(
                    "POSTD_INSTANCE_ALLOCATION is pooling or on-demand, not `{other}`"
                ));
            }
            None => raw
                .instance_allocation
                .unwrap_or(InstanceAllocation::Pooling),
        };
        let max_rate_limit_wait_secs = number(
            "POSTD_MAX_RATE_LIMIT_WAIT_SECS",
            raw.max_rate_limit_wait_secs,
            DEFAULT_MAX_RATE_LIMIT_WAIT_SECS,
        )?;
        if max_rate_limit_wait_secs > MAX_RATE_LIMIT_WAIT_SECS_LIMIT {
            return Err(format!(
                "POSTD_MAX_RATE_LIMIT_WAIT_SECS (max_rate_limit_wait_secs) is at most \
                 {MAX_RATE_LIMIT_WAIT_SECS_LIMIT} (a year), not {max_rate_limit_wait_secs}"
            ));
        }
        let tenant_egress_per_second = match env("POSTD_TENANT_EGRESS_PER_SECOND") {
            Some(v) => v.parse().map_err(|_| {
                format!(
                    "POSTD_TENANT_EGRESS_PER_SECOND must be a number of requests a second (0 for no ceiling), not `{v}`"
                )
            })?,
            None => raw
                .tenant_egress_per_second
                .unwrap_or(DEFAULT_TENANT_EGRESS_PER_SECOND),
        };
        let auth_failures_per_minute = match env("POSTD_AUTH_FAILURES_PER_MINUTE") {
            Some(v) => v.parse().map_err(|_| {
                format!("POSTD_AUTH_FAILURES_PER_MINUTE must be a number (0 for off), not `{v}`")
            })?,
            None => raw
                .auth_failures_per_minute
                .unwrap_or(crate::api::DEFAULT_FAILURES_PER_MINUTE),
        };
        let seconds = |name: &str, file: Option<u64>, default: u64| -> Result<u64, String> {
            match env(name) {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("{name} must be a number of seconds, not `{v}`")),
                None => Ok(file.unwrap_or(default)),
            }
        };
        let shutdown_delay_secs = seconds("POSTD_SHUTDOWN_DELAY_SECS", raw.shutdown_delay_secs, 0)?;
        let shutdown_grace_secs =
            seconds("POSTD_SHUTDOWN_GRACE_SECS", raw.shutdown_grace_secs, 30)?;
        let event_delivery = match env("POSTD_EVENT_DELIVERY").as_deref() {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(format!(
                    "POSTD_EVENT_DELIVERY is true or false, not `{other}`"
                ));
            }
            None => raw.event_delivery.unwrap_or(true),
        };
        let ranges = match env("POSTD_EVENT_ALLOWED_RANGES") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(String::from)
                .collect(),
            None => raw.event_allowed_ranges.unwrap_or_default(),
        };
        let allowed_ranges = ranges
            .iter()
            .map(|r| Cidr::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("POSTD_EVENT_ALLOWED_RANGES (event_allowed_ranges): {e}"))?;
        let defaults = EventSettings::default();
        let secs = |d: Duration| d.as_secs();
        let events = EventSettings {
            deliver: event_delivery,
            allowed_ranges,
            timeout: Duration::from_secs(number(
                "POSTD_EVENT_TIMEOUT_SECS",
                raw.event_timeout_secs,
                secs(defaults.timeout),
            )?),
            retry_first: Duration::from_millis(number(
                "POSTD_EVENT_RETRY_FIRST_MS",
                raw.event_retry_first_ms,
                defaults.retry_first.as_millis() as u64,
            )?),
            retry_max: Duration::from_secs(number(
                "POSTD_EVENT_RETRY_MAX_SECS",
                raw.event_retry_max_secs,
                secs(defaults.retry_max),
            )?),
            retry_window: Duration::from_secs(number(
                "POSTD_EVENT_RETRY_WINDOW_SECS",
                raw.event_retry_window_secs,
                secs(defaults.retry_window),
            )?),
            secret_grace: Duration::from_secs(seconds(
                "POSTD_EVENT_SECRET_GRACE_SECS",
                raw.event_secret_grace_secs,
                secs(defaults.secret_grace),
            )?),
            concurrency: number(
                "POSTD_EVENT_CONCURRENCY",
                raw.event_concurrency,
                defaults.concurrency as u64,
            )?
            .min(1024) as usize,
            retention: Duration::from_secs(
                number(
                    "POSTD_EVENT_RETENTION_DAYS",
                    raw.event_retention_days,
                    secs(defaults.retention) / 86_400,
                )?
                .min(3650)
                    * 86_400,
            ),
            ..defaults
        };
        let retention = RetentionSettings::resolve(
            &RawRetention {
                job_retention_days: raw.job_retention_days,
                webhook_retention_days: raw.webhook_retention_days,
                health_retention_days: raw.health_retention_days,
                audit_retention_days: raw.audit_retention_days,
            },
            &env,
        )?;
        let otlp_endpoint = env("POSTD_OTLP_ENDPOINT")
            .or(raw.otlp_endpoint)
            .map(|url| otlp_endpoint(&url))
            .transpose()?;
        let otlp_service_name = env("POSTD_OTLP_SERVICE_NAME")
            .or(raw.otlp_service_name)
            .unwrap_or_else(|| "postd-host".into());
        let console_admins = env("POSTD_CONSOLE_ADMINS")
            .or(raw.console_admins)
            .map(|text| parse_console_admins(&text))
            .transpose()?
            .unwrap_or_default();
        let admin_key = env("POSTD_ADMIN_KEY");
        if admin_key.as_ref().is_some_and(|k| k.len() < 16) {
            return Err("POSTD_ADMIN_KEY must be at least 16 characters".into());
        }
        Ok(ServiceSettings {
            database_url: env("POSTD_DATABASE_URL")
                .or(raw.database_url)
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("postd.db").display())),
            cache_dir: env("POSTD_CACHE_DIR")
                .map(PathBuf::from)
                .or(raw.cache_dir)
                .unwrap_or_else(|| data_dir.join("cache")),
            redis_url: env("POSTD_REDIS_URL").or(raw.redis_url),
            redis_namespace: env("POSTD_REDIS_NAMESPACE")
                .or(raw.redis_namespace)
                .unwrap_or_else(|| "postd:".into()),
            public_url: env("POSTD_PUBLIC_URL")
                .or(raw.public_url)
                .unwrap_or_else(|| format!("http://{listen}"))
                .trim_end_matches('/')
                .to_string(),
            plugins: env("POSTD_PLUGINS")
                .map(PathBuf::from)
                .or(raw.plugins)
                .unwrap_or_else(|| "plugins.toml".into()),
            workers: number("POSTD_WORKERS", raw.workers.map(|n| n as u64), 32)? as usize,
            finish_batch: number(
                "POSTD_FINISH_BATCH",
                raw.finish_batch.map(|n| n as u64),
                DEFAULT_FINISH_BATCH as u64,
            )? as usize,
            lease_secs: number("POSTD_LEASE_SECS", raw.lease_secs, 120)?,
            max_rate_limit_wait_secs,
            tenant_egress_per_second,
            worker_id: env("POSTD_WORKER_ID").or(raw.worker_id),
            instance_allocation,
            host_memory_mb: number("POSTD_HOST_MEMORY_MB", raw.host_memory_mb, 1024)?,
            admin_key,
            console_admins,
            log_format,
            auth_failures_per_minute,
            shutdown_delay_secs,
            shutdown_grace_secs,
            events,
            retention,
            otlp_endpoint,
            otlp_service_name,
            listen,
            data_dir,
        })
    }
}

/// An OTLP endpoint as given (without a trailing slash): an `http` or `https` URL with a host.
fn otlp_endpoint(url: &str) -> Result<String, String> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            Ok(url.trim_end_matches('/').to_string())
        }
        _ => Err(format!(
            "POSTD_OTLP_ENDPOINT (otlp_endpoint) is an http or https URL such as \
             `http://collector:4318`, not `{url}`"
        )),
    }
}

/// The keys a settings file accepts (the fields of the file's type; anything else is refused).
#[cfg(test)]
pub(super) fn accepted_keys() -> Vec<String> {
    // A file naming an unknown key is refused with the list of the expected ones.
    let error = toml::from_str::<RawSettings>("not_a_setting = 1")
        .unwrap_err()
        .to_string();
    let listed = error
        .split("expected one of ")
        .nth(1)
        .expect("serde names the expected fields");
    listed
        .split(',')
        .map(|k| k.trim().trim_matches('`').to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

fn read_file(path: &Path, required: bool) -> Result<RawSettings, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| format!("{}: {}", path.display(), e.to_string().trim())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(RawSettings::default())
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests;

//! `plugins.toml`: which components the host loads, with their grants, limits and settings.
//!
//! ```toml
//! plugin_dir = "plugins"            # relative to this file; watched for changed .wasm files
//!
//! [defaults]                        # limits for every plugin (see `LimitsOverride`)
//! deadline_ms = 30000
//!
//! [plugins.example]
//! path = "example.wasm"             # relative to plugin_dir; default `<component>.wasm`
//! component = "example"             # the manifest id it runs; default the plugin id
//! allowed_hosts = ["https://api.example.com", "https://*.cdn.example.com:8443"]
//! tenants = ["*"]                   # tenants that may use it; "*" for all
//! limits = { fuel = 500_000_000, memory_mb = 32 }
//! settings = { base-url = "https://api.example.com" }
//! secrets = { client-secret = { env = "POSTD_EXAMPLE_CLIENT_SECRET" } }
//! jobs = { max_attempts = 4, refresh_before_secs = 3600, health_interval_secs = 21600 }
//! webhook_rate = { requests = 100, per_seconds = 2 }   # the default: 50/s, bursts of 100
//! ```
//!
//! A broken file or entry never stops the host: [`PluginsFile::load`] keeps every entry that
//! parses and lists the others as [`ConfigProblem`]s naming the file, the plugin and the fault.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::Digest;

use super::jobs::RawJobSettings;
use super::{JobSettings, Limits, LimitsOverride};
use crate::capability::http::{Budget, HttpLimits};

/// One plugin as configured.
#[derive(Debug, Clone)]
pub struct PluginEntry {
    /// The plugin id: its key under `[plugins]`. Tenants, connections, vault scopes, webhooks
    /// and metrics are per plugin id.
    pub id: String,
    /// The manifest id of the component it runs: `component = "meta"` under
    /// `[plugins.meta-staging]` serves a second, separately configured copy of the Meta
    /// connector (its own settings, grants, secrets and tenants). Defaults to `id`.
    pub component: String,
    /// The component file, resolved against `plugin_dir`.
    pub path: PathBuf,
    /// Granted egress origins (`https://host[:port]`, `https://*.domain`). Empty: no egress.
    pub allowed_hosts: Vec<String>,
    /// Address ranges (CIDR) the operator explicitly allows despite the private-address guard.
    pub allowed_ranges: Vec<String>,
    /// Tenants that may use the plugin; `*` allows all.
    pub tenants: Vec<String>,
    /// Effective per-call limits.
    pub limits: Limits,
    /// Request budget per connection, overriding the manifest's `rate-budget`.
    pub rate_limit: Option<Budget>,
    /// Webhook requests (challenges and deliveries) the host passes to the plugin, per replica;
    /// over it, the host answers 429 without running the plugin.
    pub webhook_rate: Budget,
    /// Egress caps (body sizes, longest timeout).
    pub http: HttpLimits,
    /// Non-secret settings the connector reads with `vault.app-setting`.
    pub settings: BTreeMap<String, String>,
    /// App secrets the connector reads with `vault.app-secret`.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Retry, refresh and health settings of the job pipeline.
    pub jobs: JobSettings,
}

impl PluginEntry {
    /// A plugin with default limits, no grants and no settings.
    pub fn new(id: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        let id = id.into();
        PluginEntry {
            component: id.clone(),
            id,
            path: path.into(),
            allowed_hosts: Vec::new(),
            allowed_ranges: Vec::new(),
            tenants: vec!["*".into()],
            limits: Limits::default(),
            rate_limit: None,
            webhook_rate: DEFAULT_WEBHOOK_RATE,
            http: HttpLimits::default(),
            settings: BTreeMap::new(),
            secrets: BTreeMap::new(),
            jobs: JobSettings::default(),
        }
    }

    /// True when `tenant` may use this plugin.
    pub fn serves_tenant(&self, tenant: &str) -> bool {
        self.tenants.iter().any(|t| t == "*" || t == tenant)
    }

    /// True when `tenants` names any tenant at all (`tenants = []` turns the plugin off for
    /// everyone, unless the admin API enables it for a tenant).
    pub fn serves_some_tenant(&self) -> bool {
        !self.tenants.is_empty()
    }
}

/// Webhook requests a plugin takes by default: 50 a second on average, bursts of 100. Far above
/// what any platform sends one app in normal operation, low enough that a flood of forged
/// deliveries (each of which runs the plugin's signature check) cannot occupy the host.
pub const DEFAULT_WEBHOOK_RATE: Budget = Budget {
    requests: 100,
    window: std::time::Duration::from_secs(2),
};

/// Where an app secret's value comes from.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable of the host process (the production choice).
    Env(String),
    /// A literal in the file (development only: the file then holds a secret).
    Value(String),
}

impl SecretSource {
    /// The secret's value, if it is set.
    pub fn resolve(&self) -> Option<String> {
        match self {
            SecretSource::Env(name) => std::env::var(name).ok(),
            SecretSource::Value(value) => Some(value.clone()),
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "Env({name})"),
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

/// A fault in the configuration, naming the file and, when it concerns one, the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The configuration file.
    pub file: PathBuf,
    /// The plugin concerned, if any.
    pub plugin: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plugin {
            Some(plugin) => write!(
                f,
                "{}: plugin `{plugin}`: {}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The parsed file: the entries that are usable and the problems with the rest.
#[derive(Debug, Clone)]
pub struct PluginsFile {
    /// The file read.
    pub source: PathBuf,
    /// The directory component paths are relative to, and which the host watches.
    pub plugin_dir: PathBuf,
    /// Limits every plugin starts from.
    pub defaults: Limits,
    /// Usable entries, in id order.
    pub plugins: Vec<PluginEntry>,
    /// Everything that could not be used, and why.
    pub problems: Vec<ConfigProblem>,
    /// SHA-256 of the text read (`None` when the file could not be read): how a host tells
    /// whether the file changed since it last read it.
    pub digest: Option<[u8; 32]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    plugin_dir: Option<PathBuf>,
    #[serde(default)]
    defaults: LimitsOverride,
    #[serde(default)]
    plugins: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    path: Option<PathBuf>,
    component: Option<String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    allowed_ranges: Vec<String>,
    #[serde(default = "all_tenants")]
    tenants: Vec<String>,
    #[serde(default)]
    limits: LimitsOverride,
    rate_limit: Option<RawBudget>,
    webhook_rate: Option<RawBudget>,
    #[serde(default)]
    http: RawHttpLimits,
    #[serde(default)]
    settings: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretSource>,
    #[serde(default)]
    jobs: RawJobSettings,
}

/// `rate_limit = { requests = 300, per_seconds = 60 }`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    requests: u32,
    per_seconds: u32,
}

/// `http = { max_request_body_mb = 64, max_response_body_mb = 16, max_timeout_ms = 60000,
/// max_transfer_mb = 4096 }`
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpLimits {
    max_request_body_mb: Option<u64>,
    max_response_body_mb: Option<u64>,
    max_timeout_ms: Option<u64>,
    max_transfer_mb: Option<u64>,
}

impl RawHttpLimits {
    fn apply(&self, base: HttpLimits) -> HttpLimits {
        HttpLimits {
            max_request_body: self
                .max_request_body_mb
                .map(|mb| mb << 20)
                .unwrap_or(base.max_request_body),
            max_response_body: self
                .max_response_body_mb
                .map(|mb| mb << 20)
                .unwrap_or(base.max_response_body),
            max_timeout: self
                .max_timeout_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(base.max_timeout),
            max_transfer: self
                .max_transfer_mb
                .map(|mb| mb << 20)
                .unwrap_or(base.max_transfer),
        }
    }
}

fn all_tenants() -> Vec<String> {
    vec!["*".into()]
}

impl PluginsFile {
    /// Reads `path`. Never fails: a missing or malformed file yields no plugins and a problem.
    pub fn load(path: &Path) -> PluginsFile {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(error) => {
                let mut file = Self::empty(path);
                file.problems.push(ConfigProblem {
                    file: path.to_path_buf(),
                    plugin: None,
                    message: format!("cannot read the file: {error}"),
                });
                file
            }
        }
    }

    /// Parses `text` as if read from `path` (relative paths resolve against its directory).
    pub fn parse(path: &Path, text: &str) -> PluginsFile {
        let mut file = Self::empty(path);
        file.digest = Some(sha2::Sha256::digest(text.as_bytes()).into());
        let raw: RawFile = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(error) => {
                file.problems.push(ConfigProblem {
                    file: path.to_path_buf(),
                    plugin: None,
                    message: format!(
                        "not valid plugin configuration: {}",
                        error.to_string().trim()
                    ),
                });
                return file;
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(dir) = raw.plugin_dir {
            file.plugin_dir = base.join(dir);
        }
        file.defaults = raw.defaults.apply(&Limits::default());
        for (id, value) in raw.plugins {
            match file.entry(&id, value) {
                Ok(entry) => file.plugins.push(entry),
                Err(message) => file.problems.push(ConfigProblem {
                    file: path.to_path_buf(),
                    plugin: Some(id),
                    message,
                }),
            }
        }
        file
    }

    fn empty(path: &Path) -> PluginsFile {
        PluginsFile {
            source: path.to_path_buf(),
            plugin_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            defaults: Limits::default(),
            plugins: Vec::new(),
            problems: Vec::new(),
            digest: None,
        }
    }

    fn entry(&self, id: &str, value: toml::Value) -> Result<PluginEntry, String> {
        if !valid_id(id) {
            return Err("ids are 1-64 characters of a-z, 0-9 and '-'".into());
        }
        // Round-trip through text so the error quotes the offending line (and so names the key).
        let text = toml::to_string(&value).map_err(|e| e.to_string())?;
        let raw: RawEntry = toml::from_str(&text).map_err(|e| one_line(&e.to_string()))?;
        for origin in &raw.allowed_hosts {
            crate::capability::http::HostPattern::parse(origin)
                .map_err(|e| format!("allowed_hosts: {e}"))?;
        }
        for range in &raw.allowed_ranges {
            crate::capability::http::Cidr::parse(range)
                .map_err(|e| format!("allowed_ranges: {e}"))?;
        }
        let component = raw.component.unwrap_or_else(|| id.to_string());
        if !valid_id(&component) {
            return Err("component: ids are 1-64 characters of a-z, 0-9 and '-'".into());
        }
        let path = raw
            .path
            .unwrap_or_else(|| PathBuf::from(format!("{component}.wasm")));
        Ok(PluginEntry {
            id: id.to_string(),
            component,
            path: self.plugin_dir.join(path),
            allowed_hosts: raw.allowed_hosts,
            allowed_ranges: raw.allowed_ranges,
            tenants: raw.tenants,
            limits: raw.limits.apply(&self.defaults),
            rate_limit: raw
                .rate_limit
                .map(|b| Budget::per_seconds(b.requests, b.per_seconds)),
            webhook_rate: raw.webhook_rate.map_or(DEFAULT_WEBHOOK_RATE, |b| {
                Budget::per_seconds(b.requests, b.per_seconds)
            }),
            http: raw.http.apply(HttpLimits::default()),
            settings: raw.settings,
            secrets: raw.secrets,
            jobs: raw.jobs.resolve()?,
        })
    }

    /// Parses `body` (the keys of a `[plugins.<id>]` table, as TOML) as plugin `id`'s entry,
    /// with this file's plugin directory and defaults: how the admin API's configuration is
    /// read, with the same checks as the file's entries.
    pub fn parse_entry(&self, id: &str, body: &str) -> Result<PluginEntry, String> {
        let value: toml::Value = toml::from_str(body).map_err(|e| one_line(&e.to_string()))?;
        self.entry(id, value)
    }

    /// The entry for `id`, if it is usable.
    pub fn plugin(&self, id: &str) -> Option<&PluginEntry> {
        self.plugins.iter().find(|p| p.id == id)
    }
}

/// toml's multi-line error report, folded onto one line for logs.
fn one_line(report: &str) -> String {
    report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plugin ids: 1-64 characters of `a-z`, `0-9` and `-`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PluginsFile {
        PluginsFile::parse(Path::new("/etc/postd/plugins.toml"), text)
    }

    #[test]
    fn entries_resolve_paths_and_layer_limits() {
        let file = parse(
            r#"
            plugin_dir = "components"
            [defaults]
            deadline_ms = 1000
            [plugins.meta]
            path = "meta.wasm"
            allowed_hosts = ["https://graph.facebook.com"]
            limits = { fuel = 5 }
            http = { max_response_body_mb = 2, max_transfer_mb = 512 }
            settings = { base-url = "https://graph.facebook.com" }
            secrets = { client-secret = { env = "META_SECRET" }, dev = { value = "s3cr3t" } }
            webhook_rate = { requests = 10, per_seconds = 60 }
            [plugins.plain]
            path = "plain.wasm"
            "#,
        );
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        let meta = file.plugin("meta").unwrap();
        assert_eq!(meta.path, Path::new("/etc/postd/components/meta.wasm"));
        assert_eq!(meta.limits.fuel, 5);
        assert_eq!(meta.http.max_response_body, 2 << 20);
        assert_eq!(meta.http.max_transfer, 512 << 20);
        assert_eq!(
            file.plugin("plain").unwrap().http.max_transfer,
            HttpLimits::default().max_transfer
        );
        assert_eq!(
            meta.http.max_request_body,
            HttpLimits::default().max_request_body
        );
        assert_eq!(meta.limits.deadline, std::time::Duration::from_millis(1000));
        assert_eq!(meta.limits.memory_bytes, Limits::default().memory_bytes);
        assert!(meta.serves_tenant("anyone"));
        assert_eq!(meta.webhook_rate, Budget::per_seconds(10, 60));
        assert_eq!(
            file.plugin("plain").unwrap().webhook_rate,
            DEFAULT_WEBHOOK_RATE
        );
        assert!(
            !format!("{:?}", meta.secrets).contains("s3cr3t"),
            "secrets must not leak through Debug"
        );
    }

    #[test]
    fn a_broken_entry_is_reported_and_the_others_kept() {
        let file = parse(
            r#"
            [plugins.good]
            path = "good.wasm"
            [plugins.typo]
            path = "typo.wasm"
            alowed_hosts = []
            [plugins.badlimit]
            path = "x.wasm"
            limits = { fuel = "lots" }
            [plugins.badhost]
            path = "x.wasm"
            allowed_hosts = ["ftp://files.example"]
            [plugins.Bad_Id]
            path = "x.wasm"
            "#,
        );
        assert_eq!(
            file.plugins
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["good"]
        );
        let problems: Vec<String> = file.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| p.starts_with("/etc/postd/plugins.toml: plugin `"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`typo`") && p.contains("alowed_hosts"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`badlimit`") && p.contains("fuel")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`badhost`") && p.contains("https"))
        );
        assert!(problems.iter().any(|p| p.contains("`Bad_Id`")));
    }

    #[test]
    fn malformed_and_missing_files_yield_no_plugins_and_say_why() {
        let malformed = parse("[plugins.x\npath = ");
        assert!(malformed.plugins.is_empty());
        assert!(
            malformed.problems[0]
                .to_string()
                .contains("plugins.toml: not valid plugin configuration")
        );

        let missing = PluginsFile::load(Path::new("/nonexistent/plugins.toml"));
        assert!(missing.plugins.is_empty());
        assert!(
            missing.problems[0]
                .to_string()
                .contains("/nonexistent/plugins.toml: cannot read the file")
        );
    }
}

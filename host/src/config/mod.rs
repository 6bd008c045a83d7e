//! Service settings and the plugin configuration file.

mod jobs;
mod limits;
mod plugins;
mod reference;
mod service;

pub use jobs::JobSettings;
pub use limits::{Limits, LimitsOverride};
pub use plugins::{
    ConfigProblem, DEFAULT_WEBHOOK_RATE, PluginEntry, PluginsFile, SecretSource, valid_id,
};
pub use reference::{SETTINGS, SettingDoc, example_toml};
pub use service::{
    ConsoleAdmin, DEFAULT_CONFIG_FILE, InstanceAllocation, LogFormat, MAX_RETENTION_DAYS,
    RetentionSettings, ServiceSettings, parse_console_admins,
};

//! Service settings and the plugin configuration file.

mod jobs;
mod limits;
mod plugins;

pub use jobs::JobSettings;
pub use limits::{Limits, LimitsOverride};
pub use plugins::{ConfigProblem, PluginEntry, PluginsFile, SecretSource, valid_id};

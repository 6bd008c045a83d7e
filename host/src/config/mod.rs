//! Service settings and the plugin configuration file.

mod limits;
mod plugins;

pub use limits::{Limits, LimitsOverride};
pub use plugins::{ConfigProblem, PluginEntry, PluginsFile, SecretSource, valid_id};

//! The `plugins.toml` entry a trial (or `check`) runs a component under: read from a whole
//! plugin file (`[plugins.<id>]` tables) or from a file holding one entry's keys.

use std::path::Path;

use crate::config::{PluginEntry, PluginsFile};

/// Reads the entry for a component whose manifest id is `manifest_id` from `file`.
///
/// A file with `[plugins.<id>]` tables is a plugin file: the entry is `plugin`, or the one
/// entry whose component is `manifest_id`, or its only entry. Any other file holds the keys of
/// one entry (`allowed_hosts`, `settings`, ...), read as plugin `plugin` (default: the manifest
/// id). Relative paths resolve against the file's folder, as in a plugin file.
pub fn load_entry(
    file: &Path,
    plugin: Option<&str>,
    manifest_id: &str,
) -> Result<PluginEntry, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("{} is not TOML: {}", file.display(), e.message()))?;
    let plugins = PluginsFile::parse(file, &text);
    if !table.contains_key("plugins") {
        let id = plugin.unwrap_or(manifest_id);
        return plugins
            .parse_entry(id, &text)
            .map_err(|e| format!("{}: {e}", file.display()));
    }
    if let Some(problem) = plugins
        .problems
        .iter()
        .find(|p| plugin.is_none() || p.plugin.as_deref() == plugin)
    {
        return Err(problem.to_string());
    }
    let chosen = match plugin {
        Some(id) => plugins.plugin(id),
        None => plugins
            .plugins
            .iter()
            .find(|p| p.component == manifest_id)
            .or(if plugins.plugins.len() == 1 {
                plugins.plugins.first()
            } else {
                None
            }),
    };
    chosen.cloned().ok_or_else(|| {
        let ids: Vec<&str> = plugins.plugins.iter().map(|p| p.id.as_str()).collect();
        format!(
            "{} has no entry for {} (entries: {}); name one with --plugin",
            file.display(),
            plugin.map_or_else(
                || format!("component `{manifest_id}`"),
                |p| format!("`{p}`")
            ),
            if ids.is_empty() {
                "none".into()
            } else {
                ids.join(", ")
            }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn an_entry_file_is_read_as_the_manifests_plugin() {
        let (_dir, path) = write(
            "allowed_hosts = [\"https://api.example.com\"]\nsettings = { base-url = \"https://api.example.com\" }\n",
        );
        let entry = load_entry(&path, None, "acme").unwrap();
        assert_eq!(
            (entry.id.as_str(), entry.component.as_str()),
            ("acme", "acme")
        );
        assert_eq!(entry.settings["base-url"], "https://api.example.com");
    }

    #[test]
    fn a_plugin_file_yields_the_entry_of_the_component() {
        let (_dir, path) =
            write("[plugins.one]\ncomponent = \"acme\"\n[plugins.two]\ncomponent = \"other\"\n");
        assert_eq!(load_entry(&path, None, "acme").unwrap().id, "one");
        assert_eq!(load_entry(&path, Some("two"), "acme").unwrap().id, "two");
        let missing = load_entry(&path, Some("three"), "acme").unwrap_err();
        assert!(missing.contains("one, two"), "{missing}");
    }

    #[test]
    fn a_bad_entry_is_named() {
        let (_dir, path) = write("allowed_hosts = [\"ftp://x\"]\n");
        let error = load_entry(&path, None, "acme").unwrap_err();
        assert!(error.contains("allowed_hosts"), "{error}");
    }
}

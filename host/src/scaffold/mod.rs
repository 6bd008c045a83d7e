//! `postd-host new <id>`: a standalone connector crate to start from — its own `Cargo.toml`
//! (a `cdylib` depending on `postd-sdk`, the test kit for tests), a connector that publishes,
//! deletes and checks health against a small JSON API, offline tests against a scripted
//! platform, a README with every command, and the `plugins.toml` entry to paste.
//!
//! The templates are compiled into the binary, so `new` works from the host binary alone.

use std::path::{Path, PathBuf};

use crate::config::valid_id;

/// The files of a new connector: (path in the crate, template).
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("template/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("template/lib.rs.tmpl")),
    ("tests/offline.rs", include_str!("template/offline.rs.tmpl")),
    ("README.md", include_str!("template/README.md.tmpl")),
    ("plugins.toml", include_str!("template/plugins.toml.tmpl")),
    (".gitignore", include_str!("template/gitignore.tmpl")),
];

/// Where the new crate's `postd-sdk` and `postd-testkit` come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder holding the crate (a checkout's `sdk/` or `testkit/`).
    Path(PathBuf),
    /// A version requirement, from the registry.
    Version(String),
}

impl Source {
    fn dependency(&self) -> String {
        match self {
            Source::Path(path) => format!("{{ path = {:?} }}", path.display().to_string()),
            Source::Version(version) => format!("{version:?}"),
        }
    }
}

/// What `new` makes.
#[derive(Debug, Clone)]
pub struct NewConnector {
    /// The plugin id (1-64 characters of a-z, 0-9 and '-').
    pub id: String,
    /// The folder to create (it must not exist, or be empty).
    pub dir: PathBuf,
    /// Where `postd-sdk` comes from.
    pub sdk: Source,
    /// Where `postd-testkit` comes from.
    pub testkit: Source,
    /// A lock file to start from (the checkout's), so the crate builds with the versions the
    /// host was tested with.
    pub lock_file: Option<PathBuf>,
}

impl NewConnector {
    /// A connector `id` in `dir`, its SDK and test kit from the checkout `checkout` is in (its
    /// `sdk/` and `testkit/`), or from the registry at this host's version when there is none.
    pub fn new(id: &str, dir: PathBuf, checkout: Option<&Path>) -> NewConnector {
        let version = env!("CARGO_PKG_VERSION").to_string();
        let (sdk, testkit) = match checkout {
            Some(root) => (
                Source::Path(root.join("sdk")),
                Source::Path(root.join("testkit")),
            ),
            None => (Source::Version(version.clone()), Source::Version(version)),
        };
        NewConnector {
            id: id.to_string(),
            dir,
            sdk,
            testkit,
            lock_file: checkout
                .map(|root| root.join("Cargo.lock"))
                .filter(|lock| lock.is_file()),
        }
    }

    /// Writes the crate; returns the files written. Refuses a bad id and a folder that has
    /// files already (nothing is overwritten).
    pub fn write(&self) -> Result<Vec<PathBuf>, String> {
        if !valid_id(&self.id) {
            return Err(format!(
                "`{}` is not a plugin id: 1-64 characters of a-z, 0-9 and '-'",
                self.id
            ));
        }
        if std::fs::read_dir(&self.dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(format!(
                "{} already exists and is not empty; nothing was written",
                self.dir.display()
            ));
        }
        let mut written = Vec::new();
        for (name, template) in FILES {
            let path = self.dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, self.render(template))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(path);
        }
        if let Some(lock) = &self.lock_file {
            let path = self.dir.join("Cargo.lock");
            std::fs::copy(lock, &path)
                .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
            written.push(path);
        }
        Ok(written)
    }

    fn render(&self, template: &str) -> String {
        let crate_name = format!("{}-connector", self.id);
        template
            .replace("{{crate}}", &crate_name)
            .replace("{{artifact}}", &crate_name.replace('-', "_"))
            .replace("{{struct}}", &type_name(&self.id))
            .replace("{{name}}", &display_name(&self.id))
            .replace("{{sdk}}", &self.sdk.dependency())
            .replace("{{testkit}}", &self.testkit.dependency())
            .replace("{{id}}", &self.id)
    }
}

/// The Postd checkout `dir` is in: the nearest ancestor with the SDK and the test kit.
pub fn checkout_around(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| {
            ["sdk", "testkit"].iter().all(|c| {
                std::fs::read_to_string(d.join(c).join("Cargo.toml"))
                    .is_ok_and(|t| t.contains(&format!("name = \"postd-{c}\"")))
            })
        })
        .map(Path::to_path_buf)
}

/// The parts of `id` between dashes, each capitalized.
fn capitalized_parts(id: &str) -> impl Iterator<Item = String> + '_ {
    id.split('-').filter(|part| !part.is_empty()).map(|part| {
        let mut chars = part.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    })
}

/// `acme-social` -> `AcmeSocial`; a leading digit gets a `Connector` prefix.
fn type_name(id: &str) -> String {
    let name: String = capitalized_parts(id).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        format!("Connector{name}")
    } else {
        name
    }
}

/// `acme-social` -> `Acme Social`.
fn display_name(id: &str) -> String {
    capitalized_parts(id).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_id() {
        assert_eq!(type_name("acme-social"), "AcmeSocial");
        assert_eq!(type_name("9gag"), "Connector9gag");
        assert_eq!(display_name("acme-social"), "Acme Social");
    }

    #[test]
    fn the_crate_is_written_with_its_sources_and_no_placeholder_left() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("acme");
        let new = NewConnector::new("acme", target.clone(), Some(Path::new("/src/postd")));
        let written = new.write().unwrap();
        assert_eq!(written.len(), FILES.len());
        for path in &written {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(
                !text.contains("{{"),
                "{} keeps a placeholder",
                path.display()
            );
        }
        let manifest = std::fs::read_to_string(target.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"acme-connector\""), "{manifest}");
        assert!(
            manifest.contains("postd-sdk = { path = \"/src/postd/sdk\" }"),
            "{manifest}"
        );
        assert!(manifest.contains("crate-type = [\"cdylib\"]"), "{manifest}");
        let lib = std::fs::read_to_string(target.join("src/lib.rs")).unwrap();
        assert!(lib.contains("register_connector!(Acme);"), "{lib}");

        // Nothing is overwritten.
        let again = new.write().unwrap_err();
        assert!(again.contains("not empty"), "{again}");
    }

    #[test]
    fn a_bad_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = NewConnector::new("Acme!", dir.path().join("x"), None)
            .write()
            .unwrap_err();
        assert!(error.contains("not a plugin id"), "{error}");
        assert!(!dir.path().join("x").exists());
    }
}

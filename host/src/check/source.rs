//! A connector crate's folder: the mistakes visible before (or instead of) a component, and the
//! component it built.

use std::path::{Path, PathBuf};

use super::Finding;

/// The target connectors are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Targets whose build is a core module, not a component.
const MODULE_TARGETS: &[&str] = &["wasm32-wasip1", "wasm32-unknown-unknown", "wasm32-wasi"];

/// The component built from the crate at `dir`, the newest of its release and debug builds;
/// `None` (with findings saying why and what to do) when there is none.
pub fn component_of_crate(dir: &Path, findings: &mut Vec<Finding>) -> Option<PathBuf> {
    let manifest_path = dir.join("Cargo.toml");
    let manifest: toml::Table = match std::fs::read_to_string(&manifest_path)
        .map_err(|e| e.to_string())
        .and_then(|text| text.parse().map_err(|e: toml::de::Error| e.to_string()))
    {
        Ok(manifest) => manifest,
        Err(why) => {
            findings.push(Finding::error(
                format!(
                    "{} is not a readable Cargo.toml: {why}",
                    manifest_path.display()
                ),
                Some("pass a connector crate's folder or a built .wasm".into()),
            ));
            return None;
        }
    };
    let Some(name) = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
    else {
        findings.push(Finding::error(
            format!("{} has no [package] name", manifest_path.display()),
            None,
        ));
        return None;
    };
    let artifact = format!("{}.wasm", name.replace('-', "_"));
    let crate_types: Vec<&str> = manifest
        .get("lib")
        .and_then(|lib| lib.get("crate-type"))
        .and_then(|t| t.as_array())
        .map(|types| types.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    if !crate_types.contains(&"cdylib") {
        findings.push(Finding::error(
            format!("{name} is not a cdylib: cargo builds no .wasm for it and says nothing"),
            Some("add to its Cargo.toml:\n[lib]\ncrate-type = [\"cdylib\"]".into()),
        ));
    }
    let depends_on_sdk = ["dependencies", "target"].iter().any(|table| {
        manifest
            .get(*table)
            .is_some_and(|t| t.to_string().contains("postd-sdk"))
    });
    if !depends_on_sdk {
        findings.push(Finding::warning(
            format!("{name} does not depend on postd-sdk"),
            Some("add `postd-sdk` to [dependencies] (or build against wit/ yourself)".into()),
        ));
    }
    if !source_registers_a_connector(&dir.join("src")) {
        findings.push(Finding::error(
            "no `register_connector!` in src/: the component would export no connector".to_string(),
            Some("implement `Connector` for a type and call `register_connector!(YourType);` once, at the crate root".into()),
        ));
    }
    let targets = target_dirs(dir);
    let artifact = artifact.as_str();
    let built = newest(targets.iter().flat_map(|t| {
        ["release", "debug", "wasm"]
            .iter()
            .map(move |profile| t.join(WASM_TARGET).join(profile).join(artifact))
    }));
    if let Some(component) = built {
        return Some(component);
    }
    let other = targets.iter().find_map(|t| {
        MODULE_TARGETS.iter().find(|target| {
            ["release", "debug"]
                .iter()
                .any(|profile| t.join(target).join(profile).join(artifact).exists())
        })
    });
    let what = match other {
        Some(target) => format!(
            "{name} was built for {target}, which makes a core module: the host runs components"
        ),
        None => format!("{name} has no {WASM_TARGET} build yet"),
    };
    findings.push(Finding::error(
        what,
        Some(format!(
            "cargo build --release --target {WASM_TARGET} (once: rustup target add {WASM_TARGET})"
        )),
    ));
    None
}

/// Target folders the crate's builds may be in: `CARGO_TARGET_DIR`, the crate's own, the test
/// kit's (`target/wasm`) and those of the workspaces above it.
fn target_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(env) = std::env::var_os("CARGO_TARGET_DIR") {
        let env = PathBuf::from(env);
        dirs.push(env.join("wasm"));
        dirs.push(env);
    }
    for ancestor in dir.ancestors().take(4) {
        dirs.push(ancestor.join("target/wasm"));
        dirs.push(ancestor.join("target"));
    }
    dirs
}

fn newest(candidates: impl Iterator<Item = PathBuf>) -> Option<PathBuf> {
    candidates
        .filter_map(|path| {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
            Some((modified, path))
        })
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, path)| path)
}

/// True when some `.rs` file under `src` invokes `register_connector!`.
fn source_registers_a_connector(src: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(src) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            source_registers_a_connector(&path)
        } else {
            path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(&path)
                    .is_ok_and(|text| text.contains("register_connector!"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(cargo_toml: &str, lib_rs: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), cargo_toml).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), lib_rs).unwrap();
        dir
    }

    fn texts(findings: &[Finding]) -> String {
        findings
            .iter()
            .map(|f| format!("{} / {}", f.what, f.fix.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_crate_without_cdylib_or_registration_is_told_both_fixes() {
        let dir = crate_with(
            "[package]\nname = \"acme\"\nversion = \"0.1.0\"\n[dependencies]\npostd-sdk = \"0.1\"\n",
            "struct Acme;\n",
        );
        let mut findings = Vec::new();
        assert!(component_of_crate(dir.path(), &mut findings).is_none());
        let text = texts(&findings);
        assert!(text.contains("crate-type = [\"cdylib\"]"), "{text}");
        assert!(text.contains("register_connector!(YourType)"), "{text}");
        assert!(
            text.contains("cargo build --release --target wasm32-wasip2"),
            "{text}"
        );
    }

    #[test]
    fn a_build_for_another_target_is_named() {
        let dir = crate_with(
            "[package]\nname = \"acme-x\"\n[lib]\ncrate-type = [\"cdylib\"]\n[dependencies]\npostd-sdk = \"0.1\"\n",
            "register_connector!(Acme);\n",
        );
        let built = dir.path().join("target/wasm32-wasip1/release");
        std::fs::create_dir_all(&built).unwrap();
        std::fs::write(built.join("acme_x.wasm"), b"\0asm\x01\0\0\0").unwrap();
        let mut findings = Vec::new();
        assert!(component_of_crate(dir.path(), &mut findings).is_none());
        let text = texts(&findings);
        assert!(text.contains("built for wasm32-wasip1"), "{text}");
        assert_eq!(findings.len(), 1, "{text}");
    }

    #[test]
    fn the_newest_wasip2_build_is_the_component() {
        let dir = crate_with(
            "[package]\nname = \"acme\"\n[lib]\ncrate-type = [\"cdylib\"]\n[dependencies]\npostd-sdk = \"0.1\"\n",
            "register_connector!(Acme);\n",
        );
        let built = dir.path().join("target/wasm32-wasip2/release");
        std::fs::create_dir_all(&built).unwrap();
        std::fs::write(built.join("acme.wasm"), b"").unwrap();
        let mut findings = Vec::new();
        let found = component_of_crate(dir.path(), &mut findings).unwrap();
        assert_eq!(found, built.join("acme.wasm"));
        assert!(findings.is_empty(), "{}", texts(&findings));
    }
}

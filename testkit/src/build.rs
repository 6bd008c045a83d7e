//! Building the connector under test into a component.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target connectors are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Builds the connector crate at `crate_dir` for `wasm32-wasip2` (release) and returns the
/// component's path. Call it with `env!("CARGO_MANIFEST_DIR")` from the crate's own tests.
///
/// The build goes to `<target dir>/wasm` — a target directory of its own, so it never waits on
/// the lock of the `cargo test` that runs it. Cargo skips it when nothing changed. Panics with
/// the fix when the build cannot produce a component: the target not installed, a crate that is
/// not a `cdylib`, a compile error.
pub fn build_component(crate_dir: impl AsRef<Path>) -> PathBuf {
    let crate_dir = crate_dir.as_ref();
    let manifest = crate_dir.join("Cargo.toml");
    let package = package_name(&manifest);
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_relative() {
                crate_dir.join(dir)
            } else {
                dir
            }
        })
        .unwrap_or_else(|| crate_dir.join("target"))
        .join("wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let hint = if stderr.contains("may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            format!("\nthe {WASM_TARGET} target is missing: rustup target add {WASM_TARGET}")
        } else {
            String::new()
        };
        panic!(
            "building {} for {WASM_TARGET} failed:\n{stderr}{hint}",
            crate_dir.display()
        );
    }
    let wasm = target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(
        wasm.exists(),
        "cargo built {package} but no {} appeared: a connector crate needs\n\n[lib]\ncrate-type = [\"cdylib\"]\n\nin its Cargo.toml",
        wasm.display()
    );
    wasm
}

/// The `[package] name` of `manifest`.
fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", manifest.display()));
    table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_else(|| panic!("{} has no [package] name", manifest.display()))
        .to_string()
}

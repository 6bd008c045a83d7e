//! Builds the wasm fixtures from source (never committed as binaries) and exposes their paths
//! as `POSTD_FIXTURE_*` compile-time variables for `src/lib.rs`.
//!
//! The guests build with a nested `cargo build --target wasm32-wasip2 --profile wasm` into
//! `target/wasm`, the same directory `make wasm` uses, so fixtures and connectors are compiled
//! once and shared. Cargo skips the build when nothing under `sdk/`, `wit/`, `connectors/` or
//! `tests/fixtures/` changed.
//!
//! Components of the older contract, `postd:connector@0.1.0`, are built from this repository's
//! source at [`SDK_V0_1_COMMIT`], the last commit whose SDK was postd-sdk 0.1: `git archive`
//! extracts that commit's SDK, WIT and guests into `target/sdk-v0.1/src` (once), and they build
//! into `target/wasm-v0.1`. They stand for connectors partners built before 0.2, which the host
//! must keep serving.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (constant name, package, artifact file stem)
const GUESTS: &[(&str, &str, &str)] = &[
    (
        "EXAMPLE",
        "postd-connector-example",
        "postd_connector_example",
    ),
    (
        "EXAMPLE_NEXT",
        "postd-fixture-example-next",
        "postd_fixture_example_next",
    ),
    (
        "MAILCHIMP",
        "postd-connector-mailchimp",
        "postd_connector_mailchimp",
    ),
    ("META", "postd-connector-meta", "postd_connector_meta"),
    (
        "LINKEDIN",
        "postd-connector-linkedin",
        "postd_connector_linkedin",
    ),
    ("GBP", "postd-connector-gbp", "postd_connector_gbp"),
    ("TIKTOK", "postd-connector-tiktok", "postd_connector_tiktok"),
    ("HOSTILE", "postd-fixture-hostile", "postd_fixture_hostile"),
    (
        "PIPELINE",
        "postd-fixture-pipeline",
        "postd_fixture_pipeline",
    ),
    (
        "PIPELINE_NEXT",
        "postd-fixture-pipeline-next",
        "postd_fixture_pipeline_next",
    ),
    (
        "CPU_HEAVY",
        "postd-fixture-cpu-heavy",
        "postd_fixture_cpu_heavy",
    ),
    ("SNOOP", "postd-fixture-snoop", "postd_fixture_snoop"),
    (
        "ONE_POST",
        "postd-fixture-one-post",
        "postd_fixture_one_post",
    ),
];

/// The last commit whose `sdk/` is postd-sdk 0.1 (contract `postd:connector@0.1.0`).
const SDK_V0_1_COMMIT: &str = "ba3bf1426c9d06e5e7121ad98ada64007103f4e9";

/// Guests built from [`SDK_V0_1_COMMIT`]: (constant name, package, artifact file stem, path).
const V0_1_GUESTS: &[(&str, &str, &str, &str)] = &[
    (
        "EXAMPLE_V0_1",
        "postd-connector-example",
        "postd_connector_example",
        "connectors/example",
    ),
    (
        "PIPELINE_V0_1",
        "postd-fixture-pipeline",
        "postd_fixture_pipeline",
        "tests/fixtures/pipeline",
    ),
];

/// `cargo build` of wasm guests in `dir` into `target_dir`.
fn wasm_build(dir: &Path, target_dir: &Path, packages: impl Iterator<Item = &'static str>) {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(dir)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "wasm"])
        .env("CARGO_TARGET_DIR", target_dir)
        // The outer build's flags are for the host target, not for the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for package in packages {
        cargo.args(["-p", package]);
    }
    let output = cargo.output().expect("running cargo for the wasm fixtures");
    if !output.status.success() {
        panic!(
            "building the wasm fixtures in {} failed. If the wasm32-wasip2 target is missing, \
             `make build` installs it (rustup target add wasm32-wasip2).\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Tells the tests where each built guest is: `POSTD_FIXTURE_<name>`.
fn expose(target_dir: &Path, name: &str, stem: &str) {
    let path = target_dir
        .join("wasm32-wasip2/wasm")
        .join(format!("{stem}.wasm"));
    assert!(
        path.exists(),
        "expected fixture {} after the build",
        path.display()
    );
    println!("cargo:rustc-env=POSTD_FIXTURE_{name}={}", path.display());
}

/// Extracts the 0.1 SDK's source (and the guests built with it) at [`SDK_V0_1_COMMIT`] into
/// `dir`, as a workspace of those packages alone; does nothing when `dir` already holds it.
fn extract_v0_1_source(workspace: &Path, dir: &Path) {
    let marker = dir.join(".postd-commit");
    if std::fs::read_to_string(&marker).is_ok_and(|c| c == SDK_V0_1_COMMIT) {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("creating the 0.1 source folder");
    let archive = dir.join("source.tar");
    let mut paths = vec!["Cargo.toml", "Cargo.lock", "sdk", "wit/since_v0.1.0"];
    paths.extend(V0_1_GUESTS.iter().map(|(_, _, _, path)| *path));
    let status = Command::new("git")
        .current_dir(workspace)
        .args(["archive", "--format=tar", "-o"])
        .arg(&archive)
        .arg(SDK_V0_1_COMMIT)
        .args(&paths)
        .status()
        .expect("running git archive");
    assert!(
        status.success(),
        "git archive {SDK_V0_1_COMMIT} failed: the 0.1 components are built from this \
         repository's history, which a shallow clone lacks (`git fetch --unshallow`)"
    );
    let status = Command::new("tar")
        .current_dir(dir)
        .args(["-xf", "source.tar"])
        .status()
        .expect("running tar");
    assert!(status.success(), "extracting the 0.1 source failed");
    // The workspace of that commit, reduced to the packages extracted.
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("the 0.1 Cargo.toml");
    let start = manifest.find("members = [").expect("a members list");
    let end = start
        + manifest[start..]
            .find(']')
            .expect("the end of the members list");
    let mut members = vec!["\"sdk\"".to_string()];
    members.extend(
        V0_1_GUESTS
            .iter()
            .map(|(_, _, _, path)| format!("\"{path}\"")),
    );
    let manifest = format!(
        "{}members = [{}]{}",
        &manifest[..start],
        members.join(", "),
        &manifest[end + 1..]
    )
    .lines()
    .filter(|line| !line.starts_with("default-members"))
    .collect::<Vec<_>>()
    .join("\n");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("writing the 0.1 Cargo.toml");
    std::fs::write(&marker, SDK_V0_1_COMMIT).expect("writing the 0.1 marker");
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    for watched in [
        "sdk",
        "wit",
        "connectors",
        "tests/fixtures",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let target_dir = workspace.join("target/wasm");
    wasm_build(
        &workspace,
        &target_dir,
        GUESTS.iter().map(|(_, package, _)| *package),
    );
    for (name, _, stem) in GUESTS {
        expose(&target_dir, name, stem);
    }

    let v0_1_source = workspace.join("target/sdk-v0.1/src");
    let v0_1_target = workspace.join("target/wasm-v0.1");
    extract_v0_1_source(&workspace, &v0_1_source);
    wasm_build(
        &v0_1_source,
        &v0_1_target,
        V0_1_GUESTS.iter().map(|(_, package, _, _)| *package),
    );
    for (name, _, stem, _) in V0_1_GUESTS {
        expose(&v0_1_target, name, stem);
    }
}

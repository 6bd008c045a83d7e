//! Builds the wasm fixtures from source (never committed as binaries) and exposes their paths
//! as `POSTD_FIXTURE_*` compile-time variables for `src/lib.rs`.
//!
//! The guests build with a nested `cargo build --target wasm32-wasip2 --profile wasm` into
//! `target/wasm`, the same directory `make wasm` uses, so fixtures and connectors are compiled
//! once and shared. Cargo skips the build when nothing under `sdk/`, `wit/`, `connectors/` or
//! `tests/fixtures/` changed.

use std::path::PathBuf;
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

    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&workspace)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "wasm"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer build's flags are for the host target, not for the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for (_, package, _) in GUESTS {
        cargo.args(["-p", package]);
    }
    let output = cargo.output().expect("running cargo for the wasm fixtures");
    if !output.status.success() {
        panic!(
            "building the wasm fixtures failed. If the wasm32-wasip2 target is missing, `make build` \
             installs it (rustup target add wasm32-wasip2).\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (name, _, stem) in GUESTS {
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
}

//! `postd-host check` on good and bad components.

use std::process::Command;

use postd_test_artifacts::{EXAMPLE, EXAMPLE_V0_1, HOSTILE, META};

fn check(path: &std::path::Path) -> (bool, String) {
    check_with(path, &[])
}

fn check_with(path: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .arg("check")
        .arg(path)
        .args(extra)
        .env("POSTD_LOG", "error")
        .output()
        .expect("running postd-host check");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn check_prints_the_manifest_of_a_good_component() {
    let (ok, out) = check(std::path::Path::new(EXAMPLE));
    assert!(ok, "{out}");
    assert!(out.contains("loadable by this host"), "{out}");
    assert!(out.contains("id:            example"), "{out}");
    assert!(out.contains("version:       0.1.0"), "{out}");
    assert!(out.contains("sdk:           postd-sdk 0.2.0"), "{out}");
    assert!(
        out.contains("contract:      postd:connector@0.2.0\n"),
        "{out}"
    );
    assert!(
        out.contains("  settings:      base-url (setting): the example API's origin"),
        "{out}"
    );
}

#[test]
fn a_component_built_with_the_0_1_sdk_is_still_loadable() {
    let (ok, out) = check(std::path::Path::new(EXAMPLE_V0_1));
    assert!(ok, "{out}");
    assert!(out.contains("loadable by this host"), "{out}");
    assert!(out.contains("sdk:           postd-sdk 0.1.0"), "{out}");
    assert!(
        out.contains("contract:      postd:connector@0.1.0 (an older contract, still served)"),
        "{out}"
    );
}

#[test]
fn check_names_the_problem_of_a_bad_component() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm not really").unwrap();
    let (ok, out) = check(&bad);
    assert!(!ok, "{out}");
    assert!(out.contains("bad.wasm: NOT loadable by this host"), "{out}");
    assert!(
        out.contains("error: not a valid WebAssembly component"),
        "{out}"
    );

    let (ok, out) = check(&dir.path().join("absent.wasm"));
    assert!(!ok);
    assert!(out.contains("error: cannot read"), "{out}");
    assert!(
        out.contains(
            "fix: build the connector with `cargo build --release --target wasm32-wasip2`"
        ),
        "{out}"
    );
}

#[test]
fn a_manifest_that_does_io_is_refused_with_the_import_it_called() {
    // The hostile fixture's manifest() reads an app setting (to misbehave on request).
    let (ok, out) = check(std::path::Path::new(HOSTILE));
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "error: manifest() calls `postd:connector/vault@0.2.0#app-setting`: it must not do I/O"
        ),
        "{out}"
    );
    assert!(out.contains("fix: return a constant manifest"), "{out}");
}

#[test]
fn a_crate_folder_is_checked_through_the_component_it_built() {
    // The example connector's crate: its build is in the workspace's target folder.
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/example");
    let (ok, out) = check(&folder);
    assert!(ok, "{out}");
    assert!(
        out.contains("postd_connector_example.wasm: loadable by this host"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"acme\"\nversion = \"0.1.0\"\n[dependencies]\npostd-sdk = \"0.1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "use postd_sdk::prelude::*;\n",
    )
    .unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok, "{out}");
    assert!(out.contains("acme is not a cdylib"), "{out}");
    assert!(out.contains("crate-type = [\"cdylib\"]"), "{out}");
    assert!(out.contains("no `register_connector!` in src/"), "{out}");
    assert!(out.contains("acme has no wasm32-wasip2 build yet"), "{out}");
}

#[test]
fn a_component_is_checked_against_its_plugin_entry() {
    let dir = tempfile::tempdir().unwrap();
    let entry = dir.path().join("plugins.toml");
    std::fs::write(
        &entry,
        "[plugins.staging]\ncomponent = \"meta\"\nsettings = { client-id = \"1\", auth-url = \"https://sandbox.test/dialog\" }\nsecrets = { client-secret = { env = \"POSTD_CHECK_TEST_UNSET\" } }\n",
    )
    .unwrap();
    let (ok, out) = check_with(
        std::path::Path::new(META),
        &["--plugin-config", entry.to_str().unwrap()],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("loadable by this host as plugin `staging`"),
        "{out}"
    );
    assert!(
        out.contains(
            "warning: secret `client-secret` reads POSTD_CHECK_TEST_UNSET, which is not set here"
        ),
        "{out}"
    );
    assert!(out.contains("warning: the entry grants no egress"), "{out}");
    // Where the setting moved the consent page: check says so.
    assert!(
        out.contains("note: the consent page is at https://sandbox.test (not among allowed_hosts"),
        "{out}"
    );
    assert!(out.contains("settings given: auth-url, client-id"), "{out}");

    // Misspelt, the setting would have left the consent page on Meta's own site: refused.
    std::fs::write(
        &entry,
        "[plugins.staging]\ncomponent = \"meta\"\nsettings = { client-id = \"1\", dialg-url = \"https://sandbox.test/dialog\" }\nsecrets = { client-secret = { value = \"s\" } }\n",
    )
    .unwrap();
    let (ok, out) = check_with(
        std::path::Path::new(META),
        &["--plugin-config", entry.to_str().unwrap()],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("its entry sets `dialg-url`, which the connector does not read (it reads: api-base-url, client-id, client-secret, auth-url, dialog-url, graph-base-url, graph-version, webhook-verify-token)"),
        "{out}"
    );
    assert!(out.contains("fix: correct the name's spelling"), "{out}");

    // An entry whose component is another plugin's.
    std::fs::write(&entry, "[plugins.meta]\ncomponent = \"tiktok\"\n").unwrap();
    let (ok, out) = check_with(
        std::path::Path::new(META),
        &[
            "--plugin-config",
            entry.to_str().unwrap(),
            "--plugin",
            "meta",
        ],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("its manifest id `meta` does not match `tiktok`"),
        "{out}"
    );
    assert!(
        out.contains("fix: set `component = \"meta\"` in [plugins.meta]"),
        "{out}"
    );
}

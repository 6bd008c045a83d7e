//! `postd-host check` on good and bad components.

use std::process::Command;

use postd_test_artifacts::EXAMPLE;

fn check(path: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(["check", path.to_str().unwrap()])
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
    assert!(out.contains("sdk:           postd-sdk 0.1.0"), "{out}");
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
        out.contains("reason: not a valid WebAssembly component"),
        "{out}"
    );

    let (ok, out) = check(&dir.path().join("absent.wasm"));
    assert!(!ok);
    assert!(out.contains("reason: cannot read the component"), "{out}");
}

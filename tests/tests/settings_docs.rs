//! The README's "Settings per connector" tables say what each connector's manifest declares:
//! every name, whether it is a secret, whether it is required — no more, no fewer.

use std::collections::BTreeSet;
use std::path::PathBuf;

use postd_host::runtime::{HostServices, Runtime, RuntimeSettings};

/// (name, kind) rows: kind is `setting`, `secret`, with `, required` when required.
type Rows = BTreeSet<(String, String)>;

/// The rows of the README table under `**<id>**` in "### Settings per connector".
fn documented(readme: &str, id: &str) -> Rows {
    let section = readme
        .split("### Settings per connector")
        .nth(1)
        .expect("the README has a Settings per connector section");
    let section = section.split("\n## ").next().unwrap();
    let block = section
        .split(&format!("**{id}**"))
        .nth(1)
        .unwrap_or_else(|| panic!("the README has no settings table for {id}"));
    block
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connectors_settings_table_matches_its_manifest() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    // The compile cache the other end-to-end tests share: each component compiles once.
    let settings = RuntimeSettings {
        cache_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")),
        ..RuntimeSettings::default()
    };
    let runtime = Runtime::new(settings, HostServices::in_memory()).unwrap();
    use postd_test_artifacts::{GBP, LINKEDIN, MAILCHIMP, META, TIKTOK};
    for (id, path) in [
        ("gbp", GBP),
        ("linkedin", LINKEDIN),
        ("mailchimp", MAILCHIMP),
        ("meta", META),
        ("tiktok", TIKTOK),
    ] {
        let manifest = runtime
            .inspect(std::fs::read(path).unwrap(), PathBuf::from(path))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let declared: Rows = manifest
            .settings
            .iter()
            .map(|spec| {
                let kind = if spec.secret { "secret" } else { "setting" };
                let kind = if spec.required {
                    format!("{kind}, required")
                } else {
                    kind.to_string()
                };
                (spec.name.clone(), kind)
            })
            .collect();
        assert!(!declared.is_empty(), "{id} declares its settings");
        assert_eq!(documented(&readme, id), declared, "{id}");
    }
}

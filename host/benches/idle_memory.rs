//! Resident memory of an idle host process (`postd-host run`, SQLite) with the five connectors
//! loaded (example, Mailchimp, Meta, LinkedIn, Google Business Profile): VmRSS once the plugins
//! serve and the process has been idle for two seconds. Writes `bench/out/idle_memory.json`.

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use support::process::HostProcess;

const PLUGINS: &[(&str, &str)] = &[
    ("example", postd_test_artifacts::EXAMPLE),
    ("mailchimp", postd_test_artifacts::MAILCHIMP),
    ("meta", postd_test_artifacts::META),
    ("linkedin", postd_test_artifacts::LINKEDIN),
    ("gbp", postd_test_artifacts::GBP),
];

fn main() {
    let tokio = support::tokio_runtime();
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let mut file = String::from("plugin_dir = \"plugins\"\n");
    for (id, source) in PLUGINS {
        std::fs::copy(source, plugin_dir.join(format!("{id}.wasm"))).unwrap();
        file.push_str(&format!(
            "\n[plugins.{id}]\npath = \"{id}.wasm\"\ntenants = [\"*\"]\n"
        ));
    }
    let plugins = dir.path().join("plugins.toml");
    std::fs::write(&plugins, file).unwrap();
    let data = dir.path().join("data");
    let measure = |label: &str| {
        tokio.block_on(async {
            let host = HostProcess::start(&data, &plugins, &[]).await;
            let client = reqwest::Client::new();
            let ready = client.get(format!("{}/readyz", host.url)).send().await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let rss = support::rss_kib_of(&host.pid());
            eprintln!(
                "{label}: VmRSS {rss} KiB, readyz {:?}",
                ready.map(|r| r.status())
            );
            rss
        })
    };
    // The first start compiles the components into the cache; the second loads them from it,
    // as a restart does.
    let cold = measure("first start (compiles)");
    let warm = measure("restart (compile cache)");
    support::write_result(
        "idle_memory",
        &json!({ "plugins": PLUGINS.len(), "cold_start_rss_kib": cold, "restart_rss_kib": warm }),
    );
}

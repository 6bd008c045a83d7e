//! Components that must not serve are refused with a reason naming the file, and whatever was
//! serving keeps serving.

use std::path::PathBuf;

use postd_host::config::{LimitsOverride, PluginsFile};
use postd_host::runtime::wit::ContractVersion;
use postd_host::runtime::{CallError, LoadProblem};
use postd_test_artifacts::{EXAMPLE, EXAMPLE_V0_1, HOSTILE, LINKEDIN, bytes};

use crate::support::{self, manifest_versions};

/// The smallest valid component: no imports, no exports — a component of another world.
const EMPTY_COMPONENT: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// A core module, not a component.
const CORE_MODULE: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_foreign_components_are_refused_while_the_old_version_serves() {
    let runtime = support::runtime();
    support::serve(&runtime, "example", EXAMPLE).await;
    let good = bytes(EXAMPLE);

    let truncated = runtime
        .install("example", good[..good.len() / 2].to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(truncated.problem, LoadProblem::Invalid(_)),
        "{truncated}"
    );

    let foreign = runtime
        .install("example", EMPTY_COMPONENT.to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(foreign.problem, LoadProblem::ForeignWorld(_)),
        "{foreign}"
    );
    assert!(
        foreign
            .to_string()
            .contains("not a postd:connector component this host serves (0.1.0 or 0.2.0)"),
        "{foreign}"
    );

    let core = runtime
        .install("example", CORE_MODULE.to_vec())
        .await
        .unwrap_err();
    assert!(matches!(core.problem, LoadProblem::Invalid(_)), "{core}");
    assert!(
        core.to_string().contains("core WebAssembly module")
            && core.to_string().contains("wasm32-wasip2"),
        "a core module is named as such, with the fix: {core}"
    );

    let wrong_id = runtime
        .install("example", bytes(HOSTILE))
        .await
        .unwrap_err();
    assert!(
        matches!(&wrong_id.problem, LoadProblem::IdMismatch { expected, found } if expected == "example" && found == "hostile"),
        "{wrong_id}"
    );

    let status = runtime.status("example").unwrap();
    assert_eq!(status.version.as_deref(), Some("0.1.0"));
    assert_eq!(status.swaps, 0);
    assert!(
        status
            .last_error
            .unwrap()
            .contains("does not match `example`")
    );
    assert_eq!(
        manifest_versions(&runtime, "example").await.unwrap().1,
        "0.1.0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_starts_with_the_plugins_that_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(EXAMPLE, dir.path().join("example.wasm")).unwrap();
    std::fs::copy(EXAMPLE, dir.path().join("impostor.wasm")).unwrap();
    std::fs::write(dir.path().join("truncated.wasm"), &bytes(EXAMPLE)[..1000]).unwrap();
    let config = dir.path().join("plugins.toml");
    std::fs::write(
        &config,
        r#"
        [plugins.example]
        path = "example.wasm"
        [plugins.missing]
        path = "missing.wasm"
        [plugins.impostor]
        path = "impostor.wasm"
        [plugins.truncated]
        path = "truncated.wasm"
        [plugins.malformed]
        path = 42
        "#,
    )
    .unwrap();
    let file = PluginsFile::load(&config);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    assert!(file.problems[0].to_string().contains("plugin `malformed`"));

    let runtime = support::runtime();
    let failures = runtime.configure(&file).await;
    let mut reasons: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].contains("impostor.wasm") && reasons[0].contains("manifest id `example`"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains("missing.wasm") && reasons[1].contains("cannot read"),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("truncated.wasm") && reasons[2].contains("not a valid"),
        "{}",
        reasons[2]
    );

    assert_eq!(
        manifest_versions(&runtime, "example").await.unwrap().1,
        "0.1.0"
    );
    let not_loaded = manifest_versions(&runtime, "missing").await.unwrap_err();
    assert!(
        matches!(&not_loaded, CallError::NotLoaded(id, why) if id == "missing" && why.contains("cannot read")),
        "{not_loaded}"
    );
    let unknown = manifest_versions(&runtime, "malformed").await.unwrap_err();
    assert!(matches!(unknown, CallError::UnknownPlugin(_)));
}

/// Production and a staging app of one platform from one host: a second entry names the
/// component it runs and carries its own settings and tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_component_serves_two_configured_plugins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(EXAMPLE, dir.path().join("example.wasm")).unwrap();
    let config = dir.path().join("plugins.toml");
    std::fs::write(
        &config,
        r#"
        [plugins.example]
        settings = { base-url = "https://api.example.com" }
        [plugins.example-staging]
        component = "example"
        tenants = ["qa"]
        settings = { base-url = "https://staging.example.com" }
        [plugins.wrong]
        component = "hostile"
        path = "example.wasm"
        [plugins.bad-name]
        component = "Not An Id"
        "#,
    )
    .unwrap();
    let file = PluginsFile::load(&config);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    assert!(
        file.problems[0].to_string().contains("component"),
        "{:?}",
        file.problems
    );
    let runtime = support::runtime();
    let failures = runtime.configure(&file).await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        matches!(&failures[0].problem, LoadProblem::IdMismatch { expected, found } if expected == "hostile" && found == "example"),
        "{}",
        failures[0]
    );
    for id in ["example", "example-staging"] {
        let status = runtime.status(id).unwrap();
        assert_eq!(status.version.as_deref(), Some("0.1.0"), "{id}: {status:?}");
    }
    assert_eq!(
        manifest_versions(&runtime, "example").await.unwrap().1,
        "0.1.0"
    );
    // The staging entry's own tenant list applies: the test tenant is not among them.
    let refused = manifest_versions(&runtime, "example-staging")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, CallError::NotEnabled { plugin, .. } if plugin == "example-staging"),
        "{refused}"
    );
    let staging = runtime.plugin_config("example-staging").unwrap();
    assert_eq!(
        staging.entry.settings["base-url"],
        "https://staging.example.com"
    );
    assert_eq!(staging.entry.tenants, ["qa"]);
    assert_eq!(
        runtime.plugin_config("example").unwrap().entry.settings["base-url"],
        "https://api.example.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_serves_only_the_tenants_it_is_enabled_for() {
    let runtime = support::runtime();
    let mut entry = support::entry("example", PathBuf::from(EXAMPLE), LimitsOverride::default());
    entry.tenants = vec!["someone-else".into()];
    runtime.configure_plugin(entry).await.unwrap();
    let refused = manifest_versions(&runtime, "example").await.unwrap_err();
    assert!(matches!(refused, CallError::NotEnabled { .. }), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_components_are_cached_by_digest_and_engine() {
    let cache = tempfile::tempdir().unwrap();
    let private = |dir: &std::path::Path| {
        support::runtime_with(dir, postd_host::runtime::HostServices::in_memory())
    };
    let runtime = private(cache.path());
    support::serve(&runtime, "example", EXAMPLE).await;
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let sha = runtime.status("example").unwrap().sha256.unwrap();
    assert!(
        cached[0].starts_with(&sha) && cached[0].ends_with(".cwasm"),
        "{cached:?}"
    );

    // A second runtime loads from the cache and serves the same component.
    let again = private(cache.path());
    support::serve(&again, "example", EXAMPLE).await;
    assert_eq!(
        manifest_versions(&again, "example").await.unwrap().1,
        "0.1.0"
    );
    // A corrupted cache entry is discarded and the component compiled again.
    std::fs::write(cache.path().join(&cached[0]), b"garbage").unwrap();
    let third = private(cache.path());
    support::serve(&third, "example", EXAMPLE).await;
    assert_eq!(
        manifest_versions(&third, "example").await.unwrap().1,
        "0.1.0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_naming_a_setting_the_connector_does_not_read_is_refused() {
    let runtime = support::runtime();
    // A misspelt base URL: it would silently mean the connector's default.
    let mut typo = support::entry("example", EXAMPLE, LimitsOverride::default());
    typo.settings
        .insert("base-ur".into(), "https://api.example.test".into());
    let refused = runtime.configure_plugin(typo).await.unwrap_err();
    match &refused.problem {
        LoadProblem::UnknownSetting { name, known } => {
            assert_eq!(name, "base-ur");
            assert_eq!(known, "base-url");
        }
        other => panic!("expected unknown-setting, got {other}"),
    }
    assert!(
        refused.to_string().contains("it reads: base-url"),
        "{refused}"
    );

    // LinkedIn authenticates by OAuth: its app's client id and secret are required.
    let bare = support::entry("linkedin", LINKEDIN, LimitsOverride::default());
    let refused = runtime.configure_plugin(bare).await.unwrap_err();
    assert!(
        matches!(&refused.problem, LoadProblem::MissingSetting { name, .. } if name == "client-id"),
        "{refused}"
    );

    // The same names spelt right load.
    let mut right = support::entry("example", EXAMPLE, LimitsOverride::default());
    right
        .settings
        .insert("base-url".into(), "https://api.example.test".into());
    runtime.configure_plugin(right).await.unwrap();

    // A 0.1 component declares nothing, so its entry is not checked.
    let mut old = support::entry("example-v01", EXAMPLE_V0_1, LimitsOverride::default());
    old.component = "example".into();
    old.settings.insert("anything".into(), "goes".into());
    let status = runtime.configure_plugin(old).await.unwrap();
    assert_eq!(status.contract, Some(ContractVersion::V0_1));
}

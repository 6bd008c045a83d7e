//! The `postd-host` binary itself: start-up with plugins loading behind a live API, readiness,
//! the first tenant's key, private files, a graceful stop on SIGTERM and SIGINT, and an
//! outbound event that survives SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;

/// A `postd-host run` process on a fresh SQLite data directory.
pub(super) struct HostProcess {
    child: Child,
    /// The first tenant's key, read from stdout.
    pub(super) key: String,
    pub(super) api: Api,
}

impl HostProcess {
    /// Starts the binary with `plugins_toml` in `dir`, its data in `data`, extra environment
    /// `env` and its log written to `stderr`; returns once the API answers.
    pub(super) async fn start(
        dir: &Path,
        data: &Path,
        plugins_toml: &str,
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> HostProcess {
        Self::launch(dir, data, plugins_toml, env, stderr, None).await
    }

    /// Starts the binary again on the data of an earlier start (or another replica on the same
    /// database), which printed `key`.
    pub(super) async fn restart(
        dir: &Path,
        data: &Path,
        plugins_toml: &str,
        env: &[(&str, &str)],
        key: &str,
    ) -> HostProcess {
        Self::launch(dir, data, plugins_toml, env, Stdio::inherit(), Some(key)).await
    }

    async fn launch(
        dir: &Path,
        data: &Path,
        plugins_toml: &str,
        env: &[(&str, &str)],
        stderr: Stdio,
        known_key: Option<&str>,
    ) -> HostProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let plugins = dir.join("plugins.toml");
        std::fs::write(&plugins, plugins_toml).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_postd-host"));
        // Settings of the environment running the tests are not the test's, unless it says.
        for inherited in [
            "POSTD_DATABASE_URL",
            "POSTD_CACHE_DIR",
            "POSTD_REDIS_URL",
            "POSTD_CONFIG",
        ] {
            command.env_remove(inherited);
        }
        let mut child = command
            .args(["run", "--plugins"])
            .arg(&plugins)
            .env("POSTD_DATA_DIR", data)
            .env("POSTD_LISTEN", format!("127.0.0.1:{port}"))
            .env("POSTD_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        // The first start prints the default tenant's key. The pipe is read to its end, so the
        // host never writes into a closed pipe.
        let stdout = child.stdout.take().unwrap();
        let (found, key) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("pdk_")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(format!("pdk_{rest}"));
                }
            }
        });
        let key = match known_key {
            Some(key) => key.to_string(),
            None => key.await.expect("the first tenant's key is printed"),
        };
        let api = Api {
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        crate::support::eventually(Duration::from_secs(120), "the API to answer", || async {
            api.client
                .get(format!("{}/livez", api.url))
                .send()
                .await
                .is_ok()
        })
        .await;
        HostProcess { child, key, api }
    }

    pub(super) async fn readyz(&self) -> Answer {
        self.api
            .send(self.api.request(Method::GET, "/readyz", None))
            .await
    }

    /// Sends `signal` (`-TERM`, `-INT`).
    pub(super) fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to end; true when it exited 0.
    pub(super) async fn exited_cleanly(mut self) -> bool {
        tokio::task::spawn_blocking(move || self.child.wait().unwrap())
            .await
            .unwrap()
            .success()
    }
}

/// A test that fails before stopping its host leaves no process behind (one would outlive the
/// test run and hold its output open). A process already waited for is not signalled again.
impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_the_api_with_a_first_tenant_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    // A plugin whose manifest() blocks: the API must answer while it loads, and its failure
    // must not keep the replica out of service.
    let plugins = format!(
        "[plugins.hostile]\npath = {:?}\nsettings = {{ manifest = \"sleep\" }}\n",
        postd_test_artifacts::HOSTILE
    );
    let host = HostProcess::start(
        dir.path(),
        dir.path(),
        &plugins,
        &[("POSTD_SHUTDOWN_DELAY_SECS", "5")],
        Stdio::null(),
    )
    .await;
    assert_eq!(
        host.api.get("/v1/connections", &host.key).await.json,
        json!([])
    );
    let loading = host.readyz().await;
    assert_eq!(
        (loading.status, loading.json["plugins"]["hostile"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("loading")),
        "the API answers before the plugins loaded: {loading:?}"
    );
    // The replica is ready once no first load is running, whether it served or failed.
    crate::support::eventually(Duration::from_secs(60), "the host to be ready", || async {
        host.readyz().await.status == StatusCode::OK
    })
    .await;
    let ready = host.readyz().await;
    assert_eq!(
        ready.json["plugins"]["hostile"].as_str(),
        Some("not-loaded"),
        "{ready:?}"
    );
    // SIGTERM, as Kubernetes, systemd and Docker send it: readiness fails at once while
    // requests are still served for the delay, then the process drains and exits 0.
    host.signal("-TERM");
    crate::support::eventually(
        Duration::from_secs(4),
        "readiness to fail while draining",
        || async {
            let ready = host.readyz().await;
            ready.status == StatusCode::SERVICE_UNAVAILABLE && ready.json["draining"] == true
        },
    )
    .await;
    assert!(host.exited_cleanly().await, "a graceful stop exits 0");
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_keeps_its_files_private_and_the_first_key_out_of_the_log() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    // A fresh data directory, created by the host.
    let data = dir.path().join("data");
    // One plugin, so the compile cache holds a compiled component.
    let plugins = format!(
        "[plugins.pipeline]\npath = {:?}\n",
        postd_test_artifacts::PIPELINE
    );
    let log = std::fs::File::create(dir.path().join("host.log")).unwrap();
    // Everything the host and its database driver log, at every level.
    let host = HostProcess::start(
        dir.path(),
        &data,
        &plugins,
        &[("POSTD_LOG", "info,postd_host=trace,sqlx=trace")],
        log.into(),
    )
    .await;
    assert_eq!(
        host.api.get("/v1/connections", &host.key).await.status,
        StatusCode::OK
    );
    // Plugins load behind the live API: the cache is written once the replica is ready.
    crate::support::eventually(Duration::from_secs(120), "the plugin to load", || async {
        host.readyz().await.json["plugins"]["pipeline"] == "serving"
    })
    .await;

    let mode = |path: &Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("vault.key")), 0o600, "the local key");
    let cache = data.join("cache");
    assert_eq!(mode(&cache), 0o700, "the compile cache");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!cached.is_empty(), "the plugin was compiled into the cache");
    let databases: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("postd.db")
        })
        .collect();
    assert!(databases.iter().any(|p| p.ends_with("postd.db")));
    for file in cached.iter().chain(&databases) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    let key = host.key.clone();
    host.signal("-INT");
    assert!(host.exited_cleanly().await, "SIGINT stops the host cleanly");
    let logged = std::fs::read_to_string(dir.path().join("host.log")).unwrap();
    assert!(
        logged.contains("postd-host running"),
        "the log was captured"
    );
    assert!(
        !logged.contains(&key) && !logged.contains(&key[4..]),
        "the first tenant's key is in the log"
    );
    assert!(
        !logged.contains('\u{1b}'),
        "a log written to a file carries no terminal colour codes"
    );
    // Off a terminal, and with no format set, logs are JSON lines.
    for line in logged.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        assert!(entry["level"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn an_event_committed_before_a_sigkill_is_delivered_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = format!(
        "[plugins.pipeline]\npath = {:?}\n",
        postd_test_artifacts::PIPELINE
    );
    let env = [
        ("POSTD_ADMIN_KEY", ADMIN_KEY),
        ("POSTD_EVENT_ALLOWED_RANGES", "127.0.0.0/8"),
        ("POSTD_EVENT_TIMEOUT_SECS", "2"),
        ("POSTD_EVENT_RETRY_FIRST_MS", "200"),
    ];
    let receiver = crate::support::receiver::Receiver::start(&[]).await;
    // The first attempt reaches the receiver, which never answers it: the host dies with the
    // delivery in flight.
    receiver.stall();
    let host = HostProcess::start(dir.path(), dir.path(), &plugins, &env, Stdio::inherit()).await;
    let created = host
        .api
        .post(
            "/v1/event-endpoints",
            &host.key,
            json!({ "url": receiver.url, "event_types": ["plugin.disabled_for_tenant"] }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let secret = created.json["secret"].as_str().unwrap().to_string();
    let endpoint = created.json["id"].as_str().unwrap().to_string();
    crate::support::eventually(Duration::from_secs(120), "the plugin to load", || async {
        host.readyz().await.json["plugins"]["pipeline"] == "serving"
    })
    .await;
    let disabled = host
        .api
        .send(with_json(
            host.api.request(
                Method::PUT,
                "/admin/tenants/default/plugins/pipeline",
                Some(ADMIN_KEY),
            ),
            &json!({ "enabled": false }),
        ))
        .await;
    assert_eq!(disabled.status, StatusCode::NO_CONTENT, "{disabled:?}");
    crate::support::eventually(Duration::from_secs(30), "the first attempt", || async {
        !receiver.got().is_empty()
    })
    .await;
    let key = host.key.clone();
    host.kill_9();
    let first = receiver.got()[0].clone();
    assert_eq!(first.answered, None);

    receiver.resume();
    let host = HostProcess::restart(dir.path(), dir.path(), &plugins, &env, &key).await;
    crate::support::eventually(
        Duration::from_secs(60),
        "the delivery after the restart",
        || async { !receiver.accepted_ids().is_empty() },
    )
    .await;
    assert_eq!(
        receiver.accepted_ids(),
        vec![first.id()],
        "the same event, once accepted"
    );
    let accepted = receiver
        .got()
        .into_iter()
        .find(|d| d.answered == Some(200))
        .unwrap();
    assert!(accepted.verifies_with(&secret));
    assert_eq!(accepted.body, first.body, "the same body on every attempt");
    assert_eq!(accepted.kind(), "plugin.disabled_for_tenant");
    // The host records the delivery once it has read the answer the receiver already sent.
    let deliveries = format!("/v1/event-endpoints/{endpoint}/deliveries");
    crate::support::eventually(Duration::from_secs(30), "the delivery recorded", || async {
        host.api.get(&deliveries, &key).await.json[0]["state"] == "delivered"
    })
    .await;
    let listed = host.api.get(&deliveries, &key).await;
    // The attempt the crash cut short counts; on a loaded machine the restarted host may also
    // have given up on a slow attempt before the accepted one, so at least two.
    assert!(
        listed.json[0]["attempts"].as_u64().is_some_and(|n| n >= 2),
        "the attempt the crash cut short counts: {listed:?}"
    );
    host.signal("-TERM");
    assert!(host.exited_cleanly().await);
}

/// `--help` names every setting the host reads, from the same reference the example file is
/// generated from.
#[test]
fn help_lists_every_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .arg("--help")
        .env("POSTD_CONFIG", "")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for setting in postd_host::config::SETTINGS {
        assert!(
            help.contains(setting.env),
            "{} missing from --help",
            setting.env
        );
    }
    assert!(help.contains("POSTD_ADMIN_KEY") && help.contains("postd.example.toml"));
}

fn postd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .args(args)
        .env("POSTD_CONFIG", "")
        .output()
        .unwrap()
}

/// The command line behaves like one: a version, help per command, and mistakes named with a
/// usage exit status, before any setting is read.
#[test]
fn the_command_line_names_its_version_and_mistakes() {
    let version = postd(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("postd-host {}", env!("CARGO_PKG_VERSION"))
    );
    let unknown = postd(&["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("unrecognized subcommand 'frobnicate'")
    );
    let missing = postd(&["vault", "rotate", "--from", "local:a.key"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--to"));
    let help = postd(&["tenant", "create", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--name"));
}

/// `config check` prints the effective settings and the plugin file's verdict, and fails on a
/// broken entry.
#[test]
fn config_check_validates_the_settings_and_the_plugin_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[plugins.example]\nallowed_hosts = [\"https://api.example.com\"]\n",
    )
    .unwrap();
    let checked = postd(&["config", "check", "--plugins", good.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{out}");
    assert!(
        out.contains("workers = 32")
            && out.contains("1 plugins")
            && out.contains("example (component example"),
        "{out}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[plugins.example]\nallowed_hosts = [\"ftp://x\"]\n").unwrap();
    let refused = postd(&["config", "check", "--plugins", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("problem:"));
}

/// `plugin list/upload/rollback` drive a running host through its admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_commands_drive_a_running_host() {
    let dir = tempfile::tempdir().unwrap();
    let admin = "cli-admin-key-0123456789";
    let plugins = format!(
        "[plugins.example]\npath = {:?}\n",
        postd_test_artifacts::EXAMPLE
    );
    let host = HostProcess::start(
        dir.path(),
        dir.path(),
        &plugins,
        &[("POSTD_ADMIN_KEY", admin)],
        Stdio::null(),
    )
    .await;
    let cli = |args: &[&str], key: &str| {
        let mut all = vec!["plugin", "--url", host.api.url.as_str()];
        all.extend_from_slice(args);
        let output = Command::new(env!("CARGO_BIN_EXE_postd-host"))
            .args(&all)
            .env("POSTD_CONFIG", "")
            .env("POSTD_ADMIN_KEY", key)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    crate::support::eventually(Duration::from_secs(60), "the plugin to serve", || async {
        cli(&["list"], admin).1.contains("version 0.1.0")
    })
    .await;
    let (code, out, _) = cli(
        &["upload", "example", postd_test_artifacts::EXAMPLE_NEXT],
        admin,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("version 0.2.0") && out.contains("previous 0.1.0"),
        "{out}"
    );
    let (code, out, _) = cli(&["rollback", "example"], admin);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("version 0.1.0"), "{out}");
    let (code, _, err) = cli(&["upload", "example", "/nonexistent.wasm"], admin);
    assert_eq!(code, Some(1));
    assert!(err.contains("/nonexistent.wasm"), "{err}");
    let (code, _, err) = cli(&["list"], "wrong-admin-key-0123456789");
    assert_eq!(code, Some(1));
    assert!(err.contains("401"), "{err}");
    host.signal("-TERM");
    assert!(host.exited_cleanly().await);
}

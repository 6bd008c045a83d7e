use super::*;

#[test]
fn defaults_need_no_file_and_no_environment() {
    let s = ServiceSettings::from_parts(None, |_| None).unwrap();
    assert_eq!(s.database_url, "sqlite://data/postd.db");
    assert_eq!(
        (s.listen.as_str(), s.public_url.as_str()),
        ("127.0.0.1:8080", "http://127.0.0.1:8080")
    );
    assert_eq!((s.workers, s.lease_secs, s.redis_url), (32, 120, None));
    assert_eq!(s.max_rate_limit_wait_secs, 86_400);
    assert_eq!(s.auth_failures_per_minute, 20);
    let off = ServiceSettings::from_parts(None, |n| {
        (n == "POSTD_AUTH_FAILURES_PER_MINUTE").then(|| "0".into())
    })
    .unwrap();
    assert_eq!(off.auth_failures_per_minute, 0);
}

#[test]
fn the_rate_limit_ceiling_is_positive_and_at_most_a_year() {
    let from_env = |v: &'static str| {
        ServiceSettings::from_parts(None, move |n| {
            (n == "POSTD_MAX_RATE_LIMIT_WAIT_SECS").then(|| v.to_string())
        })
    };
    assert_eq!(from_env("3600").unwrap().max_rate_limit_wait_secs, 3_600);
    assert_eq!(
        from_env("31536000").unwrap().max_rate_limit_wait_secs,
        MAX_RATE_LIMIT_WAIT_SECS_LIMIT
    );
    for bad in [
        "0",
        "31536001",
        "18446744073709551615",
        "99999999999999999999",
    ] {
        let error = from_env(bad).unwrap_err();
        assert!(error.contains("POSTD_MAX_RATE_LIMIT_WAIT_SECS"), "{error}");
    }
    let file = ServiceSettings::from_parts(Some("max_rate_limit_wait_secs = 60"), |_| None);
    assert_eq!(file.unwrap().max_rate_limit_wait_secs, 60);
}

#[test]
fn the_environment_overrides_the_file() {
    let file = "listen = \"0.0.0.0:9000\"\nworkers = 8\nredis_url = \"redis://a\"\n";
    let s = ServiceSettings::from_parts(Some(file), |name| {
        (name == "POSTD_WORKERS").then(|| "4".to_string())
    })
    .unwrap();
    assert_eq!(
        (s.listen.as_str(), s.workers, s.redis_url.as_deref()),
        ("0.0.0.0:9000", 4, Some("redis://a"))
    );
}

#[test]
fn event_settings_come_from_the_file_or_the_environment() {
    let file = "event_allowed_ranges = [\"127.0.0.0/8\"]\nevent_retry_first_ms = 50\n";
    let s = ServiceSettings::from_parts(Some(file), |name| {
        (name == "POSTD_EVENT_DELIVERY").then(|| "false".to_string())
    })
    .unwrap();
    assert!(!s.events.deliver);
    assert_eq!(
        s.events.allowed_ranges,
        vec![Cidr::parse("127.0.0.0/8").unwrap()]
    );
    assert_eq!(s.events.retry_first, Duration::from_millis(50));
    assert_eq!(s.events.retry_window, Duration::from_secs(86_400));
    let bad = ServiceSettings::from_parts(None, |name| {
        (name == "POSTD_EVENT_ALLOWED_RANGES").then(|| "10.0.0.0/8, nonsense".to_string())
    })
    .unwrap_err();
    assert!(
        bad.contains("POSTD_EVENT_ALLOWED_RANGES") && bad.contains("nonsense"),
        "{bad}"
    );
}

#[test]
fn trace_export_is_off_until_an_endpoint_is_set() {
    let off = ServiceSettings::from_parts(None, |_| None).unwrap();
    assert_eq!(
        (off.otlp_endpoint, off.otlp_service_name.as_str()),
        (None, "postd-host")
    );
    let on = ServiceSettings::from_parts(Some("otlp_endpoint = \"http://collector:4318/\""), |n| {
        (n == "POSTD_OTLP_SERVICE_NAME").then(|| "postd-eu".into())
    })
    .unwrap();
    assert_eq!(on.otlp_endpoint.as_deref(), Some("http://collector:4318"));
    assert_eq!(on.otlp_service_name, "postd-eu");
    for bad in ["collector:4318", "ftp://collector", "http://"] {
        let error = ServiceSettings::from_parts(None, |n| {
            (n == "POSTD_OTLP_ENDPOINT").then(|| bad.to_string())
        })
        .unwrap_err();
        assert!(error.contains("POSTD_OTLP_ENDPOINT"), "{bad}: {error}");
    }
}

#[test]
fn mistakes_are_named() {
    let unknown = ServiceSettings::from_parts(Some("lisen = \"x\""), |_| None).unwrap_err();
    assert!(unknown.contains("lisen"), "{unknown}");
    let bad = ServiceSettings::from_parts(None, |n| (n == "POSTD_WORKERS").then(|| "many".into()))
        .unwrap_err();
    assert!(bad.contains("POSTD_WORKERS"), "{bad}");
    let short =
        ServiceSettings::from_parts(None, |n| (n == "POSTD_ADMIN_KEY").then(|| "short".into()))
            .unwrap_err();
    assert!(short.contains("16"), "{short}");
}

#[test]
fn console_admins_are_names_with_key_digests_and_mistakes_are_named() {
    let digest = "ab".repeat(32);
    let admins =
        super::parse_console_admins(&format!("ana=sha256:{digest}, bo.k=sha256:{digest}")).unwrap();
    assert_eq!(
        admins.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["ana", "bo.k"]
    );
    assert_eq!(admins[0].key_sha256, [0xab; 32]);
    for (bad, says) in [
        (
            "ana=plain-key-not-a-digest".to_string(),
            "sha256:<64 hex digits>",
        ),
        (
            format!("ana=sha256:{}", "ab".repeat(31)),
            "sha256:<64 hex digits>",
        ),
        (format!("an a=sha256:{digest}"), "admin names"),
        (
            format!("ana=sha256:{digest},ana=sha256:{digest}"),
            "named twice",
        ),
        ("just-a-name".to_string(), "name=sha256"),
    ] {
        let error = super::parse_console_admins(&bad).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

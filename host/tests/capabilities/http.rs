//! Egress: grants, the private-address guard (literals, names, redirects), body caps.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use postd_host::capability::http::{
    Budget, EgressMetrics, EgressPolicy, HttpLimits, HttpState, LocalRateLimiter, RateGate, client,
};
use postd_host::runtime::wit::http::{Host, HttpError, Method, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `answer` (a whole HTTP response) to every connection; returns the port.
async fn serve(answer: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    port
}

/// A call's `http` state granted `hosts`, reaching `ranges`, with ten seconds to run.
pub(crate) fn state(hosts: &[String], ranges: &[&str], limits: HttpLimits) -> HttpState {
    let ranges: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
    let policy = Arc::new(EgressPolicy::new(hosts, &ranges).unwrap());
    let client = client(&policy);
    HttpState::new(
        Arc::from("test"),
        policy,
        client,
        limits,
        Instant::now() + Duration::from_secs(10),
    )
}

fn get(url: String) -> Request {
    Request {
        method: Method::Get,
        url,
        headers: vec![],
        body: vec![],
        timeout_ms: None,
    }
}

async fn send(state: &mut HttpState, url: String) -> Result<Response, HttpError> {
    Host::send(state, get(url))
        .await
        .expect("the call's host memory is not limited here")
}

fn assert_denied(result: Result<Response, HttpError>, needle: &str) {
    match result {
        Err(HttpError::Denied(why)) => assert!(why.contains(needle), "{why}"),
        other => panic!("expected a denial mentioning `{needle}`, got {other:?}"),
    }
}

#[tokio::test]
async fn a_granted_host_in_an_allowed_range_is_reached() {
    let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-test: yes\r\n\r\nok").await;
    let mut http = state(
        &[format!("http://127.0.0.1:{port}")],
        &["127.0.0.1/32"],
        HttpLimits::default(),
    );
    let answer = send(&mut http, format!("http://127.0.0.1:{port}/me"))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"ok");
    assert!(answer.headers.contains(&("x-test".into(), "yes".into())));
}

#[tokio::test]
async fn an_ungranted_host_is_denied_before_any_lookup() {
    let mut http = state(
        &["https://graph.facebook.com".into()],
        &[],
        HttpLimits::default(),
    );
    assert_denied(
        send(&mut http, "https://evil.example/steal".into()).await,
        "not among the plugin's allowed hosts",
    );
}

#[tokio::test]
async fn literal_private_addresses_are_denied_without_an_allowed_range() {
    let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let mut http = state(
        &[format!("http://127.0.0.1:{port}")],
        &[],
        HttpLimits::default(),
    );
    assert_denied(
        send(&mut http, format!("http://127.0.0.1:{port}/")).await,
        "127.0.0.0/8 (Loopback",
    );
    assert_denied(
        send(&mut http, format!("http://2130706433:{port}/")).await,
        "127.0.0.0/8 (Loopback",
    );
    assert_denied(
        send(&mut http, format!("http://0x7f.0.0.1:{port}/")).await,
        "127.0.0.0/8 (Loopback",
    );
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_denied() {
    let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let mut http = state(
        &[format!("http://localhost:{port}")],
        &[],
        HttpLimits::default(),
    );
    assert_denied(
        send(&mut http, format!("http://localhost:{port}/")).await,
        "(Loopback",
    );
}

#[tokio::test]
async fn ipv6_forms_of_private_ipv4_addresses_are_denied() {
    for (host, needle) in [
        // 6to4 and NAT64 carrying loopback; Teredo; IPv4-translated; site-local.
        ("[2002:7f00:1::1]", "carries 127.0.0.1"),
        ("[64:ff9b::a9fe:a9fe]", "carries 169.254.169.254"),
        (
            "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
            "2001::/32 (TEREDO",
        ),
        ("[::ffff:0:7f00:1]", "::ffff:0:0:0/96 (IPv4-translated"),
        ("[fec0::1]", "fec0::/10 (Site-Local"),
        ("192.0.2.10", "192.0.2.0/24 (Documentation (TEST-NET-1)"),
        ("198.18.0.1", "198.18.0.0/15 (Benchmarking"),
    ] {
        let origin = format!("http://{host}:8080");
        let mut http = state(std::slice::from_ref(&origin), &[], HttpLimits::default());
        assert_denied(send(&mut http, format!("{origin}/")).await, needle);
    }
}

/// Marks the child process `environment_proxies_are_ignored` starts.
const PROXY_CHILD: &str = "POSTD_TEST_ENVIRONMENT_PROXY_CHILD";

/// With every proxy variable pointing at a listener, requests to a granted name resolving to
/// loopback are still refused by the guard, and nothing connects to the listener. The requests
/// run in a child process (this test binary, running only the test below) so the variables are
/// set before anything reads them and without touching this process's environment.
#[test]
fn environment_proxies_are_ignored() {
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    proxy.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (connections, done) = (connections.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                match proxy.accept() {
                    // Counted and closed: a request sent through the proxy fails.
                    Ok(_) => {
                        connections.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
    };

    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "http::environment_proxies_are_ignored_child",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(PROXY_CHILD, "1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("REQUEST_METHOD");
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env(name, &proxy_url);
    }
    let output = child.output().unwrap();
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed or did not run:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "egress went through the environment's proxy"
    );
}

/// The child half of `environment_proxies_are_ignored`; does nothing in an ordinary run.
#[tokio::test]
async fn environment_proxies_are_ignored_child() {
    if std::env::var_os(PROXY_CHILD).is_none() {
        return;
    }
    let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    for scheme in ["http", "https"] {
        let origin = format!("{scheme}://localhost:{port}");
        let mut http = state(std::slice::from_ref(&origin), &[], HttpLimits::default());
        assert_denied(send(&mut http, format!("{origin}/")).await, "(Loopback");
    }
}

#[tokio::test]
async fn redirects_are_returned_not_followed_and_a_metadata_hop_is_denied() {
    let port = serve("HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\n\r\n").await;
    let hosts = [
        format!("http://127.0.0.1:{port}"),
        "http://169.254.169.254".into(),
    ];
    let mut http = state(&hosts, &["127.0.0.1/32"], HttpLimits::default());
    let answer = send(&mut http, format!("http://127.0.0.1:{port}/start"))
        .await
        .unwrap();
    assert_eq!(
        answer.status, 302,
        "the redirect comes back to the connector"
    );
    let location = answer
        .headers
        .iter()
        .find(|(k, _)| k == "location")
        .unwrap()
        .1
        .clone();
    // Even granted by name, the metadata address stays behind the guard.
    assert_denied(
        send(&mut http, location).await,
        "169.254.0.0/16 (Link Local",
    );
}

#[tokio::test]
async fn oversized_answers_and_bodies_are_refused() {
    let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 64\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123").await;
    let limits = HttpLimits {
        max_response_body: 16,
        max_request_body: 8,
        ..HttpLimits::default()
    };
    let metrics = Arc::new(EgressMetrics::default());
    let mut http = state(
        &[format!("http://127.0.0.1:{port}")],
        &["127.0.0.1/32"],
        limits,
    )
    .with_metrics(metrics.clone());
    assert!(matches!(
        send(&mut http, format!("http://127.0.0.1:{port}/")).await,
        Err(HttpError::TooLarge(16))
    ));
    let mut big = get(format!("http://127.0.0.1:{port}/"));
    big.body = vec![0; 9];
    assert!(matches!(
        Host::send(&mut http, big).await.unwrap(),
        Err(HttpError::TooLarge(8))
    ));
    // The oversized answer was sent and failed; the oversized request never left.
    let stats = &metrics.snapshot()["test"];
    assert_eq!((stats.requests, stats.failures, stats.refused), (1, 1, 1));
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_requested_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut http = state(
        &[format!("http://127.0.0.1:{port}")],
        &["127.0.0.1/32"],
        HttpLimits::default(),
    );
    let mut request = get(format!("http://127.0.0.1:{port}/"));
    request.timeout_ms = Some(200);
    assert!(matches!(
        Host::send(&mut http, request).await.unwrap(),
        Err(HttpError::Timeout)
    ));
}

#[tokio::test]
async fn an_exhausted_budget_answers_rate_limited_and_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
            });
        }
    });
    let limiter = Arc::new(LocalRateLimiter::default());
    let gate = RateGate {
        limiter: limiter.clone(),
        buckets: vec![("plugin:test:t:c".into(), Budget::per_seconds(2, 60))],
        prepaid: false,
    };
    let url = format!("http://127.0.0.1:{port}/");
    let mut http = state(
        &[format!("http://127.0.0.1:{port}")],
        &["127.0.0.1/32"],
        HttpLimits::default(),
    )
    .with_rate_gate(gate.clone());
    assert_eq!(send(&mut http, url.clone()).await.unwrap().status, 200);
    assert_eq!(send(&mut http, url.clone()).await.unwrap().status, 200);
    match send(&mut http, url.clone()).await {
        Err(HttpError::RateLimited(wait_ms)) => {
            assert!((29_000..=30_000).contains(&wait_ms), "{wait_ms}")
        }
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert_eq!(
        received.load(Ordering::SeqCst),
        2,
        "the refused request never left"
    );

    // The bucket is shared by every call of that connection, not per call.
    let mut next_call = state(
        &[format!("http://127.0.0.1:{port}")],
        &["127.0.0.1/32"],
        HttpLimits::default(),
    )
    .with_rate_gate(gate);
    assert!(matches!(
        send(&mut next_call, url).await,
        Err(HttpError::RateLimited(_))
    ));
    assert_eq!(received.load(Ordering::SeqCst), 2);
}

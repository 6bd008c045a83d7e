//! A scripted platform: an HTTP server on loopback that answers what a test told it to, in
//! order, and records every request it received.
//!
//! ```text
//! let platform = Platform::start().await;
//! platform.expect("POST", "/posts").reply(Reply::json(201, json!({"id": "p1"})));
//! platform.expect("POST", "/posts").reply(Reply::drop_connection()); // acts, answer lost
//! ```
//!
//! A request is answered by the first expectation (in the order they were made) whose method
//! and path match and which has a reply left. A request nothing expects gets a 501 naming it
//! and is reported by [`Platform::verify`], as are replies never used.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the platform does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answers with a status, headers and a body.
    Answer {
        /// The HTTP status.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Closes the connection without answering, after reading the whole request: the request
    /// arrived (and may have acted) but its answer is lost.
    DropConnection,
    /// Waits, then does the inner reply (a slow platform; longer than the call's deadline, a
    /// timeout).
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// An answer with a status and no body.
    pub fn status(status: u16) -> Reply {
        Reply::Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The connection closed with no answer.
    pub fn drop_connection() -> Reply {
        Reply::DropConnection
    }

    /// This reply, after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply::Delayed(delay, Box::new(self))
    }

    /// This reply with one more header (ignored by [`Reply::DropConnection`]).
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Answer {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Answer {
                    status,
                    headers,
                    body,
                }
            }
            Reply::Delayed(delay, inner) => {
                Reply::Delayed(delay, Box::new(inner.with_header(name, value)))
            }
            other => other,
        }
    }
}

/// A request the platform received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (still percent-encoded), if any.
    pub query: Option<String>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {} sent a body that is not JSON ({e}): {}",
                self.method,
                self.path,
                self.text()
            )
        })
    }
}

struct Expectation {
    method: String,
    path: String,
    replies: VecDeque<Reply>,
    always: Option<Reply>,
}

impl Expectation {
    fn matches(&self, method: &str, path: &str) -> bool {
        let path_matches = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        self.method.eq_ignore_ascii_case(method) && path_matches
    }

    fn next_reply(&mut self) -> Option<Reply> {
        self.replies.pop_front().or_else(|| self.always.clone())
    }
}

#[derive(Default)]
struct Script {
    expectations: Vec<Expectation>,
    received: Vec<Request>,
    unexpected: Vec<String>,
}

/// The scripted platform. Stops when dropped.
pub struct Platform {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    server: JoinHandle<()>,
}

/// Adds replies to one expectation; made by [`Platform::expect`].
pub struct Expect<'a> {
    platform: &'a Platform,
    index: usize,
}

impl Expect<'_> {
    /// Answers the next matching request with `reply` (once). Replies are used in the order
    /// they were added.
    pub fn reply(self, reply: Reply) -> Self {
        self.platform.script().expectations[self.index]
            .replies
            .push_back(reply);
        self
    }

    /// Answers every matching request after the queued replies with `reply`.
    pub fn always(self, reply: Reply) -> Self {
        self.platform.script().expectations[self.index].always = Some(reply);
        self
    }
}

impl Platform {
    /// Starts the platform on a free loopback port.
    pub async fn start() -> Platform {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the scripted platform");
        let addr = listener.local_addr().expect("its address");
        let script = Arc::new(Mutex::new(Script::default()));
        let serving = script.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let script = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(script.clone(), request));
                    // A dropped connection ends here with an error: that is the point of it.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Platform {
            addr,
            script,
            server,
        }
    }

    /// The platform's origin, `http://127.0.0.1:<port>`: the connector's base URL, and the
    /// origin the harness grants.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Expects requests of `method` to `path` (exact, or a prefix when it ends in `*`).
    pub fn expect(&self, method: &str, path: &str) -> Expect<'_> {
        let mut script = self.script();
        script.expectations.push(Expectation {
            method: method.into(),
            path: path.into(),
            replies: VecDeque::new(),
            always: None,
        });
        let index = script.expectations.len() - 1;
        drop(script);
        Expect {
            platform: self,
            index,
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.script().received.clone()
    }

    /// The requests received so far of `method` to `path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .collect()
    }

    /// Panics, listing them, when a request came that nothing expected or a queued reply was
    /// never used.
    pub fn verify(&self) {
        let script = self.script();
        let mut problems: Vec<String> = script
            .unexpected
            .iter()
            .map(|r| format!("unexpected request: {r}"))
            .collect();
        for e in &script.expectations {
            if !e.replies.is_empty() {
                problems.push(format!(
                    "{} {}: {} expected request(s) never came",
                    e.method,
                    e.path,
                    e.replies.len()
                ));
            }
        }
        assert!(
            problems.is_empty(),
            "the scripted platform saw:\n  {}",
            problems.join("\n  ")
        );
    }

    fn script(&self) -> MutexGuard<'_, Script> {
        lock(&self.script)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock(script: &Mutex<Script>) -> MutexGuard<'_, Script> {
    // A test that panicked while holding the lock already failed; the script is still readable.
    script
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The connection is dropped when this error is returned.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the script")
    }
}

impl std::error::Error for Dropped {}

async fn answer(
    script: Arc<Mutex<Script>>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let received = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let reply = {
        let mut script = lock(&script);
        let reply = script
            .expectations
            .iter_mut()
            .filter(|e| e.matches(&received.method, &received.path))
            .find_map(Expectation::next_reply);
        if reply.is_none() {
            let line = format!("{} {}", received.method, received.path);
            script.unexpected.push(line);
        }
        script.received.push(received.clone());
        reply
    };
    let mut reply = reply.unwrap_or_else(|| {
        Reply::text(
            501,
            &format!(
                "postd-testkit: nothing expects {} {}",
                received.method, received.path
            ),
        )
    });
    loop {
        match reply {
            Reply::Delayed(delay, inner) => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            Reply::DropConnection => return Err(Dropped),
            Reply::Answer {
                status,
                headers,
                body,
            } => {
                let mut response = hyper::Response::builder().status(status);
                for (name, value) in headers {
                    response = response.header(name, value);
                }
                return Ok(response
                    .body(Full::new(Bytes::from(body)))
                    .unwrap_or_else(|_| infallible_500()));
            }
        }
    }
}

fn infallible_500() -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(
        b"postd-testkit: the scripted reply was not a valid HTTP answer",
    )));
    *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

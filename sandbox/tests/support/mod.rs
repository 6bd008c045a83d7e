//! Helpers shared by the sandbox tests: start a sandbox, speak HTTP to it, receive webhooks.
#![allow(dead_code)]

pub mod meta;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use postd_sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A sandbox with default (documented) settings.
pub async fn start() -> RunningSandbox {
    start_with(SandboxConfig::default()).await
}

/// A sandbox with the given settings.
pub async fn start_with(config: SandboxConfig) -> RunningSandbox {
    Sandbox::start(config)
        .await
        .expect("sandbox starts on loopback")
}

/// An HTTP client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Status, headers and body (JSON when it parses, else a JSON string) of an answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Answer {
        status,
        headers,
        body,
        text,
    }
}

pub async fn get(url: &str) -> Answer {
    answer(client().get(url).send().await.expect("GET")).await
}

pub async fn get_bearer(url: &str, token: &str) -> Answer {
    answer(
        client()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("GET"),
    )
    .await
}

pub async fn post_form(url: &str, pairs: &[(&str, &str)]) -> Answer {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    answer(
        client()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

pub async fn post_json(url: &str, token: Option<&str>, body: &Value) -> Answer {
    let mut r = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    answer(r.send().await.expect("POST")).await
}

pub async fn delete(url: &str, token: Option<&str>) -> Answer {
    let mut r = client().delete(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    answer(r.send().await.expect("DELETE")).await
}

/// Query parameters of a URL.
pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .expect("absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param(location: &str, key: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// One request a [`Receiver`] got.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver on loopback. It answers Meta's `hub.challenge` when `hub.verify_token` is
/// `verify-me`, LinkedIn's `challengeCode` with the right HMAC, and 200 to anything else.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let app = Router::new().fallback(receive).with_state(Arc::clone(&got));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            got,
            _task: task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

async fn receive(State(got): State<Arc<Mutex<Vec<Received>>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let pairs: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let q = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    got.lock().expect("lock").push(Received {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body,
    });
    if let Some(challenge) = q("hub.challenge") {
        if q("hub.verify_token").as_deref() == Some("verify-me") {
            return challenge.into_response();
        }
        return (axum::http::StatusCode::FORBIDDEN, "bad verify token").into_response();
    }
    if let Some(code) = q("challengeCode") {
        let response = postd_sandbox::webhooks::linkedin_challenge_response(
            &code,
            postd_sandbox::seed::LINKEDIN_CLIENT_SECRET,
        );
        let body =
            serde_json::json!({"challengeCode": code, "challengeResponse": response}).to_string();
        return (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    "ok".into_response()
}

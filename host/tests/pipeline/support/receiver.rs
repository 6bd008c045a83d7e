//! A tenant's app receiving outbound events on loopback: it records every delivery and answers
//! with scripted statuses (then 200), or, while stalled, never answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered (`None`: not yet, or never: it arrived while stalled).
    pub answered: Option<u16>,
}

impl Delivery {
    /// The `webhook-id` header.
    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_string()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The event type.
    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap().to_string()
    }

    /// True when `secret` verifies the delivery, checked by the Standard Webhooks project's own
    /// library (an implementation independent of the host's).
    pub fn verifies_with(&self, secret: &str) -> bool {
        let webhook = standardwebhooks::Webhook::new(secret).expect("a whsec_ secret");
        webhook.verify(&self.body, &self.headers).is_ok()
    }

    /// True when the README's own verification example (its Python block under "Verifying a
    /// delivery") accepts the delivery with `secret`.
    pub fn verifies_with_readme_example(&self, secret: &str) -> bool {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let section = &readme[readme
            .find("**Verifying a delivery**")
            .expect("the section")..];
        let start = section.find("```python\n").expect("a python block") + "```python\n".len();
        let example = &section[start..start + section[start..].find("```").unwrap()];
        let headers: serde_json::Map<String, Value> =
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
                .iter()
                .map(|name| {
                    (
                        name.to_string(),
                        Value::from(self.headers[*name].to_str().unwrap()),
                    )
                })
                .collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("body"), &self.body).unwrap();
        std::fs::write(
            dir.path().join("headers.json"),
            Value::Object(headers).to_string(),
        )
        .unwrap();
        let script = format!(
            "{example}\nimport json, sys\n\
             headers = json.load(open(sys.argv[1] + '/headers.json'))\n\
             body = open(sys.argv[1] + '/body', 'rb').read()\n\
             sys.exit(0 if verify(sys.argv[2], headers, body) else 1)\n"
        );
        let status = std::process::Command::new("python3")
            .args(["-c", &script])
            .arg(dir.path())
            .arg(secret)
            .status()
            .expect("python3 runs");
        status.success()
    }
}

#[derive(Default)]
struct Script {
    statuses: VecDeque<u16>,
    stalled: bool,
    got: Vec<Delivery>,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    /// Starts one on a free loopback port, answering `statuses` first and 200 after them.
    pub async fn start(statuses: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/events", listener.local_addr().unwrap()),
            script: Arc::new(Mutex::new(Script {
                statuses: statuses.iter().copied().collect(),
                ..Script::default()
            })),
        };
        let app = Router::new()
            .route("/events", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    /// Leaves every request that arrives from now on unanswered, for good (as a receiver
    /// whose sender died mid-request sees it).
    pub fn stall(&self) {
        self.script.lock().unwrap().stalled = true;
    }

    /// Answers requests that arrive from now on.
    pub fn resume(&self) {
        self.script.lock().unwrap().stalled = false;
    }

    /// Every request so far, in arrival order.
    pub fn got(&self) -> Vec<Delivery> {
        self.script.lock().unwrap().got.clone()
    }

    /// The ids of the deliveries answered 2xx, in order.
    pub fn accepted_ids(&self) -> Vec<String> {
        self.got()
            .iter()
            .filter(|d| d.answered.is_some_and(|s| (200..300).contains(&s)))
            .map(Delivery::id)
            .collect()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let stalled = {
        let mut script = receiver.script.lock().unwrap();
        let stalled = script.stalled;
        let answered = (!stalled).then(|| script.statuses.pop_front().unwrap_or(200));
        script.got.push(Delivery {
            headers,
            body,
            answered,
        });
        answered.ok_or(())
    };
    match stalled {
        Ok(status) => StatusCode::from_u16(status).unwrap(),
        Err(()) => std::future::pending().await,
    }
}

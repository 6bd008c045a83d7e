//! The control API over HTTP: faults, clock, request log, revocation, reset, webhooks; and the
//! sandbox's own robustness (malformed requests never crash it) and the binary.

#[path = "control/clock_and_log.rs"]
mod clock_and_log;
#[path = "control/faults.rs"]
mod faults;
#[path = "control/server.rs"]
mod server;
mod support;
#[path = "control/tokens_and_webhooks.rs"]
mod tokens_and_webhooks;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use postd_sandbox::seed::*;
use postd_sandbox::{Platform, RunningSandbox, SandboxConfig};
use serde_json::{Value, json};
use support::*;

fn control(sb: &RunningSandbox, path: &str) -> String {
    format!("{}/_control/{path}", sb.base_url())
}

async fn ping(sb: &RunningSandbox) -> Answer {
    answer(
        client()
            .get(format!("{}/us6/3.0/ping", sb.url(Platform::Mailchimp)))
            .basic_auth("x", Some(MAILCHIMP_API_KEY_US6))
            .send()
            .await
            .expect("ping"),
    )
    .await
}

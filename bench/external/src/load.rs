//! The closed loop: `in_flight` clients, each sending its next post as soon as the previous one
//! is accepted, until `total` posts are accepted. Every post has its own idempotency key; a
//! refused or failed request is sent again with the same key (after 50 ms) and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How to send post `n` of a run.
pub trait Poster: Send + Sync + 'static {
    /// The request for post `n` under idempotency key `key`.
    fn request(&self, client: &reqwest::Client, n: usize, key: &str) -> reqwest::RequestBuilder;
    /// The job ids an accepted post's answer names.
    fn job_ids(&self, answer: &Value) -> Vec<String>;
}

/// One accepted post.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Epoch ms of its first request.
    pub sent_ms: i64,
    /// First request -> 2xx answer, in µs (retries included).
    pub accept_us: u64,
    /// Its jobs.
    pub jobs: Vec<String>,
}

/// What the loop did.
#[derive(Debug, Default)]
pub struct LoopResult {
    /// Accepted posts, by index.
    pub accepted: Vec<Accepted>,
    /// Requests answered with an error status or failed, then retried.
    pub retried: usize,
    /// Statuses of those, with counts.
    pub errors: std::collections::BTreeMap<String, usize>,
    /// Epoch ms when the loop began.
    pub started_ms: i64,
    /// Wall time of the loop (all accepted).
    pub elapsed: Duration,
}

/// Runs the loop; `tag` makes the idempotency keys unique to the run.
pub async fn run(
    client: &reqwest::Client,
    poster: Arc<dyn Poster>,
    tag: &str,
    in_flight: usize,
    total: usize,
) -> anyhow::Result<LoopResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let started_ms = crate::now_ms();
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..in_flight.min(total) {
        let (client, poster, next, tag) = (
            client.clone(),
            poster.clone(),
            next.clone(),
            tag.to_string(),
        );
        clients.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut retried = 0;
            let mut errors = std::collections::BTreeMap::<String, usize>::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let key = format!("{tag}-{n}");
                let sent_ms = crate::now_ms();
                let sent = Instant::now();
                let mut tries = 0;
                let answer = loop {
                    tries += 1;
                    let result = poster.request(&client, n, &key).send().await;
                    let failure = match result {
                        Ok(r) if r.status().is_success() => match r.bytes().await {
                            Ok(body) => break serde_json::from_slice::<Value>(&body)?,
                            Err(e) => format!("body: {e}"),
                        },
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let body = r.text().await.unwrap_or_default();
                            let code = serde_json::from_str::<Value>(&body)
                                .ok()
                                .and_then(|v| v["code"].as_str().map(str::to_string))
                                .unwrap_or_default();
                            format!("{status} {code}")
                        }
                        Err(e) if e.is_timeout() => "timeout".to_string(),
                        Err(e) if e.is_connect() => "connect".to_string(),
                        Err(_) => "request failed".to_string(),
                    };
                    retried += 1;
                    *errors.entry(failure.clone()).or_default() += 1;
                    if tries >= 200 {
                        anyhow::bail!("post {n} refused {tries} times, last: {failure}");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                mine.push((
                    n,
                    Accepted {
                        sent_ms,
                        accept_us: sent.elapsed().as_micros() as u64,
                        jobs: poster.job_ids(&answer),
                    },
                ));
            }
            anyhow::Ok((mine, retried, errors))
        }));
    }
    let mut accepted: Vec<Option<Accepted>> = vec![None; total];
    let mut result = LoopResult {
        started_ms,
        ..LoopResult::default()
    };
    for client in clients {
        let (mine, retried, errors) = client.await??;
        for (n, a) in mine {
            accepted[n] = Some(a);
        }
        result.retried += retried;
        for (k, v) in errors {
            *result.errors.entry(k).or_default() += v;
        }
    }
    result.elapsed = started.elapsed();
    result.accepted = accepted
        .into_iter()
        .map(|a| a.expect("every post accepted"))
        .collect();
    Ok(result)
}

/// The nearest-rank percentile `p` (0..=1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// p50 and p99 of `values` (sorted in place).
pub fn p50_p99(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (percentile(values, 0.5), percentile(values, 0.99))
}

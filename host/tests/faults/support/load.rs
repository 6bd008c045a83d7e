//! Posts through a replica's API, and what became of them: accepted (with the job the platform
//! will name), or refused with a status and code the case checks. A refused post is offered
//! again later under the same idempotency key, as a client would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use postd_host::store::Store;
use serde_json::{Value, json};

use super::Platform;
use super::host::Host;

/// What one `POST /v1/posts` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 202 (or 200: accepted before) with the post's one job.
    Accepted {
        /// The job's id.
        job: String,
    },
    /// Any other answer: status and error code (status 0: no answer at all).
    Refused {
        /// HTTP status.
        status: u16,
        /// The `code` of the error body.
        code: String,
    },
}

/// The posts of a case, by idempotency key.
#[derive(Default)]
pub struct Load {
    /// Idempotency key -> the accepted post's job.
    pub accepted: BTreeMap<String, String>,
    /// Every refusal seen: (status, code).
    pub refusals: Vec<(u16, String)>,
}

impl Load {
    /// Posts `keys` through `hosts` (round robin) concurrently; records what each answered.
    pub async fn offer(
        &mut self,
        hosts: &[&Host],
        api_key: &str,
        connection: &str,
        keys: &[String],
    ) {
        let sends = keys.iter().enumerate().map(|(n, key)| {
            let host = hosts[n % hosts.len()];
            async move { (key.clone(), post(host, api_key, connection, key).await) }
        });
        for (key, outcome) in futures::future::join_all(sends).await {
            match outcome {
                Outcome::Accepted { job } => {
                    self.accepted.insert(key, job);
                }
                Outcome::Refused { status, code } => self.refusals.push((status, code)),
            }
        }
    }

    /// Offers the keys of `keys` not accepted yet until every one is (a minute at most, half a
    /// second between rounds); returns how many rounds it took.
    pub async fn offer_until_accepted(
        &mut self,
        hosts: &[&Host],
        api_key: &str,
        connection: &str,
        keys: &[String],
    ) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut rounds = 0;
        loop {
            let pending = self.pending(keys);
            if pending.is_empty() {
                return rounds;
            }
            assert!(
                Instant::now() < deadline,
                "posts still refused after a minute: {:?}; the replicas logged: {}",
                self.refusals.last(),
                hosts
                    .iter()
                    .map(|h| h.log_tail())
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            rounds += 1;
            self.offer(hosts, api_key, connection, &pending).await;
            if !self.pending(keys).is_empty() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    /// After a fault ends: offers the `refused` keys again until each is accepted, then a
    /// batch of `fresh` posts, waits (up to `within`) until every accepted post is published,
    /// and checks each went live exactly once. Times are from the call.
    #[allow(clippy::too_many_arguments, reason = "one case's whole setting, named")]
    pub async fn recover(
        &mut self,
        host: &Host,
        api_key: &str,
        connection: &str,
        refused: &[String],
        fresh: usize,
        (store, platform): (&Store, &Platform),
        within: Duration,
    ) -> Recovery {
        let start = Instant::now();
        let offers = self
            .offer_until_accepted(&[host], api_key, connection, refused)
            .await;
        let accepted_after = start.elapsed();
        self.offer(&[host], api_key, connection, &keys("after", 0, fresh))
            .await;
        all_published(store, self, &[host], within).await;
        let published_after = start.elapsed();
        assert_exactly_once(platform, self);
        Recovery {
            offers,
            accepted_after,
            published_after,
        }
    }

    /// The keys of `keys` not accepted yet.
    pub fn pending(&self, keys: &[String]) -> Vec<String> {
        keys.iter()
            .filter(|k| !self.accepted.contains_key(*k))
            .cloned()
            .collect()
    }
}

/// How a case recovered from its fault ([`Load::recover`]).
pub struct Recovery {
    /// Rounds of offers until the refused posts were accepted.
    pub offers: usize,
    /// Until the refused posts were accepted.
    pub accepted_after: Duration,
    /// Until every accepted post was published.
    pub published_after: Duration,
}

/// Idempotency keys `prefix-from` .. `prefix-(to - 1)`.
pub fn keys(prefix: &str, from: usize, to: usize) -> Vec<String> {
    (from..to).map(|n| format!("{prefix}-{n}")).collect()
}

/// `POST /v1/posts` of a one-target post under idempotency key `key`.
pub async fn post(host: &Host, api_key: &str, connection: &str, key: &str) -> Outcome {
    let body = json!({
        "text": format!("post {key}"),
        "targets": [{ "connection_id": connection, "account_id": "acct-1" }],
    });
    let sent = host
        .api
        .client
        .post(format!("{}/v1/posts", host.api.url))
        .bearer_auth(api_key)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    let Ok(answer) = sent else {
        return Outcome::Refused {
            status: 0,
            code: "no answer".into(),
        };
    };
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match (status, json["jobs"][0]["id"].as_str()) {
        (200 | 202, Some(job)) => Outcome::Accepted {
            job: job.to_string(),
        },
        _ => Outcome::Refused {
            status,
            code: json["code"].as_str().unwrap_or("").to_string(),
        },
    }
}

/// How many jobs of the database are in each state.
pub async fn job_states(store: &Store) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        .fetch_all(store.pool())
        .await
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// How many jobs ran more than once (a fault cut their first run short).
pub async fn reruns(store: &Store) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM jobs WHERE attempts > 1")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Jobs still `running` whose lease ended more than `slack` ago: a replica that works claims
/// them again well within that.
pub async fn stale_leases(store: &Store, slack: Duration) -> i64 {
    let before = postd_host::time::UnixMs::now().get() - slack.as_millis() as i64;
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND lease_until < $1",
    )
    .bind(before)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

/// Waits until every accepted job is `published` in the database; returns how long it took.
/// A timeout fails with the jobs' states and what `hosts` logged.
pub async fn all_published(
    store: &Store,
    load: &Load,
    hosts: &[&Host],
    within: Duration,
) -> Duration {
    let expected = load.accepted.len() as i64;
    let start = Instant::now();
    loop {
        let states = job_states(store).await;
        if states.get("published").copied() == Some(expected) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{expected} accepted posts not all published after {within:?}: {states:?}; the \
             replicas logged: {}",
            hosts
                .iter()
                .map(|h| h.log_tail())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The invariant of every case, counted on the platform's side: each accepted post's job went
/// live exactly once, and nothing else went live.
pub fn assert_exactly_once(platform: &Platform, load: &Load) {
    for (key, job) in &load.accepted {
        assert_eq!(
            platform.posts_for(job),
            1,
            "post {key} (job {job}) went live exactly once"
        );
    }
    let live = platform.with(|s| s.published.len());
    assert_eq!(
        live,
        load.accepted.len(),
        "the platform holds one live post per accepted post, no more"
    );
}

//! Recording a run's outcome: one transaction per run ([`Store::finish`]) or several runs'
//! outcomes in one transaction ([`Store::finish_many`], group commit), each applied only while
//! its lease holds. On PostgreSQL either is one statement (`postgres/finish.rs`); on SQLite a
//! few multi-row statements of one transaction (`sqlite/finish.rs`). What each outcome does to
//! the job, its continuations and events is decided here, for both.

use super::pipeline::{Claimed, Finish, FinishOutcome};
use super::{Job, Millis, Store, StoreError};
use crate::events::Event;

impl Store {
    /// Records a run and moves its job on, in one transaction, if the lease still holds.
    /// Returns false (and changes nothing) when the lease was lost: another worker took the job
    /// over after this one overran its lease.
    pub async fn finish(
        &self,
        claimed: &Claimed,
        finish: &Finish,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let applied = self.finish_many(&[(claimed, finish, now)]).await?;
        Ok(applied.first().copied().unwrap_or(false))
    }

    /// Records several runs in one transaction (one commit for all: the expensive part of a
    /// write), each exactly as [`Store::finish`] would: applied only while its lease holds.
    /// Returns, per run in order, whether it was applied. On an error nothing is applied (the
    /// transaction is rolled back), and the caller may record the runs one by one.
    pub async fn finish_many(
        &self,
        runs: &[(&Claimed, &Finish, Millis)],
    ) -> Result<Vec<bool>, StoreError> {
        if let Some(pool) = self.native() {
            return super::postgres::finish_runs(pool, runs).await;
        }
        let mut tx = self.begin().await?;
        let applied = super::sqlite::finish_runs(&mut tx, runs).await?;
        if !applied.contains(&true) {
            // Nothing written: the transaction is rolled back when dropped.
            return Ok(applied);
        }
        tx.commit()
            .await
            .map_err(StoreError::db("committing job outcomes"))?;
        Ok(applied)
    }
}

/// What a run's outcome does to its job's row.
pub(super) struct JobChange<'a> {
    pub state: &'a str,
    pub next_run_at: Option<Millis>,
    pub attempts_delta: i64,
    pub reason: Option<&'a str>,
    pub result: Option<&'a str>,
}

/// The [`JobChange`] of `finish` for `claimed`.
pub(super) fn job_change<'a>(claimed: &Claimed, finish: &'a Finish, now: Millis) -> JobChange<'a> {
    let job = &claimed.job;
    let (state, next_run_at, attempts_delta, reason, result): (
        &str,
        Option<Millis>,
        i64,
        Option<&str>,
        Option<&str>,
    ) = match &finish.outcome {
        FinishOutcome::Published { result } => ("published", None, 0, None, Some(result)),
        FinishOutcome::Continue { tasks, .. } => (
            "queued",
            tasks.iter().map(|t| t.2).min().or(Some(now)),
            -(job.attempts as i64),
            None,
            None,
        ),
        FinishOutcome::Retry { at, spend_attempt } => (
            "queued",
            Some(*at),
            if *spend_attempt { 0 } else { -1 },
            None,
            None,
        ),
        FinishOutcome::Pause { reason } => ("paused", None, -1, Some(reason), None),
        FinishOutcome::Dead { reason_code } => ("dead", None, 0, Some(reason_code), None),
        FinishOutcome::Held { at } => ("queued", Some(*at), -1, None, None),
    };
    JobChange {
        state,
        next_run_at,
        attempts_delta,
        reason,
        result,
    }
}

/// What a finish does to the job's continuations (on both databases).
pub(super) enum TaskChange<'a> {
    /// The job ended: every continuation goes.
    ClearAll,
    /// The due continuation ran: it goes.
    Consume(&'a str),
    /// Nothing ran to its end (a retry, a pause, a hold): they stay.
    Keep,
}

/// [`TaskChange`] of `finish` for `claimed`.
pub(super) fn task_change<'a>(claimed: &'a Claimed, finish: &Finish) -> TaskChange<'a> {
    match (&finish.outcome, &claimed.task) {
        (FinishOutcome::Published { .. } | FinishOutcome::Dead { .. }, _) => TaskChange::ClearAll,
        (
            FinishOutcome::Retry { .. } | FinishOutcome::Pause { .. } | FinishOutcome::Held { .. },
            _,
        )
        | (_, None) => TaskChange::Keep,
        (_, Some(task)) => TaskChange::Consume(&task.id),
    }
}

/// The event a finish tells the tenant's endpoints, if any: published or failed for good.
pub(super) fn outcome_event(job: &Job, finish: &Finish) -> Option<Event> {
    match &finish.outcome {
        FinishOutcome::Published { result } => Some(Event::published(job, result)),
        FinishOutcome::Dead { reason_code } => Some(Event::failed(
            job,
            reason_code,
            finish.error.as_deref().unwrap_or(""),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobState, NewPost, PostContent, Target};

    async fn store_with_jobs(dir: &std::path::Path, n: usize) -> Store {
        let store = crate::store::test_store(dir).await;
        let tenant = store.tenant("t");
        for i in 0..n {
            let post = NewPost {
                idempotency_key: format!("k{i}"),
                content: PostContent {
                    text: format!("post {i}"),
                    ..PostContent::default()
                },
                targets: vec![Target {
                    connection_id: "c".into(),
                    account_id: "a".into(),
                }],
                scheduled_for: None,
            };
            tenant.accept(&post, &|_| true, 1).await.unwrap();
        }
        store
    }

    fn published(worker: &str) -> Finish {
        Finish {
            export: "publish",
            worker: worker.into(),
            started_at: 2,
            latency_ms: 1,
            fuel: 0,
            error_code: None,
            error: None,
            outcome: FinishOutcome::Published {
                result: "{}".into(),
            },
            trace_id: None,
        }
    }

    /// A batch of every kind of outcome, larger than one statement takes in unit tests (see
    /// `sqlite/finish.rs`), writes what each run would have written alone.
    #[tokio::test]
    async fn a_large_mixed_batch_writes_what_each_run_would_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_jobs(dir.path(), 30).await;
        let endpoint = crate::store::NewEventEndpoint {
            url: "https://example.com/hook".into(),
            event_types: Vec::new(),
            description: String::new(),
            enabled: true,
        };
        let tenant = store.tenant("t");
        tenant
            .create_event_endpoint("ep", &endpoint, "t", 1)
            .await
            .unwrap();
        let claimed = store.claim_due("w", 2, 60_000, 64).await.unwrap();
        assert_eq!(claimed.len(), 30);
        let outcome = |i: usize| match i % 6 {
            0 => FinishOutcome::Published {
                result: "{}".into(),
            },
            1 => FinishOutcome::Continue {
                tasks: vec![
                    ("poll".into(), "{}".into(), 50),
                    ("poll".into(), "{}".into(), 60),
                ],
                waiting_for: "processing".into(),
            },
            2 => FinishOutcome::Dead {
                reason_code: "rejected".into(),
            },
            3 => FinishOutcome::Held { at: 40 },
            4 => FinishOutcome::Retry {
                at: 30,
                spend_attempt: true,
            },
            _ => FinishOutcome::Pause {
                reason: "connection-needs-attention".into(),
            },
        };
        let finishes: Vec<Finish> = (0..30)
            .map(|i| Finish {
                outcome: outcome(i),
                error: (i % 6 == 2).then(|| "no".to_string()),
                ..published("w")
            })
            .collect();
        let runs: Vec<_> = claimed
            .iter()
            .zip(&finishes)
            .map(|(c, f)| (c, f, 3))
            .collect();
        assert_eq!(store.finish_many(&runs).await.unwrap(), vec![true; 30]);
        for (i, run) in claimed.iter().enumerate() {
            let job = tenant.job(&run.job.id).await.unwrap();
            let expected = match i % 6 {
                0 => JobState::Published,
                2 => JobState::Dead,
                5 => JobState::Paused,
                _ => JobState::Queued,
            };
            assert_eq!(job.state, expected, "run {i}");
            let attempts = tenant.attempts(&run.job.id).await.unwrap();
            assert_eq!(
                attempts.len(),
                usize::from(i % 6 != 3),
                "run {i}: held is no attempt"
            );
        }
        let count = async |sql: &str| -> i64 {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&store.pool)
                .await
                .unwrap()
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM job_tasks").await,
            10,
            "two per continuing run"
        );
        assert_eq!(count("SELECT COUNT(*) FROM dead_letters").await, 5);
        assert_eq!(
            count("SELECT COUNT(*) FROM event_deliveries").await,
            10,
            "one per published or dead job, to the one endpoint"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM job_attempts WHERE error = 'no'").await,
            5,
            "a dead run's attempt carries its error"
        );
    }

    #[tokio::test]
    async fn many_outcomes_share_a_transaction_and_each_still_needs_its_lease() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_jobs(dir.path(), 3).await;
        let claimed = store.claim_due("w", 2, 60_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 3);
        // The third run's lease was lost: another worker holds the job now.
        let mut stale = claimed[2].clone();
        stale.lease = "someone-else".into();
        let finish = published("w");
        let applied = store
            .finish_many(&[
                (&claimed[0], &finish, 3),
                (&claimed[1], &finish, 3),
                (&stale, &finish, 3),
            ])
            .await
            .unwrap();
        assert_eq!(applied, vec![true, true, false]);
        let tenant = store.tenant("t");
        for (job, state) in [
            (&claimed[0], JobState::Published),
            (&claimed[1], JobState::Published),
            (&claimed[2], JobState::Running),
        ] {
            let stored = tenant.job(&job.job.id).await.unwrap();
            assert_eq!(stored.state, state);
            let attempts = tenant.attempts(&job.job.id).await.unwrap();
            assert_eq!(attempts.len(), usize::from(state == JobState::Published));
        }
        // Recording an applied outcome again changes nothing: the lease was released.
        assert_eq!(
            store
                .finish_many(&[(&claimed[0], &finish, 4)])
                .await
                .unwrap(),
            vec![false]
        );
        assert_eq!(tenant.attempts(&claimed[0].job.id).await.unwrap().len(), 1);
    }
}

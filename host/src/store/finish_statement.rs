//! A run's outcome on PostgreSQL in one statement: the job's update under its lease, the
//! attempt record, continuations consumed and added, the dead letter and the outbound event
//! are data-modifying parts of one `WITH` query, each applied only when the update matched
//! (`EXISTS (SELECT 1 FROM moved)`). Alone it is its own transaction: one round trip, one
//! commit. SQLite has no data-modifying `WITH`; there `finish.rs` runs the same writes as
//! separate statements of one transaction (cheap in process).

use super::finish::{TaskChange, outcome_event, task_change};
use super::outbox::endpoints_taking;
use super::pipeline::{Claimed, Finish, FinishOutcome};
use super::{Millis, StoreError, new_id};

/// What [`finish_in`](super::finish) computed for the job's row.
pub(super) struct JobChange<'a> {
    pub state: &'a str,
    pub next_run_at: Option<Millis>,
    pub attempts_delta: i64,
    pub reason: Option<&'a str>,
    pub result: Option<&'a str>,
}

/// SQL with its arguments, bound in order (`$1`, `$2`, …).
struct Statement {
    sql: String,
    args: Vec<Arg>,
}

enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
}

impl Statement {
    fn text(&mut self, value: Option<&str>) -> String {
        self.args.push(Arg::Text(value.map(str::to_string)));
        format!("${}", self.args.len())
    }

    fn int(&mut self, value: Option<i64>) -> String {
        self.args.push(Arg::Int(value));
        format!("${}::BIGINT", self.args.len())
    }
}

/// Records `finish` for `claimed` in one statement on `conn`; false when the lease no longer
/// held (nothing written).
pub(super) async fn finish_in_one_statement(
    conn: &mut sqlx::AnyConnection,
    claimed: &Claimed,
    finish: &Finish,
    change: &JobChange<'_>,
    now: Millis,
) -> Result<bool, StoreError> {
    let job = &claimed.job;
    let mut s = Statement {
        sql: String::new(),
        args: Vec::new(),
    };
    let tenant = s.text(Some(&job.tenant_id));
    let id = s.text(Some(&job.id));
    let at = s.int(Some(now));
    let error = s.text(finish.error.as_deref());
    let mut parts = vec![format!(
        "moved AS (UPDATE jobs SET state = {state}, next_run_at = COALESCE({next}, next_run_at),
             attempts = attempts + {delta}, state_reason = {reason}, result = COALESCE({result}, result),
             last_error = COALESCE({error}, last_error), lease_owner = NULL, lease_until = NULL,
             updated_at = {at}
         WHERE tenant_id = {tenant} AND id = {id} AND state = 'running' AND lease_owner = {lease}
         RETURNING id)",
        state = s.text(Some(change.state)),
        next = s.int(change.next_run_at),
        delta = s.int(Some(change.attempts_delta)),
        reason = s.text(change.reason),
        result = s.text(change.result),
        lease = s.text(Some(&claimed.lease)),
    )];
    if !matches!(finish.outcome, FinishOutcome::Held { .. }) {
        parts.push(format!(
            "attempt AS (INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker,
                 started_at, latency_ms, fuel, outcome, error_code, error, trace_id)
             SELECT {tenant}, {aid}, id, {n}, {export}, {worker}, {started}, {latency}, {fuel},
                 {outcome}, {code}, {error}, {trace} FROM moved)",
            aid = s.text(Some(&new_id("att"))),
            n = s.int(Some(i64::from(job.attempts))),
            export = s.text(Some(finish.export)),
            worker = s.text(Some(&finish.worker)),
            started = s.int(Some(finish.started_at)),
            latency = s.int(Some(finish.latency_ms)),
            fuel = s.int(Some(finish.fuel.min(i64::MAX as u64) as i64)),
            outcome = s.text(Some(finish.outcome.word())),
            code = s.text(finish.error_code.as_deref()),
            trace = s.text(finish.trace_id.as_deref()),
        ));
    }
    match task_change(claimed, finish) {
        TaskChange::ClearAll => parts.push(format!(
            "cleared AS (DELETE FROM job_tasks WHERE tenant_id = {tenant} AND job_id = {id}
                 AND EXISTS (SELECT 1 FROM moved))"
        )),
        TaskChange::Consume(task) => parts.push(format!(
            "consumed AS (DELETE FROM job_tasks WHERE tenant_id = {tenant} AND id = {task}
                 AND EXISTS (SELECT 1 FROM moved))",
            task = s.text(Some(task)),
        )),
        TaskChange::Keep => {}
    }
    if let FinishOutcome::Continue { tasks, .. } = &finish.outcome
        && !tasks.is_empty()
    {
        let mut rows = Vec::with_capacity(tasks.len());
        for (kind, payload, run_at) in tasks {
            rows.push(format!(
                "({}, {}, {}, {})",
                s.text(Some(&new_id("task"))),
                s.text(Some(kind)),
                s.text(Some(payload)),
                s.int(Some(*run_at)),
            ));
        }
        parts.push(format!(
            "added AS (INSERT INTO job_tasks (tenant_id, id, job_id, kind, payload, run_at)
             SELECT {tenant}, v.id, {id}, v.kind, v.payload, v.run_at
             FROM (VALUES {}) AS v (id, kind, payload, run_at) WHERE EXISTS (SELECT 1 FROM moved))",
            rows.join(", ")
        ));
    }
    if let FinishOutcome::Dead { reason_code } = &finish.outcome {
        parts.push(format!(
            "lettered AS (INSERT INTO dead_letters (tenant_id, id, job_id, reason_code, last_error,
                 attempts, created_at)
             SELECT {tenant}, {dlq}, id, {code}, {last}, {n}, {at} FROM moved)",
            dlq = s.text(Some(&new_id("dlq"))),
            code = s.text(Some(reason_code)),
            last = s.text(Some(finish.error.as_deref().unwrap_or(""))),
            n = s.int(Some(i64::from(job.attempts))),
        ));
    }
    if let Some(event) = outcome_event(job, finish) {
        let event_id = new_id("evt");
        let body = event.body(&event_id, &job.tenant_id, now);
        let kind = s.text(Some(event.kind.as_str()));
        parts.push(format!(
            "told AS (INSERT INTO event_deliveries (tenant_id, endpoint_id, event_id, event_type,
                 ordering_key, payload, state, attempts, next_attempt_at, window_start, created_at)
             SELECT tenant_id, id, {eid}, {kind}, {ordering}, {body}, 'pending', 0, {at}, {at}, {at}
             FROM event_endpoints WHERE tenant_id = {tenant} AND {matches}
                 AND EXISTS (SELECT 1 FROM moved))",
            eid = s.text(Some(&event_id)),
            ordering = s.text(Some(&event.ordering_key)),
            body = s.text(Some(&body)),
            matches = endpoints_taking(&kind),
        ));
    }
    s.sql = format!("WITH {} SELECT COUNT(*) FROM moved", parts.join(",\n"));
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(s.sql.as_str()));
    for arg in &s.args {
        query = match arg {
            Arg::Text(v) => query.bind(v.clone()),
            Arg::Int(v) => query.bind(*v),
        };
    }
    let moved = query
        .fetch_one(conn)
        .await
        .map_err(StoreError::db("recording a job's outcome"))?;
    Ok(moved == 1)
}

//! Runs one claimed job: the checks before the call, the call, and what its result means.

use std::time::Instant;

use tracing::Instrument;

use super::policy::{RATE_LIMIT_TOO_LONG, Verdict, classify_call, classify_connector, too_long};
use super::refresh::{RefreshOutcome, RefreshTrigger};
use super::{Pipeline, natively_schedules};
use crate::capability::CallContext;
use crate::runtime::wit::connector::{
    JobContext, Media, MediaKind, Post, PublishOutcome, TaskContext,
};
use crate::runtime::wit::queue::Task;
use crate::runtime::{Answer, Invocation};
use crate::store::{
    Claimed, Finish, FinishOutcome, Job, Millis, PAUSED_FOR_CONNECTION, PAUSED_FOR_PLUGIN,
    PAUSED_FOR_TENANT,
};
use crate::time::{Span, UnixMs};

impl Pipeline {
    /// Runs `claimed` and records its outcome. Returns the job's next due time when it stays
    /// queued (for the dispatcher), `None` when it finished, paused or lost its lease.
    pub async fn run_claimed(&self, claimed: &Claimed) -> Option<Millis> {
        let span = crate::telemetry::job_span(
            &claimed.job,
            export_of(claimed),
            claimed.job.traceparent.as_deref(),
        );
        self.run_traced(claimed, span.clone())
            .instrument(span)
            .await
    }

    /// [`Self::run_claimed`] inside `span`, the attempt's span.
    async fn run_traced(&self, claimed: &Claimed, span: tracing::Span) -> Option<Millis> {
        let started_at = self.now();
        let clock = Instant::now();
        let (export, fuel, outcome, error) = self.execute(claimed, started_at).await;
        let trace_id = crate::telemetry::trace_id(&span);
        crate::telemetry::record_outcome(
            &span,
            outcome.word(),
            error.as_ref().map(|(code, _)| code.as_str()),
        );
        if trace_id.is_some() {
            // A line carrying the trace id, to go from the logs to the trace.
            tracing::info!(job = %claimed.job.id, outcome = outcome.word(), "job attempt finished");
        }
        let finish = Finish {
            export,
            worker: self.settings.worker_id.clone(),
            started_at,
            latency_ms: Span::from(clock.elapsed()).as_millis_i64(),
            fuel,
            error_code: error.as_ref().map(|(code, _)| code.clone()),
            error: error.map(|(_, message)| message),
            outcome,
            trace_id,
        };
        let now = self.now();
        match self.finisher.finish(claimed, &finish, now).await {
            Ok(true) => self.activity.record(
                &claimed.job.plugin,
                finish.outcome.word(),
                finish.error_code.as_deref(),
                now,
            ),
            Ok(false) => {
                tracing::warn!(job = %claimed.job.id, "lease lost before the outcome was recorded; the job's new holder decides");
                return None;
            }
            Err(error) => {
                // The lease runs out and the job runs again with its recovery point.
                tracing::error!(job = %claimed.job.id, %error, "recording a job's outcome failed");
                return None;
            }
        }
        match &finish.outcome {
            FinishOutcome::Continue { tasks, .. } => tasks.iter().map(|t| t.2).min(),
            FinishOutcome::Retry { at, .. } | FinishOutcome::Held { at } => Some(*at),
            _ => None,
        }
    }

    /// The call and its verdict: `(export, fuel, outcome, error (code, message))`.
    async fn execute(
        &self,
        claimed: &Claimed,
        now: Millis,
    ) -> (&'static str, u64, FinishOutcome, Option<(String, String)>) {
        let job = &claimed.job;
        let export = export_of(claimed);
        let config = self.runtime.plugin_config(&job.plugin);
        let max_attempts = config.as_ref().map_or(4, |c| c.entry.jobs.max_attempts);
        if job.attempts > max_attempts {
            // Earlier holders died mid-run (their leases ran out) until the budget was spent.
            let error = "attempts exhausted: the worker running the job was lost".to_string();
            return (
                export,
                0,
                dead("attempts-exhausted"),
                Some(("worker-lost".into(), error)),
            );
        }
        // Read with the claim: no further round trip to decide whether the job may run.
        let enabled = match &claimed.gate {
            gate if gate.tenant_disabled => {
                return (export, 0, pause(PAUSED_FOR_TENANT), None);
            }
            gate if gate.plugin_enabled == Some(false) => {
                return (export, 0, pause(PAUSED_FOR_PLUGIN), None);
            }
            gate => gate.plugin_enabled,
        };
        let Some((status, expires_at)) = claimed.connection else {
            let error = format!("connection `{}` not found", job.connection_id);
            return (
                export,
                0,
                self.retry(job, max_attempts, true),
                Some(("store".into(), error)),
            );
        };
        if !status.usable() {
            return (export, 0, pause(PAUSED_FOR_CONNECTION), None);
        }
        if expires_at.is_some_and(|at| at <= now) {
            match self
                .refresh(&job.tenant_id, &job.connection_id, RefreshTrigger::Expired)
                .await
            {
                RefreshOutcome::Refreshed | RefreshOutcome::AlreadyFresh => {}
                RefreshOutcome::Failed {
                    paused: true,
                    error,
                } => {
                    return (
                        export,
                        0,
                        pause(PAUSED_FOR_CONNECTION),
                        Some(("refresh-failed".into(), error)),
                    );
                }
                RefreshOutcome::Failed {
                    paused: false,
                    error,
                } => {
                    return (
                        export,
                        0,
                        self.retry(job, max_attempts, true),
                        Some(("refresh-failed".into(), error)),
                    );
                }
            }
        }
        let context = CallContext::tenant(&job.tenant_id)
            .with_connection(&job.connection_id)
            .with_job(&job.id)
            .with_enabled(enabled);
        // A plugin running all the calls it may: the job goes back to the queue rather than
        // hold a job slot waiting for a permit, so other plugins' jobs behind it run meanwhile.
        if let Some(held) = self.runtime.saturated(&job.plugin) {
            let at = self
                .holds
                .hold(&job.tenant_id, &job.connection_id, held, self.now());
            return (export, 0, FinishOutcome::Held { at }, None);
        }
        // The first request is taken from the job's rate buckets before the component is
        // instantiated: with no room, the job waits for it instead of running to be refused.
        let context = match self.runtime.reserve_egress(&job.plugin, &context).await {
            Ok(()) => context.with_prepaid(),
            Err(held) => {
                let at = self
                    .holds
                    .hold(&job.tenant_id, &job.connection_id, held, self.now());
                return (export, 0, FinishOutcome::Held { at }, None);
            }
        };
        let job_context = JobContext {
            job_id: job.id.clone(),
            attempt: job.attempts,
            recovery_point: job.recovery_point.clone(),
        };
        let invocation = match &claimed.task {
            Some(task) => Invocation::HandleTask(TaskContext {
                task: Task {
                    kind: task.kind.clone(),
                    payload: task.payload.clone(),
                },
                job: job_context,
            }),
            None => {
                let native = self
                    .runtime
                    .manifest(&job.plugin)
                    .is_some_and(|m| natively_schedules(&m, job.scheduled_for, now));
                Invocation::Publish(wit_post(job, native), job_context)
            }
        };
        let served = match self.runtime.invoke(&job.plugin, context, invocation).await {
            Ok(served) => served,
            Err(error) => {
                let verdict = classify_call(&error);
                return self.apply(job, max_attempts, export, 0, verdict).await;
            }
        };
        let fuel = served.fuel_used;
        let reply = match served.answer {
            Answer::Publish(reply) | Answer::HandleTask(reply) => reply,
            _ => unreachable!("publish and handle-task answer with a publish outcome"),
        };
        match reply {
            Ok(PublishOutcome::Published(p)) => {
                let result = serde_json::json!({
                    "post_id": p.post_id,
                    "url": p.url,
                    "scheduled_for": p.scheduled_for,
                    "version": &*served.version,
                })
                .to_string();
                (export, fuel, FinishOutcome::Published { result }, None)
            }
            Ok(PublishOutcome::InProgress(progress)) if !served.continuations.is_empty() => {
                let waiting_for = progress.waiting_for;
                let end = UnixMs::new(self.now());
                let tasks = served
                    .continuations
                    .into_iter()
                    .map(|c| {
                        let at = end.saturating_add(Span::from(c.delay));
                        (c.kind, c.payload, at.get())
                    })
                    .collect();
                (
                    export,
                    fuel,
                    FinishOutcome::Continue { tasks, waiting_for },
                    None,
                )
            }
            Ok(PublishOutcome::InProgress(progress)) => {
                let error = format!(
                    "the connector answered in-progress ({}) without a continuation",
                    progress.waiting_for
                );
                (
                    export,
                    fuel,
                    dead("no-continuation"),
                    Some(("no-continuation".into(), error)),
                )
            }
            Err(error) => {
                let verdict = classify_connector(&error);
                self.apply(job, max_attempts, export, fuel, verdict).await
            }
        }
    }

    /// Turns a verdict into an outcome, doing what it asks of the connection.
    async fn apply(
        &self,
        job: &Job,
        max_attempts: u32,
        export: &'static str,
        fuel: u64,
        verdict: Verdict,
    ) -> (&'static str, u64, FinishOutcome, Option<(String, String)>) {
        let ceiling = Span::from(self.settings.max_rate_limit_wait);
        match verdict.within_ceiling(ceiling) {
            Verdict::Retry { code, error } => (
                export,
                fuel,
                self.retry(job, max_attempts, true),
                Some((code, error)),
            ),
            Verdict::RateLimited { wait, error } => {
                match UnixMs::new(self.now()).checked_add(wait) {
                    Some(at) => (
                        export,
                        fuel,
                        FinishOutcome::Retry {
                            at: at.get(),
                            spend_attempt: false,
                        },
                        Some(("rate-limited".into(), error)),
                    ),
                    // Within a ceiling set beyond the end of time: still no deadline there.
                    None => (
                        export,
                        fuel,
                        dead(RATE_LIMIT_TOO_LONG),
                        Some((RATE_LIMIT_TOO_LONG.into(), too_long(wait, ceiling, &error))),
                    ),
                }
            }
            Verdict::RefreshThenRetry { error } => {
                let outcome = match self
                    .refresh(
                        &job.tenant_id,
                        &job.connection_id,
                        RefreshTrigger::AuthExpired,
                    )
                    .await
                {
                    RefreshOutcome::Failed { paused: true, .. } => pause(PAUSED_FOR_CONNECTION),
                    RefreshOutcome::Failed { paused: false, .. } => {
                        self.retry(job, max_attempts, true)
                    }
                    // The new token is in the vault: try again at once.
                    _ => self.retry(job, max_attempts, false),
                };
                (export, fuel, outcome, Some(("auth-expired".into(), error)))
            }
            Verdict::Pause {
                reason,
                connection,
                error,
            } => {
                if let Some((status, why)) = connection {
                    let tenant = self.store.tenant(&job.tenant_id);
                    if let Err(e) = tenant
                        .set_connection_status(
                            &job.connection_id,
                            status,
                            Some(&why),
                            "pipeline",
                            self.now(),
                        )
                        .await
                    {
                        tracing::error!(job = %job.id, error = %e, "marking a connection failed");
                    }
                }
                (export, fuel, pause(&reason), Some(("paused".into(), error)))
            }
            Verdict::Dead { code, error } => (export, fuel, dead(&code), Some((code, error))),
        }
    }

    /// A retry with backoff (or at once), or dead-letter when the attempts are spent.
    fn retry(&self, job: &Job, max_attempts: u32, backoff: bool) -> FinishOutcome {
        if job.attempts >= max_attempts {
            return dead("attempts-exhausted");
        }
        let delay = if backoff {
            self.settings
                .backoff
                .delay_with_jitter_ms(job.attempts, fastrand::f64())
        } else {
            0
        };
        FinishOutcome::Retry {
            at: UnixMs::new(self.now())
                .saturating_add(Span::from_millis_i64(delay))
                .get(),
            spend_attempt: true,
        }
    }
}

/// The export a claimed job runs: a continuation's `handle-task`, or `publish`.
fn export_of(claimed: &Claimed) -> &'static str {
    if claimed.task.is_some() {
        "handle-task"
    } else {
        "publish"
    }
}

fn pause(reason: &str) -> FinishOutcome {
    FinishOutcome::Pause {
        reason: reason.to_string(),
    }
}

fn dead(code: &str) -> FinishOutcome {
    FinishOutcome::Dead {
        reason_code: code.to_string(),
    }
}

/// The WIT post for a job. `scheduled_for` is passed only when the platform schedules it.
fn wit_post(job: &Job, native_schedule: bool) -> Post {
    Post {
        account_id: job.account_id.clone(),
        text: job.content.text.clone(),
        link: job.content.link.clone(),
        media: job
            .content
            .media
            .iter()
            .map(|m| Media {
                kind: if m.kind == "video" {
                    MediaKind::Video
                } else {
                    MediaKind::Image
                },
                url: m.url.clone(),
                mime_type: m.mime_type.clone(),
                size_bytes: m.size_bytes,
                alt_text: m.alt_text.clone(),
            })
            .collect(),
        scheduled_for: job
            .scheduled_for
            .filter(|_| native_schedule)
            .map(|ms| ms / 1000),
        options: job.content.options.clone().into_iter().collect(),
    }
}

//! The publish pipeline: accept (idempotency) → dispatch (now or at `scheduled_for`) → run the
//! connector under the runtime's limits → published | continue | retry | wait out a rate limit |
//! pause | dead-letter; plus token refresh ahead of expiry and periodic health checks.
//!
//! The database row is the truth; every step that changes a job is one transaction
//! ([`Store::finish`]), which concurrent runs' outcomes may share (group commit,
//! [`Store::finish_many`]). A worker claims a job under a lease; if it dies, the lease runs out
//! and another worker runs the job again with the recovery point the connector recorded, so a
//! connector that checkpoints before each irreversible step never posts twice.

mod activity;
mod clock;
mod content;
mod dispatch;
mod finisher;
mod health;
mod holds;
mod lock;
mod policy;
mod refresh;
mod run;
mod sink;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use activity::{Activity, MINUTES_KEPT, MinuteCounts};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dispatch::{DispatchSettings, Dispatcher, JOBS_CHANNEL};
pub use health::HealthOutcome;
pub use policy::{
    Backoff, DEFAULT_MAX_RATE_LIMIT_WAIT, MIN_RATE_LIMIT_WAIT, RATE_LIMIT_TOO_LONG, Verdict,
    classify_call, classify_connector,
};
pub use refresh::{RefreshOutcome, RefreshTrigger, describe as describe_connector_error};
pub use sink::{CHECKPOINT_BATCH, StoreJobSink};
pub use worker::Workers;

use crate::config::RetentionSettings;
use crate::events::{EventDelivery, EventSettings};
use crate::runtime::Runtime;
use crate::runtime::wit::connector::{Capabilities, PluginManifest};
use crate::store::{Accepted, Millis, NewPost, Store, StoreError};
use crate::time::UnixMs;

/// Run outcomes recorded in one write at most, by default.
pub const DEFAULT_FINISH_BATCH: usize = 64;

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// This process's worker name (appears in leases and attempts).
    pub worker_id: String,
    /// Jobs one process runs at once.
    pub concurrency: usize,
    /// Dispatch tunables.
    pub dispatch: DispatchSettings,
    /// Most run outcomes recorded in one write (group commit; 1 records each in its own
    /// transaction). Concurrent runs' outcomes share a commit (on PostgreSQL one statement); a
    /// lone run is never held back.
    pub finish_batch: usize,
    /// Retry delays.
    pub backoff: Backoff,
    /// A token that cannot be refreshed and expires within this is `expiring_soon`.
    pub expiring_soon_window: Duration,
    /// The longest rate-limit wait scheduled; a job asked to wait longer is dead-lettered with
    /// reason `rate-limit-too-long` (see [`Verdict::within_ceiling`]).
    pub max_rate_limit_wait: Duration,
    /// How outbound events are delivered.
    pub events: EventSettings,
    /// How long finished jobs, webhook events, health checks and audit entries are kept
    /// ([`Store::retain_jobs`] and [`Store::retain_records`], each maintenance pass).
    pub retention: RetentionSettings,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            worker_id: format!("{}-{}", hostname(), std::process::id()),
            concurrency: 32,
            dispatch: DispatchSettings::default(),
            finish_batch: DEFAULT_FINISH_BATCH,
            backoff: Backoff::default(),
            expiring_soon_window: Duration::from_secs(7 * 24 * 3600),
            max_rate_limit_wait: DEFAULT_MAX_RATE_LIMIT_WAIT,
            events: EventSettings::default(),
            retention: RetentionSettings::default(),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Why a post was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The content breaks a target connector's declared constraints.
    #[error("{0}")]
    Invalid(String),
    /// The store refused (conflict, unknown connection) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The pipeline. Share it behind an `Arc`.
pub struct Pipeline {
    store: Store,
    runtime: Arc<Runtime>,
    clock: Arc<dyn Clock>,
    dispatcher: Dispatcher,
    /// One refresh per connection at a time, across replicas.
    locks: lock::RefreshLocks,
    settings: PipelineSettings,
    finisher: finisher::Finisher,
    events: Arc<EventDelivery>,
    holds: holds::Holds,
    activity: activity::Activity,
}

impl Pipeline {
    /// A pipeline over `store` and `runtime`.
    pub fn new(
        store: Store,
        runtime: Arc<Runtime>,
        clock: Arc<dyn Clock>,
        dispatcher: Dispatcher,
        settings: PipelineSettings,
    ) -> Arc<Self> {
        let events = Arc::new(EventDelivery::new(
            store.clone(),
            runtime.secrets().clone(),
            clock.clone(),
            settings.events.clone(),
            settings.worker_id.clone(),
        ));
        Arc::new(Pipeline {
            finisher: finisher::Finisher::new(store.clone(), settings.finish_batch),
            events,
            holds: holds::Holds::default(),
            activity: activity::Activity::default(),
            locks: lock::RefreshLocks::new(store.clone()),
            store,
            runtime,
            clock,
            dispatcher,
            settings,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Outbound event delivery.
    pub fn events(&self) -> &Arc<EventDelivery> {
        &self.events
    }

    /// Now, by the pipeline's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The settings.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    /// What this process's job runs did lately (per minute, by plugin and outcome).
    pub fn activity(&self) -> &activity::Activity {
        &self.activity
    }

    /// Job runs this process put back without running because a rate bucket had no room.
    pub fn jobs_held(&self) -> u64 {
        self.holds.count()
    }

    /// Announces queued jobs of `tenant` (id, connection, due time) to the workers: each for
    /// when it can first be claimed, after any hold on its tenant or connection.
    fn announce<'a>(
        &self,
        tenant: &str,
        jobs: impl IntoIterator<Item = (String, &'a str, Millis)>,
        now: Millis,
    ) {
        let due: Vec<(String, Millis)> = jobs
            .into_iter()
            .map(|(id, connection, at)| (id, self.holds.claimable_at(tenant, connection, at)))
            .collect();
        self.dispatcher.announce(&due, now);
    }

    /// Accepts a post for `tenant`: checks the content against every target's connector
    /// constraints, stores one job per target (idempotently) and announces the new jobs.
    pub async fn accept(&self, tenant: &str, post: &NewPost) -> Result<Accepted, AcceptError> {
        let now = self.now();
        let tenant_store = self.store.tenant(tenant);
        let mut manifests = Vec::new();
        let mut resolved = Vec::with_capacity(post.targets.len());
        for (index, target) in post.targets.iter().enumerate() {
            let connection = tenant_store.resolve_target(&target.connection_id).await?;
            let plugin = connection.plugin.clone();
            resolved.push(connection);
            let manifest = self
                .runtime
                .manifest(&plugin)
                .ok_or_else(|| AcceptError::Invalid(format!("plugin `{plugin}` is not serving")))?;
            content::check(&manifest, &post.content).map_err(|rule| {
                AcceptError::Invalid(format!(
                    "target {index} (connection `{}`, account `{}`, plugin `{plugin}`): {rule}",
                    target.connection_id, target.account_id
                ))
            })?;
            manifests.push((plugin, manifest));
        }
        let scheduled_for = post.scheduled_for;
        let host_schedules = |plugin: &str| {
            manifests
                .iter()
                .find(|(p, _)| p == plugin)
                .is_none_or(|(_, m)| !natively_schedules(m, scheduled_for, now))
        };
        // The request accepting the post, when traces are exported: its jobs' runs link to it.
        let traceparent = crate::telemetry::traceparent(&tracing::Span::current());
        let accepted = tenant_store
            .accept_resolved(
                post,
                &resolved,
                &host_schedules,
                &|connection, at| self.holds.slot_for_new(tenant, connection, at),
                now,
                traceparent.as_deref(),
            )
            .await?;
        if let Accepted::Created(record) = &accepted {
            let due = record
                .jobs
                .iter()
                .filter(|j| j.state == crate::store::JobState::Queued)
                .map(|j| (j.id.clone(), j.connection_id.as_str(), j.next_run_at));
            self.announce(tenant, due, now);
        }
        Ok(accepted)
    }
}

impl Pipeline {
    /// Replays a dead letter of `tenant` with `option_changes` applied to its job's options (a
    /// value sets, `None` removes), and announces its job.
    pub async fn replay(
        &self,
        tenant: &str,
        dead_letter: &str,
        actor: &str,
        option_changes: &BTreeMap<String, Option<String>>,
    ) -> Result<crate::store::Job, StoreError> {
        let now = self.now();
        let job = self
            .store
            .tenant(tenant)
            .replay(dead_letter, actor, option_changes, now)
            .await?;
        self.announce(
            tenant,
            [(job.id.clone(), job.connection_id.as_str(), job.next_run_at)],
            now,
        );
        Ok(job)
    }
}

impl Pipeline {
    /// Runs the next step of `connection`'s jobs waiting on `recovery_point` now, instead of
    /// after their continuation's delay (a webhook said the platform finished). Returns how many
    /// jobs were woken.
    pub async fn wake(
        &self,
        tenant: &str,
        connection: &str,
        plugin: &str,
        recovery_point: &str,
    ) -> Result<usize, StoreError> {
        let now = self.now();
        let woken = self
            .store
            .tenant(tenant)
            .wake_jobs_at(connection, plugin, recovery_point, now)
            .await?;
        let count = woken.len();
        self.announce(
            tenant,
            woken.into_iter().map(|(id, at)| (id, connection, at)),
            now,
        );
        Ok(count)
    }
}

/// True when the platform schedules the post itself: the connector says it can and the time
/// falls inside its window.
fn natively_schedules(manifest: &PluginManifest, at: Option<Millis>, now: Millis) -> bool {
    let (Some(at), Some(window)) = (at, manifest.schedule_window.as_ref()) else {
        return false;
    };
    // `at` is the caller's (any i64): the lead saturates rather than overflowing, and is
    // compared with the window's u64 bounds without casting them negative.
    let lead_secs = i128::from(UnixMs::new(now).signed_until(UnixMs::new(at)) / 1000);
    manifest
        .capabilities
        .contains(Capabilities::NATIVE_SCHEDULING)
        && lead_secs >= i128::from(window.min_lead_secs)
        && lead_secs <= i128::from(window.max_lead_secs)
}

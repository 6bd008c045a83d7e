//! The background loops of one host process: job workers, scheduled token
//! refresh, health checks and outbound event delivery. [`Workers::stop`] stops claiming and lets running jobs finish.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::Pipeline;
use crate::store::Recorded;
use crate::time::Span;

/// How often due refreshes, health checks, expired OAuth states, finished jobs past their
/// retention and stale planner statistics are looked for.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(30);
/// How long [`Workers::stop`] waits for running jobs.
const DRAIN_FOR: Duration = Duration::from_secs(30);

/// The running loops.
pub struct Workers {
    stop: watch::Sender<bool>,
    loops: Vec<JoinHandle<()>>,
    running: Arc<Semaphore>,
    concurrency: usize,
}

impl Pipeline {
    /// Starts the loops of this process.
    pub fn start(self: &Arc<Self>) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let concurrency = self.settings.concurrency.max(1);
        let running = Arc::new(Semaphore::new(concurrency));
        let mut loops = vec![
            tokio::spawn(self.clone().work(running.clone(), stopped.clone())),
            tokio::spawn(self.clone().maintain(stopped.clone())),
        ];
        if self.settings.events.deliver {
            loops.push(tokio::spawn(self.events.clone().run(stopped)));
        }
        Workers {
            stop,
            loops,
            running,
            concurrency,
        }
    }

    async fn work(self: Arc<Self>, running: Arc<Semaphore>, stopped: watch::Receiver<bool>) {
        while !*stopped.borrow() {
            // Claim only as many jobs as there are free slots, and hold those slots while
            // claiming, so none waits under a lease: a job claimed as the process stops runs in
            // its slot within the grace (which waits for every slot), where one left to take a
            // slot after the claim would queue behind the drain and be abandoned unstarted
            // until its lease ran out.
            let Ok(mut slots) = running.clone().acquire_many_owned(1).await else {
                return;
            };
            if let Ok(more) = running
                .clone()
                .try_acquire_many_owned(running.available_permits() as u32)
            {
                slots.merge(more);
            }
            // The stop may have come while this loop waited for a slot.
            if *stopped.borrow() {
                return;
            }
            let clock = self.clock.clone();
            let mut held = self.holds.scopes(self.now());
            held.plugins = self.runtime.short_of_room(slots.num_permits());
            let claimed = match self
                .dispatcher
                .next(
                    &self.store,
                    &self.settings.worker_id,
                    || clock.now(),
                    &self.settings.dispatch,
                    slots.num_permits() as u32,
                    &held,
                )
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    drop(slots);
                    tracing::error!(%error, "fetching jobs failed; retrying");
                    tokio::time::sleep(self.settings.dispatch.poll).await;
                    continue;
                }
            };
            let now = self.now();
            for job in &claimed {
                self.holds
                    .took(&job.job.tenant_id, &job.job.connection_id, now);
            }
            for claimed in claimed {
                // The dispatcher claims no more jobs than it was asked for.
                let permit = match slots.split(1) {
                    Some(permit) => permit,
                    None => match running.clone().acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                let pipeline = self.clone();
                tokio::spawn(async move {
                    if let Some(at) = pipeline.run_claimed(&claimed).await {
                        pipeline
                            .dispatcher
                            .announce(&[(claimed.job.id.clone(), at)], pipeline.now());
                    }
                    drop(permit);
                });
            }
        }
    }

    async fn maintain(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        loop {
            self.refresh_due_connections().await;
            self.check_due_health().await;
            if let Err(error) = self.store.purge_expired_oauth_states(self.now()).await {
                tracing::warn!(%error, "purging expired OAuth states failed");
            }
            self.retain_records().await;
            match self
                .store
                .retain_jobs(self.now(), self.settings.retention.jobs)
                .await
            {
                Ok(pass) if pass.jobs > 0 || !pass.analyzed.is_empty() => {
                    tracing::info!(jobs = pass.jobs, attempts = pass.attempts, posts = pass.posts, analyzed = ?pass.analyzed, "deleted finished jobs past their retention; refreshed statistics")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "job retention or statistics refresh failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(MAINTENANCE_EVERY) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    /// Deletes webhook events, health checks and audit entries past their retention.
    async fn retain_records(&self) {
        let retention = &self.settings.retention;
        for (table, keep) in [
            (Recorded::WebhookEvents, retention.webhook_events),
            (Recorded::HealthChecks, retention.health),
            (Recorded::Audit, retention.audit),
        ] {
            match self.store.retain_recorded(table, self.now(), keep).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!(?table, deleted, "deleted records past their retention")
                }
                Err(error) => tracing::warn!(?table, %error, "record retention failed"),
            }
        }
    }

    /// Claims and runs every job due now, in this task, until none is left (dispatch by the
    /// database, whatever the configured mode). For tools and tests that drive the clock.
    pub async fn run_due(&self) -> usize {
        let mut ran = 0;
        loop {
            let lease = Span::from(self.settings.dispatch.lease).as_millis_i64();
            let claimed = match self
                .store
                .claim_due(&self.settings.worker_id, self.now(), lease, 64)
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "claiming due jobs failed");
                    return ran;
                }
            };
            if claimed.is_empty() {
                return ran;
            }
            for job in &claimed {
                self.run_claimed(job).await;
                ran += 1;
            }
        }
    }
}

impl Workers {
    /// Stops claiming, waits (up to 30 s) for running jobs, and ends the loops. A job still
    /// running after that is picked up by another worker when its lease ends.
    pub async fn stop(self) {
        self.stop_within(DRAIN_FOR).await;
    }

    /// Stops claiming jobs and waits up to `grace` for running ones; jobs still running then
    /// are abandoned under their lease, which another worker takes over when it ends. Jobs are
    /// claimed only for free slots, so no claimed job waits unstarted.
    pub async fn stop_within(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ =
            tokio::time::timeout(grace, self.running.acquire_many(self.concurrency as u32)).await;
        for handle in self.loops {
            handle.abort();
        }
    }
}

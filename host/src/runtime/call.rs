//! One call: admission (tenant, plugin, concurrency), a fresh store under every limit, the
//! export, and what the call leaves behind (vault writes, continuations, fuel, output).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{Store, Trap};

use super::bounds;
use super::engine::{FUEL_YIELD_INTERVAL, deadline_ticks};
use super::error::CallError;
use super::invoke::{Answer, Invocation};
use super::registry::SlotConfig;
use super::state::{CallLimiter, CallState};
use super::wit::ConnectorPre;
use super::wit::connector::PublishOutcome;
use super::{Runtime, Served};
use crate::capability::CallContext;
use crate::capability::Redactor;
use crate::capability::http::{Budget, HttpState};
use crate::capability::log::LogState;
use crate::capability::memory::{CallMemory, MemoryCaps, MemoryExceeded};
use crate::capability::queue::{ContinuationRefused, QueueState};
use crate::capability::vault::{SecretScope, VaultState};

/// How long after the deadline the outer timeout fires. Guest code is stopped by the epoch
/// deadline first (and reported as such); the outer timeout catches time spent blocked in host
/// calls, which epochs cannot interrupt.
const HOST_GRACE: Duration = Duration::from_millis(50);

impl Runtime {
    /// Runs `invocation` on plugin `id` for `context`: the version serving when the call is
    /// admitted serves the whole call, whatever swaps happen meanwhile.
    pub async fn invoke(
        &self,
        id: &str,
        context: CallContext,
        invocation: Invocation,
    ) -> Result<Served<Answer>, CallError> {
        let slot = self
            .registry
            .get(id)
            .ok_or_else(|| CallError::UnknownPlugin(id.to_string()))?;
        let config = slot.config.load_full();
        let enabled = context
            .enabled
            .unwrap_or_else(|| config.entry.serves_tenant(&context.tenant));
        if !enabled {
            return Err(CallError::NotEnabled {
                plugin: id.to_string(),
                tenant: context.tenant,
            });
        }
        let plugin = slot.current().ok_or_else(|| {
            let why = slot
                .status()
                .last_error
                .unwrap_or_else(|| "no version installed".into());
            CallError::NotLoaded(id.to_string(), why)
        })?;
        let wait = config.entry.limits.queue_wait;
        let tenant_slots = self.tenant_semaphore(&context.tenant);
        let _tenant = admit(tenant_slots, wait)
            .await
            .map_err(|()| CallError::Busy {
                plugin: id.to_string(),
                scope: "tenant",
                limit: self.settings.tenant_concurrency,
            })?;
        let _plugin = admit(slot.permits.clone(), wait)
            .await
            .map_err(|()| CallError::Busy {
                plugin: id.to_string(),
                scope: "plugin",
                limit: slot
                    .max_concurrency
                    .load(std::sync::atomic::Ordering::Acquire),
            })?;
        let budget = Self::connection_budget(&config, &plugin);
        self.run(
            &plugin.pre,
            plugin.version.clone(),
            &config,
            context,
            invocation,
            budget,
        )
        .await
    }

    fn tenant_semaphore(&self, tenant: &str) -> Arc<Semaphore> {
        let mut tenants = self.tenants.lock().expect("tenant semaphores");
        tenants
            .entry(tenant.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.tenant_concurrency)))
            .clone()
    }

    /// Runs one export in a fresh instance under the configuration's limits.
    pub(crate) async fn run(
        &self,
        pre: &ConnectorPre,
        version: Arc<str>,
        config: &SlotConfig,
        context: CallContext,
        invocation: Invocation,
        budget: Option<Budget>,
    ) -> Result<Served<Answer>, CallError> {
        // A slot of the instance pool (when the engine pools), taken like the admission caps:
        // before the call's deadline starts. See `pool.rs`.
        let _instance_slot = self.instance_slot(&config.entry).await?;
        let limits = &config.entry.limits;
        let plugin: Arc<str> = Arc::from(config.entry.id.as_str());
        let started = Instant::now();
        let deadline = crate::time::instant_after(started, limits.deadline);
        let export = invocation.export_name();

        let memory = CallMemory::new(
            MemoryCaps::for_memory_limit(limits.memory_bytes),
            self.memory_pool.clone(),
        );
        let redactor = Redactor::charged_to(memory.clone());
        let scope = context.connection.clone().map(|connection| SecretScope {
            tenant: context.tenant.clone(),
            plugin: config.entry.id.clone(),
            connection,
        });
        let state = CallState::new(
            CallLimiter::new(limits.memory_bytes, limits.table_elements),
            HttpState::new(
                plugin.clone(),
                config.policy.clone(),
                config.client.clone(),
                config.entry.http.clone(),
                deadline,
            )
            .with_rate_gate(self.rate_gate(&plugin, &context, budget))
            .with_metrics(self.services.egress_metrics.clone())
            .with_memory(memory.clone()),
            VaultState::new(
                self.services.secrets.clone(),
                scope,
                config.secrets.clone(),
                config.settings.clone(),
                redactor.clone(),
            )
            .with_memory(memory.clone()),
            QueueState::new(
                context.job.clone(),
                self.services.jobs.clone(),
                self.settings.queue.clone(),
            )
            .with_memory(memory.clone()),
            LogState::new(plugin.clone(), version.clone(), context.clone(), redactor),
            self.services.clock.clone(),
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        let host_failure = |e: wasmtime::Error| CallError::Host {
            plugin: plugin.to_string(),
            message: format!("{e:#}"),
        };
        let metered = self.settings.fuel_metering;
        if metered {
            store.set_fuel(limits.fuel).map_err(host_failure)?;
            store
                .fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL))
                .map_err(host_failure)?;
        }
        store.set_epoch_deadline(deadline_ticks(limits.deadline));
        store.epoch_deadline_trap();

        let outcome = tokio::time::timeout_at(
            crate::time::instant_after(deadline, HOST_GRACE).into(),
            async { invocation.call(pre, &mut store).await },
        )
        .await;

        let fuel_used = if metered {
            limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0))
        } else {
            0
        };
        self.fuel.record(&context.tenant, &plugin, fuel_used);
        store.data_mut().flush_output();

        let answer = match outcome {
            Err(_elapsed) => Err(CallError::DeadlineExceeded {
                plugin: plugin.to_string(),
                deadline: limits.deadline,
                during: "waiting on host I/O",
            }),
            Ok(Err(error)) => Err(classify(
                &plugin,
                limits,
                store.data().limiter.memory_refused,
                memory.exceeded(),
                error,
            )),
            Ok(Ok(answer)) => Ok(answer),
        };
        let answer = answer.and_then(|mut answer| {
            bounds::bound(&mut answer).map_err(|oversized| CallError::AnswerTooLarge {
                plugin: plugin.to_string(),
                oversized,
            })?;
            accept_continuations(&mut answer, &mut store.data_mut().queue).map_err(|failure| {
                match failure {
                    Accepting::Refused(refused) => CallError::BadContinuation {
                        plugin: plugin.to_string(),
                        refused,
                    },
                    Accepting::Memory(exceeded) => host_memory_error(plugin.to_string(), exceeded),
                }
            })?;
            Ok(answer)
        });
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%plugin, %version, export, tenant = %context.tenant, fuel_used, elapsed_ms, code = error.code(), %error, "call failed");
                return Err(error);
            }
        };

        // The guest returned: its vault writes take effect together, now.
        let state = store.data_mut();
        state.vault.commit().await.map_err(|e| CallError::Host {
            plugin: plugin.to_string(),
            message: e.to_string(),
        })?;
        tracing::debug!(%plugin, %version, export, tenant = %context.tenant, fuel_used, elapsed_ms, "call served");
        Ok(Served {
            answer,
            version,
            fuel_used,
            memory_peak: state.limiter.memory_peak,
            continuations: state.queue.take_enqueued(),
            recovery_point: state.queue.last_checkpoint().map(str::to_string),
        })
    }
}

/// Why the continuations of an answer were not accepted.
enum Accepting {
    Refused(ContinuationRefused),
    Memory(MemoryExceeded),
}

/// Moves the continuations of an `in-progress` answer into the call's queue, under the caps
/// 0.1's `enqueue` has, so the pipeline finds every continuation of the call in one place.
fn accept_continuations(answer: &mut Answer, queue: &mut QueueState) -> Result<(), Accepting> {
    let (Answer::Publish(Ok(PublishOutcome::InProgress(progress)))
    | Answer::HandleTask(Ok(PublishOutcome::InProgress(progress)))) = answer
    else {
        return Ok(());
    };
    for next in std::mem::take(&mut progress.continuations) {
        let delay = Duration::from_millis(next.delay_ms);
        match queue.accept(next.task, delay) {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => return Err(Accepting::Refused(refused)),
            Err(exceeded) => return Err(Accepting::Memory(exceeded)),
        }
    }
    Ok(())
}

/// Waits up to `wait` for a permit.
async fn admit(semaphore: Arc<Semaphore>, wait: Duration) -> Result<OwnedSemaphorePermit, ()> {
    if let Ok(permit) = semaphore.clone().try_acquire_owned() {
        return Ok(permit);
    }
    match tokio::time::timeout(wait, semaphore.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(()),
    }
}

/// The verdict on a call whose host memory ran out: its own caps, or the host's ceiling.
fn host_memory_error(plugin: String, exceeded: MemoryExceeded) -> CallError {
    match exceeded {
        MemoryExceeded::Call {
            limit_bytes,
            limit_items,
        } => CallError::HostMemoryLimit {
            plugin,
            limit_bytes,
            limit_items,
        },
        MemoryExceeded::Host { ceiling_bytes } => CallError::HostMemoryFull {
            plugin,
            ceiling_bytes,
        },
    }
}

/// Names the limit (or fault) behind a failed call.
fn classify(
    plugin: &str,
    limits: &crate::config::Limits,
    memory_refused: Option<usize>,
    host_memory: Option<MemoryExceeded>,
    error: wasmtime::Error,
) -> CallError {
    let plugin = plugin.to_string();
    if let Some(exceeded) = host_memory {
        return host_memory_error(plugin, exceeded);
    }
    if memory_refused.is_some() {
        return CallError::MemoryLimit {
            plugin,
            limit_bytes: limits.memory_bytes,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallError::FuelExhausted {
            plugin,
            budget: limits.fuel,
        },
        Some(Trap::Interrupt) => CallError::DeadlineExceeded {
            plugin,
            deadline: limits.deadline,
            during: "in guest code",
        },
        Some(Trap::StackOverflow) => CallError::StackOverflow { plugin },
        Some(_) => CallError::Trap {
            plugin,
            message: format!("{error:?}"),
        },
        None => CallError::Host {
            plugin,
            message: format!("{error:#}"),
        },
    }
}

//! How workers learn which jobs to run: the database is the queue. A worker claims due rows
//! directly (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite's single writer), as many as it has
//! free slots, and when none is due it sleeps until the earliest of: a wake-up, the next due
//! time it knows of, or the poll interval (a safety net, not the way work is found).
//!
//! Wake-ups: a process wakes its own workers when it queues a job due now and remembers due
//! times in the future ([`Dispatcher::announce`]). On PostgreSQL it also tells every replica
//! (`NOTIFY` on [`JOBS_CHANNEL`], the due times as payload, coalesced to one notification per
//! round trip while announcements keep coming: one time for what is due, each later time as
//! itself), and listens for theirs ([`listen`]), so a job
//! accepted on one replica is claimed at once by whichever has a free slot, and a retry due in
//! ten seconds is claimed in ten seconds, not at the next poll.
//!
//! Redis is not a queue here: dispatch through Redis Streams (a message per job, still claimed
//! in the database) was removed as a second queue in front of the first — see the README's
//! pipeline notes. Redis stays for shared rate budgets.

mod listen;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::store::{Claimed, HeldScopes, Millis, Store};
use crate::time::{Span, UnixMs};

/// The PostgreSQL channel replicas announce queued work on; the payload is the earliest due
/// time (Unix ms) of the jobs announced.
pub const JOBS_CHANNEL: &str = "postd_jobs";

/// Future due times one process remembers; beyond this the poll finds the rest.
const MAX_REMEMBERED: usize = 10_000;

/// Tunables.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// How long a claim lasts; a worker that dies holding a job loses it after this. Must
    /// exceed the longest plugin deadline.
    pub lease: Duration,
    /// Longest sleep between claims when idle and nothing is known to be due (a safety net for
    /// work announced while a listener reconnected, or by a replica on another database
    /// proxy).
    pub poll: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            lease: Duration::from_secs(120),
            poll: Duration::from_millis(500),
        }
    }
}

/// What a process knows of work to come.
#[derive(Default)]
struct Wake {
    now: Notify,
    later: Mutex<BinaryHeap<Reverse<Millis>>>,
}

impl Wake {
    /// Records that work is due at `at`: wakes the workers when it is due by `now`, else
    /// remembers when — and wakes them too when it is earlier than anything remembered, so a
    /// worker asleep until a later time (or the poll) sleeps until this one instead.
    fn due(&self, at: Millis, now: Millis) {
        if at <= now {
            self.now.notify_waiters();
            return;
        }
        let mut later = self.later.lock().expect("due times");
        let earliest = later.peek().is_none_or(|Reverse(first)| at < *first);
        if later.len() < MAX_REMEMBERED {
            later.push(Reverse(at));
        }
        drop(later);
        if earliest {
            self.now.notify_waiters();
        }
    }

    /// The earliest remembered due time after `now`, forgetting those that passed.
    fn next_after(&self, now: Millis) -> Option<Millis> {
        let mut later = self.later.lock().expect("due times");
        while later.peek().is_some_and(|Reverse(at)| *at <= now) {
            later.pop();
        }
        later.peek().map(|Reverse(at)| *at)
    }
}

/// Dispatch for one process. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    wake: Arc<Wake>,
    /// Due times to tell the other replicas (PostgreSQL only).
    tell: Option<mpsc::Sender<Millis>>,
    /// The announcing and listening tasks, stopped when the last clone is dropped.
    _tasks: Option<Arc<Tasks>>,
}

/// Background tasks aborted on drop.
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl Dispatcher {
    /// Dispatch within this process only (SQLite, tools and tests).
    pub fn local() -> Self {
        Dispatcher {
            wake: Arc::default(),
            tell: None,
            _tasks: None,
        }
    }

    /// Dispatch shared with every replica on the PostgreSQL database at `url`: announcements
    /// are sent to them and theirs heard, from tasks that live as long as the dispatcher.
    pub fn postgres(store: &Store, url: &str) -> Self {
        let wake: Arc<Wake> = Arc::default();
        let (tell, told) = mpsc::channel(1024);
        let tasks = Tasks(vec![
            tokio::spawn(listen::announce(store.clone(), told)),
            tokio::spawn(listen::hear(url.to_string(), Arc::downgrade(&wake))),
        ]);
        Dispatcher {
            wake,
            tell: Some(tell),
            _tasks: Some(Arc::new(tasks)),
        }
    }

    /// Says jobs are due at the given times (now or later): this process's workers wake or
    /// remember the time, and the other replicas are told.
    pub fn announce(&self, jobs: &[(String, Millis)], now: Millis) {
        let times: std::collections::BTreeSet<Millis> = jobs.iter().map(|(_, at)| *at).collect();
        for at in &times {
            self.wake.due(*at, now);
        }
        if let Some(tell) = &self.tell {
            for at in times {
                // A full channel already holds announcements that wake everyone soon; a
                // later time dropped here is found by the other replicas' polls.
                let _ = tell.try_send(at);
            }
        }
    }

    /// Claims up to `max` due jobs for `worker`, leaving those of `held` scopes queued; when
    /// none is due, waits for a wake-up, the next known due time or the poll interval, and
    /// returns nothing.
    pub async fn next(
        &self,
        store: &Store,
        worker: &str,
        now: impl Fn() -> Millis,
        settings: &DispatchSettings,
        max: u32,
        held: &HeldScopes,
    ) -> Result<Vec<Claimed>, String> {
        let lease = Span::from(settings.lease).as_millis_i64();
        // Registered before the claim, so a wake-up between the claim and the wait is kept.
        let woken = self.wake.now.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let claimed = store
            .claim_due_except(worker, now(), lease, max, held)
            .await
            .map_err(|e| e.to_string())?;
        if claimed.is_empty() {
            let at = now();
            let sleep = self
                .wake
                .next_after(at)
                .map(|due| UnixMs::new(at).until(UnixMs::new(due)).as_duration())
                .map_or(settings.poll, |d| d.min(settings.poll));
            let _ = tokio::time::timeout(sleep, woken).await;
        }
        Ok(claimed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn future_due_times_are_remembered_in_order_and_forgotten_once_past() {
        let wake = Wake::default();
        for at in [300, 100, 200] {
            wake.due(at, 50);
        }
        assert_eq!(wake.next_after(50), Some(100));
        assert_eq!(wake.next_after(100), Some(200));
        assert_eq!(wake.next_after(250), Some(300));
        assert_eq!(wake.next_after(300), None);
    }
}

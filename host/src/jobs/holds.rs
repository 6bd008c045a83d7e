//! Jobs held by their rate buckets. When a job's connection bucket or its tenant's ceiling has
//! no room ([`Runtime::reserve_egress`](crate::runtime::Runtime::reserve_egress)), the job is
//! not run: it goes back to the queue for the bucket's next free time, and claims leave the
//! scope's other queued jobs alone until then ([`Holds::scopes`]). Jobs held together are
//! spaced at the bucket's steady rate, one per interval, so that when a hold ends the next
//! claim finds about as many due as the bucket admits rather than all of them at once.
//!
//! Holds are this process's knowledge; the buckets themselves may be shared through Redis,
//! so every replica learns a hold from its own first refusal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::runtime::{Held, HoldScope};
use crate::store::{HeldScopes, Millis};
use crate::time::{Span, UnixMs};

/// The most tenants and connections a claim excludes; more holds than that still hold their
/// jobs, which are then claimed and put back without running.
const MAX_EXCLUDED: usize = 100;

/// The most queued jobs of a scope whose hold just ended that one claim takes.
const MAX_ROOM: i64 = 32;

/// One scope's hold.
#[derive(Debug, Clone, Copy)]
struct Hold {
    /// Until when claims leave the scope's jobs alone.
    until: Millis,
    /// The next unassigned slot of the scope's spacing.
    next_slot: Millis,
    /// The bucket's steady interval between runs.
    interval: Millis,
}

/// This process's holds, by (tenant, connection); the tenant's ceiling has no connection.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    scopes: Mutex<HashMap<(String, Option<String>), Hold>>,
    /// Runs put back so far.
    held: AtomicU64,
}

impl Holds {
    /// Records that a job of `tenant` on `connection` was refused by `held` at `now`; returns
    /// when it should run.
    pub(crate) fn hold(&self, tenant: &str, connection: &str, held: Held, now: Millis) -> Millis {
        let key = match held.scope {
            HoldScope::Tenant => (tenant.to_string(), None),
            HoldScope::Connection => (tenant.to_string(), Some(connection.to_string())),
        };
        // Rounded up: a job due a millisecond early would be refused again.
        let free_at = UnixMs::new(now)
            .saturating_add(Span::from_millis_i64(
                held.wait.as_micros().div_ceil(1000).min(i64::MAX as u128) as i64,
            ))
            .get();
        let interval = (held.interval.as_micros().div_ceil(1000).max(1)).min(i64::MAX as u128);
        self.held.fetch_add(1, Ordering::Relaxed);
        let mut scopes = self.scopes.lock().expect("holds");
        let hold = scopes.entry(key).or_insert(Hold {
            until: free_at,
            next_slot: free_at,
            interval: interval as i64,
        });
        hold.until = hold.until.max(free_at);
        hold.interval = interval as i64;
        let slot = hold.next_slot.max(free_at);
        hold.next_slot = UnixMs::new(slot)
            .saturating_add(Span::from_millis_i64(interval as i64))
            .get();
        slot
    }

    /// Records that a claim at `now` took a job of `tenant` on `connection`: a scope whose
    /// hold has ended counts it against what its bucket admitted since (one interval's worth),
    /// so the next claim's room is smaller, and none once it is used up, instead of the same
    /// room again for every claim until the spacing runs out.
    pub(crate) fn took(&self, tenant: &str, connection: &str, now: Millis) {
        let mut scopes = self.scopes.lock().expect("holds");
        if scopes.is_empty() {
            return;
        }
        for key in [
            (tenant.to_string(), None),
            (tenant.to_string(), Some(connection.to_string())),
        ] {
            if let Some(hold) = scopes.get_mut(&key)
                && hold.until <= now
            {
                hold.until = UnixMs::new(hold.until)
                    .saturating_add(Span::from_millis_i64(hold.interval))
                    .get();
            }
        }
    }

    /// How many runs were put back since the process started.
    pub(crate) fn count(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// When a job of `tenant` on `connection` due at `at` can first be claimed: `at`, or the
    /// end of a hold on its tenant or connection that is later. Announcing jobs at that time
    /// keeps workers asleep while a held scope's jobs pile up, instead of waking them for a
    /// claim that leaves those jobs alone.
    pub(crate) fn claimable_at(&self, tenant: &str, connection: &str, at: Millis) -> Millis {
        let scopes = self.scopes.lock().expect("holds");
        if scopes.is_empty() {
            return at;
        }
        let tenant_key = (tenant.to_string(), None);
        let connection_key = (tenant.to_string(), Some(connection.to_string()));
        [tenant_key, connection_key]
            .iter()
            .filter_map(|key| scopes.get(key))
            .map(|hold| hold.until)
            .fold(at, Millis::max)
    }

    /// When a job of `tenant` on `connection` stored now to run at `at` should first run: `at`,
    /// or, while its tenant's or connection's held jobs are being spaced, the next slot of that
    /// spacing (taken). Jobs accepted into a held scope then wait as not yet due instead of
    /// piling up as due jobs that every claim's scan has to walk past until they get their turn.
    pub(crate) fn slot_for_new(&self, tenant: &str, connection: &str, at: Millis) -> Millis {
        let mut scopes = self.scopes.lock().expect("holds");
        if scopes.is_empty() {
            return at;
        }
        let mut slot = at;
        for key in [
            (tenant.to_string(), None),
            (tenant.to_string(), Some(connection.to_string())),
        ] {
            if let Some(hold) = scopes.get_mut(&key)
                && hold.next_slot > at
            {
                slot = slot.max(hold.next_slot);
                hold.next_slot = UnixMs::new(hold.next_slot)
                    .saturating_add(Span::from_millis_i64(hold.interval))
                    .get();
            }
        }
        slot
    }

    /// The scopes held at `now`, for a claim to leave alone, and those whose hold ended while
    /// their spacing still runs, for a claim to take only what their bucket has admitted since
    /// (one run per interval since the hold ended, one at least); forgets holds whose spacing
    /// has run out.
    pub(crate) fn scopes(&self, now: Millis) -> HeldScopes {
        let mut scopes = self.scopes.lock().expect("holds");
        scopes.retain(|_, hold| hold.next_slot > now);
        let mut held = HeldScopes::default();
        for ((tenant, connection), hold) in scopes.iter() {
            if hold.until <= now {
                if held.limited.len() < MAX_EXCLUDED {
                    let admitted = (now - hold.until) / hold.interval.max(1) + 1;
                    let room = admitted.clamp(1, MAX_ROOM);
                    held.limited
                        .push((tenant.clone(), connection.clone(), room as u32));
                }
                continue;
            }
            match connection {
                None if held.tenants.len() < MAX_EXCLUDED => held.tenants.push(tenant.clone()),
                Some(c) if held.connections.len() < MAX_EXCLUDED => {
                    held.connections.push((tenant.clone(), c.clone()));
                }
                _ => {}
            }
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn held(scope: HoldScope, wait_ms: u64, interval_ms: u64) -> Held {
        Held {
            scope,
            wait: Duration::from_millis(wait_ms),
            interval: Duration::from_millis(interval_ms),
        }
    }

    #[test]
    fn jobs_held_together_are_spaced_at_the_bucket_s_rate() {
        let holds = Holds::default();
        let slots: Vec<Millis> = (0..4)
            .map(|_| holds.hold("t", "c", held(HoldScope::Tenant, 25, 10), 1_000))
            .collect();
        assert_eq!(slots, vec![1_025, 1_035, 1_045, 1_055]);
        // A later refusal with a later free time starts from whichever is later.
        assert_eq!(
            holds.hold("t", "c", held(HoldScope::Tenant, 100, 10), 1_000),
            1_100
        );
    }

    #[test]
    fn claims_leave_held_scopes_alone_until_the_bucket_frees() {
        let holds = Holds::default();
        holds.hold("t1", "c", held(HoldScope::Tenant, 50, 10), 1_000);
        holds.hold("t2", "c", held(HoldScope::Connection, 500, 100), 1_000);
        let at = |now| holds.scopes(now);
        assert_eq!(at(1_010).tenants, vec!["t1".to_string()]);
        assert_eq!(
            at(1_010).connections,
            vec![("t2".to_string(), "c".to_string())]
        );
        assert!(at(1_050).tenants.is_empty());
        assert_eq!(at(1_050).connections.len(), 1);
        assert_eq!(
            at(1_500).limited,
            vec![("t2".to_string(), Some("c".to_string()), 1)],
            "t2's hold ended; its spacing runs until 1,600"
        );
        assert_eq!(at(1_600), HeldScopes::default());
    }

    #[test]
    fn a_scope_whose_hold_ended_gives_a_claim_only_what_its_bucket_admitted_since() {
        let holds = Holds::default();
        for _ in 0..10 {
            holds.hold("t", "c", held(HoldScope::Tenant, 50, 10), 1_000);
        }
        // Held until 1,050; ten jobs spaced until 1,150.
        assert_eq!(holds.scopes(1_049).tenants, vec!["t".to_string()]);
        assert!(holds.scopes(1_049).limited.is_empty());
        let limited = |now| holds.scopes(now).limited;
        assert_eq!(limited(1_050), vec![("t".to_string(), None, 1)]);
        assert_eq!(limited(1_059), vec![("t".to_string(), None, 1)]);
        assert_eq!(limited(1_075), vec![("t".to_string(), None, 3)]);
        assert!(holds.scopes(1_075).tenants.is_empty());
        assert_eq!(limited(1_150), Vec::new(), "the spacing ran out: no limit");
    }

    #[test]
    fn jobs_a_claim_took_from_a_limited_scope_use_up_its_room() {
        let holds = Holds::default();
        for _ in 0..10 {
            holds.hold("t", "c", held(HoldScope::Tenant, 50, 10), 1_000);
        }
        assert_eq!(
            holds.scopes(1_075).limited,
            vec![("t".to_string(), None, 3)]
        );
        holds.took("t", "c", 1_075);
        holds.took("t", "c2", 1_075);
        assert_eq!(
            holds.scopes(1_075).limited,
            vec![("t".to_string(), None, 1)]
        );
        holds.took("t", "c", 1_075);
        let scopes = holds.scopes(1_075);
        assert_eq!(
            scopes.tenants,
            vec!["t".to_string()],
            "used up: held until 1,080"
        );
        assert!(scopes.limited.is_empty());
        assert_eq!(
            holds.scopes(1_080).limited,
            vec![("t".to_string(), None, 1)]
        );
    }

    #[test]
    fn jobs_stored_into_a_held_scope_take_the_next_slots_of_its_spacing() {
        let holds = Holds::default();
        assert_eq!(holds.slot_for_new("t", "c", 1_000), 1_000, "nothing held");
        holds.hold("t", "c", held(HoldScope::Tenant, 50, 10), 1_000);
        // The held job took 1,050; new ones follow it at the bucket's interval.
        assert_eq!(holds.slot_for_new("t", "c", 1_001), 1_060);
        assert_eq!(holds.slot_for_new("t", "c2", 1_002), 1_070);
        assert_eq!(holds.slot_for_new("u", "c", 1_003), 1_003, "another tenant");
        // A job due after the spacing runs at its own time.
        assert_eq!(holds.slot_for_new("t", "c", 5_000), 5_000);
    }

    #[test]
    fn jobs_of_a_held_scope_are_claimable_when_its_hold_ends() {
        let holds = Holds::default();
        assert_eq!(holds.claimable_at("t", "c", 1_000), 1_000);
        holds.hold("t", "c", held(HoldScope::Tenant, 500, 10), 1_000);
        holds.hold("t", "c2", held(HoldScope::Connection, 900, 10), 1_000);
        assert_eq!(
            holds.claimable_at("t", "c", 1_000),
            1_500,
            "the tenant's hold"
        );
        assert_eq!(
            holds.claimable_at("t", "c2", 1_000),
            1_900,
            "the later of both"
        );
        assert_eq!(
            holds.claimable_at("t", "c", 2_000),
            2_000,
            "due after the hold"
        );
        assert_eq!(holds.claimable_at("u", "c", 1_000), 1_000, "another tenant");
    }
}

//! Which plugin a usable connection belongs to, kept for a moment in this process so that
//! accepting a post does not read each target's connection again (one round trip per target
//! saved on every accept).
//!
//! Only usable connections are kept, and only for [`FRESH_FOR`]: a stale entry can only say
//! "usable" about a connection that stopped being so, and then the job is stored queued
//! instead of paused — its claim reads the connection's status afresh and pauses it there,
//! exactly as for a post accepted just before the change. A connection that is not usable is
//! read every time, so a job is never stored paused for a connection that was meanwhile
//! reconnected (its paused jobs were already resumed). This process forgets an entry when it
//! changes the connection's status or deletes it; another replica's change is seen within
//! [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Entries kept at most; a full cache is emptied (the next accepts read again).
const MAX_ENTRIES: usize = 100_000;

/// (tenant, connection) → (plugin, when read).
#[derive(Debug, Default)]
pub(crate) struct TargetCache {
    entries: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl TargetCache {
    /// The plugin of `connection`, when it was usable less than [`FRESH_FOR`] ago.
    pub(crate) fn usable(&self, tenant: &str, connection: &str) -> Option<String> {
        let entries = self.entries.lock().expect("target cache");
        let (plugin, read_at) = entries.get(&(tenant.to_string(), connection.to_string()))?;
        (read_at.elapsed() < FRESH_FOR).then(|| plugin.clone())
    }

    /// Remembers that `connection` is usable and belongs to `plugin`.
    pub(crate) fn remember(&self, tenant: &str, connection: &str, plugin: &str) {
        let mut entries = self.entries.lock().expect("target cache");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (tenant.to_string(), connection.to_string()),
            (plugin.to_string(), Instant::now()),
        );
    }

    /// Forgets `connection` of `tenant`, or every connection of `tenant` when `None`.
    pub(crate) fn forget(&self, tenant: &str, connection: Option<&str>) {
        let mut entries = self.entries.lock().expect("target cache");
        match connection {
            Some(id) => {
                entries.remove(&(tenant.to_string(), id.to_string()));
            }
            None => entries.retain(|(t, _), _| t != tenant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_connection_is_remembered_until_forgotten() {
        let cache = TargetCache::default();
        assert_eq!(cache.usable("t", "c"), None);
        cache.remember("t", "c", "meta");
        cache.remember("t", "d", "tiktok");
        cache.remember("u", "c", "gbp");
        assert_eq!(cache.usable("t", "c").as_deref(), Some("meta"));
        assert_eq!(cache.usable("u", "c").as_deref(), Some("gbp"), "per tenant");
        cache.forget("t", Some("c"));
        assert_eq!(cache.usable("t", "c"), None);
        assert_eq!(cache.usable("t", "d").as_deref(), Some("tiktok"));
        cache.forget("t", None);
        assert_eq!(
            cache.usable("t", "d"),
            None,
            "the tenant's every connection"
        );
        assert_eq!(cache.usable("u", "c").as_deref(), Some("gbp"));
    }
}

//! Fuel spent, per tenant and plugin.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Calls and fuel of one (tenant, plugin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Calls that ran (whatever their outcome).
    pub calls: u64,
    /// Fuel they consumed.
    pub fuel: u64,
}

/// Running totals of fuel per (tenant, plugin).
#[derive(Debug, Default)]
pub struct FuelLedger {
    totals: Mutex<BTreeMap<(String, String), Usage>>,
}

impl FuelLedger {
    /// Adds one call that consumed `fuel`.
    pub fn record(&self, tenant: &str, plugin: &str, fuel: u64) {
        let mut totals = self.totals.lock().expect("fuel ledger");
        let usage = totals
            .entry((tenant.to_string(), plugin.to_string()))
            .or_default();
        usage.calls += 1;
        usage.fuel += fuel;
    }

    /// The totals of one (tenant, plugin).
    pub fn usage(&self, tenant: &str, plugin: &str) -> Usage {
        let totals = self.totals.lock().expect("fuel ledger");
        totals
            .get(&(tenant.to_string(), plugin.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Every total, ordered by tenant then plugin.
    pub fn snapshot(&self) -> Vec<((String, String), Usage)> {
        self.totals
            .lock()
            .expect("fuel ledger")
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

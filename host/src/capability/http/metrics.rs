//! Egress metrics per plugin: requests, status classes and a latency histogram, kept in memory
//! for the `/metrics` endpoint to render.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets; the last bucket is unbounded.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// What the host's egress did for one plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EgressStats {
    /// Requests sent (answered or not).
    pub requests: u64,
    /// Answers by status class: index 0 for 1xx through 4 for 5xx.
    pub status_classes: [u64; 5],
    /// Requests that got no answer (timeout, connection failure, oversized body).
    pub failures: u64,
    /// Requests refused before sending (egress policy or rate budget).
    pub refused: u64,
    /// Cumulative histogram counts per [`LATENCY_BUCKETS`] bound, plus the `+Inf` bucket.
    pub latency_buckets: [u64; LATENCY_BUCKETS.len() + 1],
    /// Sum of latencies in seconds.
    pub latency_sum: f64,
}

/// Egress metrics of every plugin.
#[derive(Debug, Default)]
pub struct EgressMetrics {
    plugins: Mutex<BTreeMap<String, EgressStats>>,
}

impl EgressMetrics {
    fn with(&self, plugin: &str, update: impl FnOnce(&mut EgressStats)) {
        let mut plugins = self.plugins.lock().expect("egress metrics");
        update(plugins.entry(plugin.to_string()).or_default());
    }

    /// A request that was answered with `status` after `latency`.
    pub fn answered(&self, plugin: &str, status: u16, latency: Duration) {
        self.with(plugin, |s| {
            s.requests += 1;
            if let Some(class) = (status / 100).checked_sub(1).filter(|c| *c < 5) {
                s.status_classes[class as usize] += 1;
            }
            s.observe(latency);
        });
    }

    /// A request that was sent but got no usable answer after `latency`.
    pub fn failed(&self, plugin: &str, latency: Duration) {
        self.with(plugin, |s| {
            s.requests += 1;
            s.failures += 1;
            s.observe(latency);
        });
    }

    /// A request refused before it left.
    pub fn refused(&self, plugin: &str) {
        self.with(plugin, |s| s.refused += 1);
    }

    /// Every plugin's figures.
    pub fn snapshot(&self) -> BTreeMap<String, EgressStats> {
        self.plugins.lock().expect("egress metrics").clone()
    }
}

impl EgressStats {
    fn observe(&mut self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        self.latency_sum += seconds;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[i] += 1;
            }
        }
        self.latency_buckets[LATENCY_BUCKETS.len()] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_failures_and_refusals_are_counted_per_plugin() {
        let metrics = EgressMetrics::default();
        metrics.answered("meta", 200, Duration::from_millis(30));
        metrics.answered("meta", 429, Duration::from_millis(3));
        metrics.failed("meta", Duration::from_secs(20));
        metrics.refused("meta");
        metrics.answered("tiktok", 503, Duration::from_millis(700));
        let all = metrics.snapshot();
        let meta = &all["meta"];
        assert_eq!((meta.requests, meta.failures, meta.refused), (3, 1, 1));
        assert_eq!(meta.status_classes, [0, 1, 0, 1, 0]);
        assert_eq!(meta.latency_buckets[0], 1, "3 ms is under 5 ms");
        assert_eq!(
            meta.latency_buckets[3], 2,
            "cumulative: 3 ms and 30 ms are under 50 ms"
        );
        assert_eq!(meta.latency_buckets[LATENCY_BUCKETS.len()], 3);
        assert_eq!(all["tiktok"].status_classes[4], 1);
    }
}

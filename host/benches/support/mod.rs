//! What the benchmarks share: percentiles, resident memory, and the JSON result files that
//! `bench/report.py` turns into `bench/RESULTS.md` and `bench/throughput.svg`.
#![allow(dead_code)]

pub mod host;
pub mod load;
pub mod platform;
pub mod process;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

/// The runtime a benchmark's `main` drives its work on: two worker threads, as the machine the
/// figures come from has two cores.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The two instance allocation strategies the call benchmarks compare: on demand, and a pool of
/// 128 instances of 64 MiB memories.
pub fn allocation_strategies() -> [(&'static str, postd_host::runtime::Allocation); 2] {
    use postd_host::runtime::Allocation;
    [
        ("on-demand", Allocation::OnDemand),
        (
            "pooling",
            Allocation::Pooling {
                instances: 128,
                memory_bytes: 64 << 20,
                table_elements: 20_000,
            },
        ),
    ]
}

/// Where result files go: `bench/out/` at the workspace root.
pub fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/out");
    std::fs::create_dir_all(&dir).expect("creating bench/out");
    dir
}

/// Writes `value` as `bench/out/<name>.json`.
pub fn write_result(name: &str, value: &Value) {
    let path = out_dir().join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).expect("writing a result");
    eprintln!("wrote {}", path.display());
}

/// Percentiles of a set of durations, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: f64,
}

impl Summary {
    /// Summarizes `samples` (any order).
    pub fn of(samples: &[Duration]) -> Summary {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        Summary::of_micros(&mut us)
    }

    /// Summarizes microsecond values (sorted in place).
    pub fn of_micros(us: &mut [f64]) -> Summary {
        assert!(!us.is_empty(), "no samples");
        us.sort_by(f64::total_cmp);
        Summary {
            n: us.len(),
            p50: percentile(us, 0.50),
            p99: percentile(us, 0.99),
            mean: us.iter().sum::<f64>() / us.len() as f64,
            min: us[0],
        }
    }

    /// As JSON (microseconds).
    pub fn json(&self) -> Value {
        json!({ "n": self.n, "p50_us": self.p50, "p99_us": self.p99, "mean_us": self.mean, "min_us": self.min })
    }
}

/// The nearest-rank percentile `p` (0..=1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Resident memory of this process (VmRSS), in KiB.
pub fn rss_kib() -> u64 {
    rss_kib_of("self")
}

/// Resident memory (VmRSS) of process `pid` (or `self`), in KiB; 0 if unreadable.
pub fn rss_kib_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

//! The run's report: the machine, and the Markdown table written beside the JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// The machine the run is on.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let version = |program: &str, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory_gib": memory,
        "commit": commit,
        "kernel": version("uname", "-r"),
        "node": version("node", "--version"),
        "redis_server": version("redis-server", "--version"),
    })
}

/// The load average now (1, 5, 15 minutes).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_default()
}

fn fmt(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() => {
            if x >= 1000.0 {
                let whole = format!("{:.0}", x);
                let mut out = String::new();
                for (i, c) in whole.chars().enumerate() {
                    if i > 0 && (whole.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(c);
                }
                out
            } else {
                format!("{x:.digits$}")
            }
        }
        _ => "—".to_string(),
    }
}

/// The run's report as Markdown (bench/out/external.md).
pub fn markdown(report: &Value) -> String {
    let mut md = String::new();
    let m = &report["machine"];
    let _ = writeln!(md, "# External pipeline benchmark\n");
    let _ = writeln!(
        md,
        "Written by `postd-loadbench` (`make bench-external`), {} UTC. Machine: {} cores, {}, \
         {:.1} GiB; commit {}. Load average before / after: {} — {}.\n",
        report["finished"].as_str().unwrap_or(""),
        m["cores"],
        m["cpu"].as_str().unwrap_or("?"),
        m["memory_gib"].as_f64().unwrap_or(0.0),
        m["commit"].as_str().unwrap_or("?"),
        report["load_before"].as_str().unwrap_or(""),
        report["load_after"].as_str().unwrap_or(""),
    );
    let _ = writeln!(
        md,
        "Every process on the same machine: the stack under test, PostgreSQL, Redis, the platform \
         and the loader. Closed loop: N posts, C in flight, one job each; publishes/s is N over \
         first request -> last job stored as published. PostgreSQL: {}. SQL statements: {}. \
         Redis: {}.\n",
        report["postgres"]["server"].as_str().unwrap_or("n/a"),
        report["postgres"]["statements"].as_str().unwrap_or("n/a"),
        report["redis"].as_str().unwrap_or(""),
    );
    let _ = writeln!(
        md,
        "| stack | backend | tenants | in flight | posts | publishes/s | accept p50 / p99 ms | \
         end-to-end p50 / p99 ms | CPU ms/publish: stack | database | Redis | platform | loader | \
         runs/publish | SQL statements/publish | commits/publish | rows written/publish | \
         Redis commands/publish | retried requests | not exactly once |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for row in report["rows"].as_array().into_iter().flatten() {
        if let Some(error) = row.get("error") {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | failed: {} | | | | | | | | | | | | | | |",
                row["stack"].as_str().unwrap_or(""),
                row["backend"].as_str().unwrap_or(""),
                row["tenants"],
                row["in_flight"],
                row["posts"],
                error
                    .as_str()
                    .unwrap_or("")
                    .replace('|', "/")
                    .replace('\n', " "),
            );
            continue;
        }
        let cpu = &row["cpu_ms_per_publish"];
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row["stack"].as_str().unwrap_or(""),
            row["backend"].as_str().unwrap_or(""),
            row["tenants"],
            fmt(&row["in_flight"], 0),
            fmt(&row["posts"], 0),
            fmt(&row["publishes_per_s"], 0),
            fmt(&row["accept_ms"]["p50"], 1),
            fmt(&row["accept_ms"]["p99"], 1),
            fmt(&row["end_to_end_ms"]["p50"], 0),
            fmt(&row["end_to_end_ms"]["p99"], 0),
            fmt(&cpu["host"], 2),
            fmt(&cpu["database"], 2),
            fmt(&cpu["redis"], 2),
            fmt(&cpu["platform"], 2),
            fmt(&cpu["loader"], 2),
            fmt(&row["runs_per_publish"], 2),
            fmt(&row["sql_statements_per_publish"], 1),
            fmt(&row["sql_commits_per_publish"], 1),
            fmt(&row["sql_rows_written_per_publish"], 1),
            fmt(&row["redis_commands_per_publish"], 1),
            row["retried_requests"],
            row["jobs_not_posted_exactly_once"],
        );
    }
    let _ = writeln!(
        md,
        "\nAccept: the loader's `POST /v1/posts` until its 2xx answer. End-to-end: that request's \
         start until the job's row is stored as published (its `updated_at`). CPU ms/publish: \
         utime + stime from /proc over the measured run, divided by the publishes; *stack* is \
         `postd-host` (or the baseline's API and worker processes), *database* the PostgreSQL \
         server's own processes and the measured database's backends (SQLite runs inside the \
         host), *Redis* the redis-server. Commits and rows written come from \
         `pg_stat_database` (the loader's own completion polls subtracted), Redis commands from \
         `INFO commandstats`. Runs/publish: the host's recorded attempts (rate-limited ones \
         included) or the baseline worker's runs, per job. Not exactly once: jobs the platform did not receive exactly once. \
         bench/NOTES.md describes the method."
    );
    md
}

#!/usr/bin/env python3
"""Writes bench/RESULTS.md and bench/throughput.svg from the benchmarks' result files.

Inputs: bench/out/*.json (written by the benchmarks in host/benches), criterion's estimates
under $CARGO_TARGET_DIR/criterion, bench/out/load-*.txt (load averages around the run) and the
machine itself (/proc/cpuinfo, /proc/meminfo, /etc/os-release, rustc). Standard library only.
"""

import glob
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def load(name):
    path = os.path.join(OUT, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def machine():
    cpuinfo = read("/proc/cpuinfo")
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), "unknown")
    mem_kib = next((int(l.split()[1]) for l in read("/proc/meminfo").splitlines() if l.startswith("MemTotal")), 0)
    os_name = next((l.split("=", 1)[1].strip('"') for l in read("/etc/os-release").splitlines() if l.startswith("PRETTY_NAME")), platform.system())
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "unknown"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": f"{os_name}, kernel {platform.release()}",
        "rustc": rustc,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": read(os.path.join(OUT, "load-before.txt"), "not recorded"),
        "load_after": read(os.path.join(OUT, "load-after.txt"), "not recorded"),
    }


def met(ok):
    return "**met**" if ok else "**not met**"


def fmt(x, digits=1):
    if x is None:
        return "-"
    if isinstance(x, float) and x != x:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def criterion_rows():
    rows = []
    for path in sorted(glob.glob(os.path.join(TARGET, "criterion", "**", "new", "estimates.json"), recursive=True)):
        bench = os.path.join(os.path.dirname(path), "benchmark.json")
        try:
            with open(path) as f:
                est = json.load(f)
            with open(bench) as f:
                title = json.load(f).get("full_id", "?")
        except (OSError, ValueError):
            continue
        rows.append((title, est["median"]["point_estimate"] / 1000.0, est["mean"]["point_estimate"] / 1000.0))
    return rows


def svg(pipeline, scale_out, path):
    """Publishes per second against publishes in flight (log x), one line per backend."""
    width, height, left, right, top, bottom = 640, 400, 70, 170, 30, 50
    series = []
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    if pipeline:
        for b in pipeline["backends"]:
            series.append((b["backend"] + " (1 process)", [(l["concurrency"], l["publishes_per_s"]) for l in b["levels"]]))
    if scale_out:
        for r in scale_out["rows"]:
            series.append((f"PG + Redis, {r['processes']} binary process(es)", [(r["in_flight"], r["publishes_per_s"])]))
    xs = [x for _, pts in series for x, _ in pts] or [1, 1000]
    ymax = max([y for _, pts in series for _, y in pts] + [3000]) * 1.1
    import math
    lx0, lx1 = math.log10(max(min(xs), 1)), math.log10(max(xs) * 1.0001)
    if lx1 - lx0 < 1e-9:
        lx1 = lx0 + 1
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + (math.log10(x) - lx0) / (lx1 - lx0) * pw

    def py(y):
        return top + ph - y / ymax * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14">Publishes per second against publishes in flight</text>',
             f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>']
    for e in range(int(math.floor(lx0)), int(math.ceil(lx1)) + 1):
        x = 10 ** e
        if lx0 - 1e-9 <= e <= lx1 + 1e-9:
            parts.append(f'<line x1="{px(x):.1f}" y1="{top + ph}" x2="{px(x):.1f}" y2="{top + ph + 5}" stroke="black"/>')
            parts.append(f'<text x="{px(x):.1f}" y="{top + ph + 18}" text-anchor="middle">{x:,}</text>')
    step = 10 ** int(math.log10(ymax / 4)) if ymax > 4 else 1
    ticks = [i * step for i in range(0, int(ymax / step) + 1)]
    if len(ticks) > 8:
        ticks = ticks[:: len(ticks) // 6 + 1]
    for t in ticks:
        parts.append(f'<line x1="{left - 5}" y1="{py(t):.1f}" x2="{left + pw}" y2="{py(t):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{py(t) + 4:.1f}" text-anchor="end">{t:,}</text>')
    parts.append(f'<line x1="{left}" y1="{py(3000):.1f}" x2="{left + pw}" y2="{py(3000):.1f}" stroke="#888" stroke-dasharray="6,4"/>')
    parts.append(f'<text x="{left + pw + 5}" y="{py(3000) + 4:.1f}" fill="#555">target 3,000/s</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">publishes in flight (log scale)</text>')
    parts.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" text-anchor="middle">publishes/s</text>')
    for i, (name, pts) in enumerate(series):
        c = colours[i % len(colours)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        if len(pts) > 1:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in pts:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{c}"><title>{name}: {y:,.0f}/s at {x:,}</title></circle>')
        ly = top + 40 + i * 20
        parts.append(f'<rect x="{left + pw + 5}" y="{ly - 9}" width="10" height="10" fill="{c}"/>')
        parts.append(f'<text x="{left + pw + 20}" y="{ly}" font-size="10">{name}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def section(text, heading):
    """The body of the `## heading…` section of a Markdown text, or None."""
    marker = "\n" + heading
    if marker not in "\n" + text:
        return None
    body = ("\n" + text).split(marker, 1)[1].split("\n", 1)[1]
    return body.split("\n## ", 1)[0].strip()


def faults_section():
    """Section 10: the fault suite's cases and long runs, as bench/FAULTS.md reports them."""
    faults = read(os.path.join(ROOT, "bench", "FAULTS.md"))
    cases = section(faults, "## The cases")
    long_runs = section(faults, "## Long runs")
    out = ["## 10. Faults\n"]
    if cases is None or long_runs is None:
        out.append("See [FAULTS.md](FAULTS.md).\n")
        return "\n".join(out)
    out.append("The fault suite (issue 18), as [FAULTS.md](FAULTS.md) reports it (machine, method, and what the host needed there). The short cases run in `make test`:\n")
    out.append(cases.split("\n\nWhat case 4")[0] + "\n")
    out.append("The long runs (`make soak`):\n")
    out.append(long_runs + "\n")
    return "\n".join(out)


def main():
    m = machine()
    call = load("call_overhead")
    cpu = load("cpu_heavy")
    pipe = load("pipeline")
    swap = load("hot_swap")
    idle = load("idle_memory")
    scale = load("scale_out")
    events = load("events")
    plans = load("plans")
    slow = load("slow_neighbour")
    python = load("python")
    notes_path = os.path.join(ROOT, "bench", "NOTES.md")
    notes = read(notes_path)
    out = []
    w = out.append
    w("# Benchmark results\n")
    w("Written by `bench/report.py` from the result files of the last benchmark runs (`make bench` runs them all; `cargo bench -p postd-host --bench <name>` runs one, then `python3 bench/report.py` rewrites this file). Every figure below comes from those runs on this machine.\n")
    w("## Machine\n")
    w("| | |\n| --- | --- |")
    for k, label in [("cpu", "CPU"), ("cores", "cores"), ("memory", "memory"), ("os", "OS"), ("rustc", "Rust"), ("date", "report written"),
                     ("load_before", "load before the run (loadavg, busy processes)"), ("load_after", "load after the run")]:
        w(f"| {label} | {m[k]} |")
    w("\nBuilt with the `bench` profile (release optimizations, `lto = false`, `codegen-units = 16`, incremental), not the thin-LTO release profile, to keep build times reasonable on two cores. The machine is shared with other builds and test runs, so absolute figures are pessimistic.\n")

    w("## Targets\n")
    w("| target | figure | status |\n| --- | --- | --- |")
    if call:
        pool = next((r for r in call["rows"] if r["allocation"] == "pooling"), None)
        if pool:
            p50 = pool["timing"]["p50_us"]
            w(f"| sandbox overhead p50 ≤ 20 µs with pooling | {fmt(p50)} µs | {met(p50 <= 20)} |")
    else:
        w("| sandbox overhead p50 ≤ 20 µs with pooling | not run | - |")
    if cpu:
        w(f"| component ≤ 1.5x native (CPU-heavy, fuel on) | {cpu['ratio_fuel_p50']:.2f}x | {met(cpu['ratio_fuel_p50'] <= 1.5)} |")
    else:
        w("| component ≤ 1.5x native | not run | - |")
    if pipe:
        for b in pipe["backends"]:
            top_level = max(b["levels"], key=lambda l: l["concurrency"])
            best = max(l["publishes_per_s"] for l in b["levels"])
            w(f"| ≥ 3,000 publishes/s end-to-end, {b['backend']} | {fmt(best)}/s (best level; {fmt(top_level['publishes_per_s'])}/s at {top_level['concurrency']:,} in flight) | {met(best >= 3000)} |")
        for b in pipe["backends"]:
            top_level = max(b["levels"], key=lambda l: l["concurrency"])
            p99 = top_level["analysis"]["host_added"]["p99_ms"]
            w(f"| host-added p99 ≤ 5 ms at {top_level['concurrency']:,} in flight, {b['backend']} | {fmt(p99)} ms | {met(p99 <= 5)} |")
    else:
        w("| ≥ 3,000 publishes/s, host-added p99 ≤ 5 ms | not run | - |")
    if swap:
        w(f"| 0 failed calls across {swap['swaps']} swaps | {swap['failed_calls']} failed | {met(swap['failed_calls'] == 0)} |")
    else:
        w("| 0 failed calls across swaps | not run | - |")
    if idle:
        mib = idle["restart_rss_kib"] / 1024
        w(f"| idle resident memory ≤ 60 MiB with {idle['plugins']} plugins | {mib:.1f} MiB | {met(mib <= 60)} |")
    else:
        w("| idle resident memory ≤ 60 MiB | not run | - |")
    w("")

    w("## 1. Sandbox overhead: instantiate + call + drop\n")
    if call:
        w(f"The example connector's `manifest()` export (trivial work) in a fresh instance per call, through `Runtime::invoke` (admission, limits, store, WASI context, instantiation, call, drop). Percentiles from {call['rows'][0]['timing']['n']:,} single calls timed one by one after as many warm-up calls.\n")
        w("| allocation | p50 µs | p99 µs | mean µs | min µs |\n| --- | --- | --- | --- | --- |")
        for r in call["rows"]:
            t = r["timing"]
            w(f"| {r['allocation']} | {fmt(t['p50_us'])} | {fmt(t['p99_us'])} | {fmt(t['mean_us'])} | {fmt(t['min_us'])} |")
        w("")
    else:
        w("Not run.\n")
    crit = criterion_rows()
    if crit:
        w("Criterion estimates of the same runs (the per-call overhead above and the capability micro-benchmarks):\n")
        w("| benchmark | median µs | mean µs |\n| --- | --- | --- |")
        for title, median, mean in crit:
            w(f"| {title} | {fmt(median, 2)} | {fmt(mean, 2)} |")
        w("")

    w("## 1b/4. CPU-heavy function: component against native, fuel against epoch-only\n")
    if cpu:
        w(f"Build a JSON document of {cpu['items']:,} posts, serialize it ({cpu['body_bytes']:,} bytes) and HMAC-SHA256 it: the same Rust (`tests/fixtures/cpu-work`) called natively in-process and as the `cpu-heavy` fixture component's `publish` (including instantiation and the call). The component's answer is checked against the native one. Fuel used per call: {cpu['fuel_used']:,}.\n")
        w("| variant | p50 ms | p99 ms | mean ms | ratio to native (p50) |\n| --- | --- | --- | --- | --- |")
        n50 = cpu["native"]["p50_us"]
        for label, key in [("native, in-process", "native"), ("component, fuel metering + epoch (production)", "component_fuel"), ("component, epoch interruption only", "component_epoch_only")]:
            t = cpu[key]
            w(f"| {label} | {t['p50_us'] / 1000:.2f} | {t['p99_us'] / 1000:.2f} | {t['mean_us'] / 1000:.2f} | {t['p50_us'] / n50:.2f}x |")
        w(f"\nFuel metering costs {cpu['fuel_overhead_p50'] * 100:.1f} % over epoch-only interruption on this function (p50).\n")
    else:
        w("Not run.\n")

    w("## 2. Pipeline end to end\n")
    if pipe:
        w(f"`POST /v1/posts` (one target) -> stored and queued -> dispatched -> the pipeline fixture's `publish` in the sandbox -> two HTTP requests to a platform on loopback (create a draft, publish it) -> stored as published. One process holds the API, {pipe['job_slots']} job slots, the platform and the load generator; a closed loop keeps N publishes in flight (a post is in flight from its request until the platform has made the post; the run ends when every job is stored as published). Latencies come from the database's timestamps (millisecond resolution): *total* is accepted -> stored as published; *host-added* is total minus the platform handlers' own time; *in attempt* is the attempt's duration minus the platform's time (no queueing); *queue wait* is accepted -> attempt started. RSS is the peak VmRSS of that one process (host, platform and load generator together).\n")
        w("| backend | in flight | posts | publishes/s | host-added p50 ms | host-added p99 ms | in-attempt p50/p99 ms | queue wait p50/p99 ms | peak RSS MiB | failed | exactly once |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for b in pipe["backends"]:
            for l in b["levels"]:
                a = l["analysis"]
                once = "yes" if a["jobs_not_posted_exactly_once"] == 0 and a["published"] == a["jobs"] else f"no ({a['jobs_not_posted_exactly_once']} jobs)"
                w(f"| {b['backend']} | {l['concurrency']:,} | {l['sent']:,} | {fmt(l['publishes_per_s'])} | {fmt(a['host_added']['p50_ms'])} | {fmt(a['host_added']['p99_ms'])} | {fmt(a['in_attempt_host_added']['p50_ms'])} / {fmt(a['in_attempt_host_added']['p99_ms'])} | {fmt(a['queue_wait']['p50_ms'])} / {fmt(a['queue_wait']['p99_ms'])} | {l['rss_peak_kib'] / 1024:.0f} | {l['failed_requests'] + a['failed_attempts']} | {once} |")
        w("")
        w("Group commit: the same highest level on a fresh host that lets concurrent runs share one transaction for their outcomes and recovery points (`finish_batch` and `StoreJobSink::with_max_batch`, off by default), against the default of one commit per write:\n")
        w("| backend | in flight | one commit per write (default): publishes/s | group commit: publishes/s | host-added p99 ms (group commit) |\n| --- | --- | --- | --- | --- |")
        for b in pipe["backends"]:
            g = b.get("group_commit")
            if not g:
                continue
            d = next(l for l in b["levels"] if l["concurrency"] == g["concurrency"])
            w(f"| {b['backend']} | {g['concurrency']:,} | {fmt(d['publishes_per_s'])} | {fmt(g['publishes_per_s'])} | {fmt(g['analysis']['host_added']['p99_ms'])} |")
        w("")
        for b in pipe["backends"]:
            w(f"- {b['backend']}: RSS of the benchmark process once the host was set up, before its load (one plugin): {b['idle_rss_kib'] / 1024:.1f} MiB{' (the same process ran the SQLite levels first and keeps what they allocated)' if b is not pipe['backends'][0] else ''}.")
        w("\n![throughput against concurrency](throughput.svg)\n")
    else:
        w("Not run.\n")

    if idle:
        w("## Idle memory\n")
        w(f"`postd-host run` (this build) on SQLite with {idle['plugins']} connectors loaded (example, Mailchimp, Meta, LinkedIn, Google Business Profile), idle for 2 s after start: VmRSS {idle['cold_start_rss_kib'] / 1024:.1f} MiB on the first start (which compiles the components), {idle['restart_rss_kib'] / 1024:.1f} MiB on a restart that loads them from the compile cache.\n")

    w("## 3. Hot swap under load\n")
    if swap:
        ms = swap["swap_to_serving_ms"]
        a = swap["analysis"]
        w(f"{swap['posts']:,} publishes through the API ({swap['in_flight']} in flight, SQLite) while the plugin file is replaced {swap['swaps']} times by an atomic rename, alternating versions 0.2.0 and 0.1.0 of the pipeline fixture. All swaps happened during the load: {'yes' if swap['all_swaps_during_load'] else 'no'}.\n")
        w("| failed calls | refused requests | attempts not published | jobs published | jobs posted exactly once | publishes/s | change -> serving, per swap (ms) |\n| --- | --- | --- | --- | --- | --- | --- |")
        w(f"| {swap['failed_calls']} | {swap['failed_requests']} | {a['failed_attempts']} | {a['published']:,} of {a['jobs']:,} | {a['jobs'] - a['jobs_not_posted_exactly_once']:,} | {fmt(swap['publishes_per_s'])} | {', '.join(f'{x:.0f}' for x in ms)} |")
        w("\nThe time from change to serving includes the watcher's 250 ms debounce (the directory must be quiet that long), compiling the component (the first time each version is seen; later swaps load it from the compile cache) and validating its manifest.\n")
    else:
        w("Not run.\n")

    w("## 5. Scale-out\n")
    if scale:
        w("The `postd-host` binary (this build), one and then two processes on one PostgreSQL database and one Redis, posts round-robin over the processes' APIs and over 64 tenants (the default per-tenant egress ceiling, 100 requests a second shared through Redis, would otherwise bind). The load generator and platform run in the benchmark process on the same two cores.\n")
        w("| processes | posts | in flight | publishes/s | jobs published | attempts | platform posts | jobs not posted exactly once | attempts per process | peak RSS per process MiB |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in scale["rows"]:
            a = r["analysis"]
            workers = ", ".join(f"{k}: {v:,}" for k, v in sorted(a["attempts_by_worker"].items()))
            rss = ", ".join(f"{k / 1024:.0f}" for k in r["rss_peak_kib"])
            w(f"| {r['processes']} | {r['posts']:,} | {r['in_flight']} | {fmt(r['publishes_per_s'])} | {a['published']:,} of {a['jobs']:,} | {a['attempts']:,} | {a['platform_posts']:,} | {a['jobs_not_posted_exactly_once']} | {workers} | {rss} |")
        w("")
    else:
        w("Not run.\n")

    w("## 6. Outbound events\n")
    if events:
        w("In-process, on each database: (a) published outcomes recorded one transaction each (`Store::finish`, the pipeline's default) for a tenant with no event endpoint and for one whose endpoint wants `post.published`, interleaved in halves: the difference is what writing the event in the same transaction costs a publish; (b) the pending deliveries sent by one process's delivery loop (16 in flight, signed, through the egress guard, each attempt recorded) to a receiver on loopback that answers 204 at once.\n")
        w("| backend | finish µs, no endpoint (mean / p99) | finish µs, one endpoint (mean / p99) | added by the event (mean) | deliveries | deliveries/s |\n| --- | --- | --- | --- | --- | --- |")
        for b in events["backends"]:
            f = b["finish_us"]
            w(f"| {b['backend']} | {fmt(f['without_endpoint']['mean'])} / {fmt(f['without_endpoint']['p99'])} | {fmt(f['with_endpoint']['mean'])} / {fmt(f['with_endpoint']['p99'])} | {fmt(f['added_mean'])} µs | {b['deliveries']:,} | {fmt(b['deliveries_per_s'])} |")
        w("")
    else:
        w("Not run.\n")

    w("## 7. Plans at 1,000,000 jobs\n")
    if plans:
        w("PostgreSQL plans of the hot statements (`host/benches/plans.rs`), each prepared as the host issues it and run under `plan_cache_mode = force_generic_plan` with `EXPLAIN (ANALYZE, BUFFERS)` (rolled back), on 1,000,000 jobs held by one tenant and spread over 1,000. *Cached on empty tables*: plans made right after migrating and kept while the tables filled (only the lookups by key are held to their bounds there); *after the refresh*: once the maintenance pass's statistics refresh re-planned them (every statement is held to its bound, and none may scan a large table — posts, jobs, attempts, continuations, dead letters — sequentially). Buffers are shared buffers touched (hit or read).\n")
        dists = plans["distributions"]
        states = [s["state"] for s in dists[0]["states"]]
        head = " | ".join(f"{d['distribution']}, {st}" for st in states for d in dists)
        w(f"| statement | bound | {head} |\n| --- | --- |" + " --- |" * (len(states) * len(dists)))
        for i, row in enumerate(dists[0]["states"][0]["statements"]):
            cells = []
            for k in range(len(states)):
                for d in dists:
                    r = d["states"][k]["statements"][i]
                    mark = "" if r["ok"] else " **over**"
                    seq = f" (seq scan: {', '.join(r['seq_scans'])})" if r["seq_scans"] else ""
                    cells.append(f"{r['buffers']:,} ({r['execution_ms']:.2f} ms){seq}{mark}")
            w(f"| {row['statement']} | {row['bound']:,} | " + " | ".join(cells) + " |")
        w("")
        for d in dists:
            w(f"- {d['distribution']}: filled in {d['fill_s']:.0f} s; the refresh analyzed {', '.join(d['analyzed'])} in {d['analyze_s']:.1f} s.")
        w("")
    else:
        w("Not run.\n")

    w("## 8. A slow plugin beside a fast one\n")
    if slow:
        w(f"The fault suite's case 5 (`host/benches/slow_neighbour.rs`, bench/FAULTS.md): plugin `slow` answers each call in 80 % of its {slow['slow_deadline_ms']} ms deadline with a backlog of queued posts; {slow['fast_posts']:,} posts to plugin `pipeline`, {slow['fast_in_flight']} in flight, alone and beside it. Target: within 20 % of alone.\n")
        w("| backend | alone | beside the slow plugin | ratio | slow plugin meanwhile |\n| --- | --- | --- | --- | --- |")
        for r in slow["backends"]:
            a, b = r["alone"], r["beside_slow"]
            at = a["analysis"]["total"]
            bt = b["analysis"]["total"]
            beside = "starved (no fast post for 60 s)" if b.get("starved") else f"{b['publishes_per_s']:.0f}/s, p50 {bt['p50_ms']:.0f} ms, p99 {bt['p99_ms']:.0f} ms"
            ratio = r.get("throughput_ratio")
            w(f"| {r['backend']} | {a['publishes_per_s']:.0f}/s, p50 {at['p50_ms']:.0f} ms, p99 {at['p99_ms']:.0f} ms | {beside} | {met(ratio is not None and ratio >= 0.8)} {fmt((ratio or 0) * 100, 0)} % | {b['slow_published_meanwhile']} published |")
        w("")
    else:
        w("Not run.\n")

    w("## 9. A Python connector beside the Rust one\n")
    if python:
        w("`host/benches/python.rs`: the example connector in Rust and in Python (componentize-py), each call a fresh instance; what the figures mean: `sdk-python/README.md`.\n")
        w("| plugin | size | load cold / cached | call p50 (p99), on demand / pooled | fuel | smallest memory_mb | 8 overlapping, pool of 8 | idle RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
        for c in python["connectors"]:
            calls = []
            for export in ("manifest", "publish"):
                by = {k["allocation"]: k for k in c["calls"] if k["export"] == export}
                t = lambda a: f"{by[a]['timing']['p50_us']:,.0f} µs ({by[a]['timing']['p99_us']:,.0f})" if a in by else "-"
                calls.append(f"{export}: {t('on-demand')} / {t('pooling')}")
            fuel = ", ".join(f"{k['export']} {k['fuel']:,}" for k in c["calls"] if k["allocation"] == "on-demand")
            w(f"| {c['plugin']} | {c['component_bytes']:,} B | {c['load_cold_ms']:,.0f} / {c['load_cached_ms']:,.0f} ms | {'; '.join(calls)} | {fuel} | {c['smallest_memory_mb']} | {c['pool_of_8_overlapping_ok']} ok | {c['idle_host_rss_kib']:,} KiB |")
        w("")
    else:
        w("Not run.\n")

    w(faults_section())

    if notes:
        w(notes + "\n")
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), "w") as f:
        f.write("\n".join(out))
    svg(pipe, scale, os.path.join(ROOT, "bench", "throughput.svg"))
    print("wrote bench/RESULTS.md and bench/throughput.svg")


if __name__ == "__main__":
    sys.exit(main())

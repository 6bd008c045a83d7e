#!/usr/bin/env python3
"""The console at scale, measured as an admin meets it: the host binary in its own process on a
SQLite database seeded with 1,000 tenants and 100,000 jobs (plus their posts and 10,000 audit
entries) and serving the repository's plugins.toml (six connectors, `make wasm`), each console
page fetched over HTTP with a signed-in session, 20 times; median and 95th percentile in ms.
Usage: bench/console_scale.py [path/to/postd-host]"""

import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HOST = sys.argv[1] if len(sys.argv) > 1 else "target/debug/postd-host"
ADMIN_KEY = "console-scale-admin-key-0123456789"
TENANTS, JOBS, AUDIT = 1_000, 100_000, 10_000
ROUNDS = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(dir, port):
    env = dict(os.environ, POSTD_DATA_DIR=dir, POSTD_ADMIN_KEY=ADMIN_KEY,
               POSTD_LISTEN=f"127.0.0.1:{port}", POSTD_PLUGINS=os.path.abspath("plugins.toml"),
               POSTD_LOG="error")
    host = subprocess.Popen([HOST, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):
        try:
            answer = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1))
            if answer["ready"]:
                return host
            time.sleep(0.1)
        except Exception:
            time.sleep(0.1)
    host.kill()
    sys.exit("the host did not become ready")


def seed(db):
    now = int(time.time() * 1000)
    c = sqlite3.connect(db)
    c.executemany("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
                  [(f"t{i:04d}", f"Tenant {i}", now - (TENANTS - i) * 1000) for i in range(TENANTS)])
    c.execute("""INSERT INTO connections (tenant_id, id, plugin, external_id, display_name, status,
                 scopes, next_health_at, created_at, updated_at)
                 VALUES ('t0001', 'conn-1', 'example', 'ext', 'Acme Page', 'healthy', '[]', ?, ?, ?)""",
              (now + 3600_000, now, now))
    states = ["published"] * 8 + ["dead", "queued"]
    posts, jobs = [], []
    for i in range(JOBS):
        at = now - (JOBS - i) * 60
        posts.append(("t0001", f"post_{i:012d}", f"k{i}", "0" * 64, at))
        jobs.append(("t0001", f"job_{i:012d}", f"post_{i:012d}", "conn-1",
                     "example" if i % 2 else "other", "acct-1", json.dumps({"text": f"post {i}"}),
                     states[i % len(states)], 1, at, at, at))
    c.executemany("INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, created_at) VALUES (?, ?, ?, ?, ?)", posts)
    c.executemany("""INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content,
                     state, attempts, next_run_at, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", jobs)
    c.executemany("INSERT INTO audit_log (tenant_id, id, at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [(f"t{i % TENANTS:04d}", f"aud_{i:012d}", now - (AUDIT - i) * 1000, "admin",
                    "api-key.created", f"key-{i}", "") for i in range(AUDIT)])
    c.commit()
    c.close()


def main():
    dir = tempfile.mkdtemp(prefix="postd-console-scale-")
    port = free_port()
    host = start(dir, port)  # creates the database
    host.send_signal(signal.SIGTERM)
    host.wait(timeout=60)
    seed(os.path.join(dir, "postd.db"))
    host = start(dir, port)
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/console/sign-in").read().decode()
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    # The session cookie is Secure: a loopback address counts as secure for browsers, not for
    # urllib's jar, so the cookie is carried by hand.
    answer = opener.open(urllib.request.Request(
        f"{base}/console/sign-in",
        data=urllib.parse.urlencode({"key": ADMIN_KEY, "token": token}).encode(),
        headers={"cookie": "; ".join(f"{c.name}={c.value}" for c in jar)}))
    session = None
    for c in jar:
        if c.name == "postd_console":
            session = c.value
    if session is None:
        session = re.search(r"postd_console=([^;]+)", str(answer.headers)).group(1)
    pages = [
        "/console",
        "/console/tenants",
        "/console/tenants?status=active&cursor=" + urllib.parse.quote("0.t0500"),
        "/console/plugins",
        "/console/tenants/t0001",
        "/console/jobs?tenant=t0001",
        "/console/jobs?tenant=t0001&status=dead",
        "/console/jobs?tenant=t0001&plugin=example&since=2000-01-01T00:00",
        "/console/jobs?tenant=t0001&cursor=job_000000050000",
        "/console/dead-letters?tenant=t0001",
        "/console/audit",
        "/console/audit?tenant=t0999",
    ]
    plugins = len(json.load(urllib.request.urlopen(f"{base}/readyz"))["plugins"])
    print(f"host {HOST}; SQLite; {plugins} plugins, {TENANTS} tenants, {JOBS} jobs (one tenant), {AUDIT} audit entries; {ROUNDS} fetches each")
    print(f"{'page':<72} {'median ms':>9} {'p95 ms':>7} {'KiB':>6}")
    try:
        for page in pages:
            times, size = [], 0
            for _ in range(ROUNDS):
                request = urllib.request.Request(base + page, headers={"cookie": f"postd_console={session}"})
                started = time.perf_counter()
                body = urllib.request.urlopen(request).read()
                times.append((time.perf_counter() - started) * 1000)
                size = len(body)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"{page:<72} {statistics.median(times):>9.1f} {p95:>7.1f} {size / 1024:>6.1f}")
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(timeout=60)


if __name__ == "__main__":
    main()

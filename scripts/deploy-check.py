#!/usr/bin/env python3
"""Checks of the deployment artifacts, each by a real validator (`make deploy-check`, run in the
virtualenv of `make deploy-tools`):

  Dockerfile     hadolint, every rule, any finding fails
  compose.yaml   docker compose's own model (`config`): the Compose specification's schema and
                 interpolation, plus a missing secret failing with its message
  Helm chart     Helm's lint (strict) and offline rendering, through the Helm Go SDK
                 (helm-python-sdk), values checked against values.schema.json by Helm; every
                 rendered object against Kubernetes' schemas (kubernetes-validate, strict)
  systemd unit   systemd-analyze verify in a scratch root, systemd-analyze security (offline)
  the drain      each artifact's SIGKILL deadline = shutdown delay + grace + margin

With --host BIN, each artifact's environment and files go through `postd-host config check`, the
host's own parser of its settings and of plugins.toml.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS = pathlib.Path(sys.prefix) / "bin"
CHART = ROOT / "deploy/helm/postd"
UNIT = ROOT / "deploy/systemd/postd-host.service"
# The chart's kubeVersion floor and the newest schemas kubernetes-validate ships.
KUBE_VERSIONS = ["1.25.0", "1.37.0"]
# Seconds between the end of the drain and SIGKILL, in compose.yaml and the systemd unit.
MARGIN = 10
# The worst exposure systemd-analyze security may give the unit, in its tenths (it gave 1.5 when
# written).
EXPOSURE = 20
SECRETS = "POSTD_ADMIN_KEY=compose-check-admin-key\nPOSTGRES_PASSWORD=compose-check\n"

failures = []


def check(ok, what, detail=""):
    print(f"  {'ok' if ok else 'FAILED'}: {what}")
    if not ok:
        failures.append(what)
        if detail:
            print("    " + str(detail).strip().replace("\n", "\n    "))
    return ok


def run(cmd, env=None, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, **kw)


def clean_env(**extra):
    """No POSTD_* or compose variables of the caller's shell leak into a check."""
    return {"PATH": os.environ["PATH"], "HOME": tempfile.gettempdir(), **extra}


def example_default(key):
    match = re.search(rf"^{key} = (\d+)$", (ROOT / "postd.example.toml").read_text(), re.M)
    return int(match.group(1))


def drain(env):
    """Delay and grace as the host would read them from `env`, else its defaults."""
    return (
        int(env.get("POSTD_SHUTDOWN_DELAY_SECS", example_default("shutdown_delay_secs"))),
        int(env.get("POSTD_SHUTDOWN_GRACE_SECS", example_default("shutdown_grace_secs"))),
    )


def connectors():
    line = re.search(r"^CONNECTORS\s*:=(.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    return set(line.split())


# --- Dockerfile -----------------------------------------------------------------------------


def dockerfile():
    print("Dockerfile")
    out = run([TOOLS / "hadolint", "--no-color", ROOT / "Dockerfile"])
    version = run([TOOLS / "hadolint", "--version"]).stdout.strip()
    check(out.returncode == 0 and not out.stdout.strip(), f"hadolint ({version}): no finding", out.stdout + out.stderr)
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages = re.split(r"^FROM ", text, flags=re.M)
    host = stages[-1]
    check(host.split("\n", 1)[0].strip().endswith("AS host"), "the last stage (the default target) is the host")
    env = {}
    for line in re.findall(r"^ENV (.*)$", host, re.M):
        env.update(pair.split("=", 1) for pair in line.split())
    check(env.get("POSTD_LISTEN") == "0.0.0.0:8080" and re.search(r"^EXPOSE 8080$", host, re.M), "listens on 0.0.0.0:8080, exposed")
    check(re.search(r"^USER 10001:10001$", host, re.M) is not None, "runs as uid 10001")
    check('GET /livez' in host and "HEALTHCHECK" in host, "HEALTHCHECK asks /livez")
    check('ENTRYPOINT ["postd-host"]' in host and 'CMD ["run"]' in host, 'ENTRYPOINT ["postd-host"], CMD ["run"]')
    copies = dict(
        (f"/etc/postd/{pathlib.Path(src).name}", ROOT / src)
        for src in re.search(r"^COPY (deploy/docker/\S+ deploy/docker/\S+) /etc/postd/$", host, re.M).group(1).split()
    )
    return env, copies


# --- compose.yaml ---------------------------------------------------------------------------


def compose(args, secrets):
    binary = pathlib.Path(__import__("compose").__file__).parent / "docker-compose"
    with tempfile.NamedTemporaryFile("w", suffix=".env") as env_file:
        env_file.write(secrets)
        env_file.flush()
        cmd = [binary, "--project-directory", ROOT, "-f", ROOT / "compose.yaml", "--env-file", env_file.name, *args]
        return run(cmd, env=clean_env()), run([binary, "version", "--short"], env=clean_env()).stdout.strip()


def compose_file():
    print("compose.yaml")
    out, version = compose(["config", "--format", "json"], SECRETS)
    if not check(out.returncode == 0, f"docker compose {version} config: valid", out.stderr):
        return None
    model = json.loads(out.stdout)
    services = model["services"]
    check(set(services) == {"host-a", "host-b", "postgres", "redis", "sandbox"}, "services host-a, host-b, postgres, redis, sandbox", sorted(services))
    for name in ("postgres", "redis"):
        check("healthcheck" in services[name], f"{name} has a health check")
    for name in ("host-a", "host-b"):
        service = services[name]
        needs = {"postgres", "redis", "sandbox"} | ({"host-a"} if name == "host-b" else set())
        conditions = {dep: v["condition"] for dep, v in service.get("depends_on", {}).items()}
        check(conditions == {dep: "service_healthy" for dep in needs}, f"{name} waits for {', '.join(sorted(needs))} to be healthy", conditions)
        check(service.get("read_only") is True, f"{name}: read-only root filesystem")
        delay, grace = drain(service["environment"])
        stop = service.get("stop_grace_period", "10s")
        check(stop == f"{delay + grace + MARGIN}s", f"{name}: stop_grace_period {stop} = delay {delay} + grace {grace} + {MARGIN}")
    missing, _ = compose(["config", "--quiet"], "POSTGRES_PASSWORD=x\n")
    check(missing.returncode != 0 and "POSTD_ADMIN_KEY" in missing.stderr, "without POSTD_ADMIN_KEY it refuses to start, naming it", missing.stderr)
    return model


# --- Helm chart -----------------------------------------------------------------------------


def render(values):
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name="postd", namespace="postd")
    return [doc for path, text in sorted(rendered.items()) if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


def chart():
    print(f"Helm chart (Helm SDK {helm.helm_sdk_version()}, kubernetes-validate {kubernetes_validate.version.__version__})")
    cases = {}
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        name = path.name
        values = yaml.safe_load(path.read_text())
        report = helm.lint(CHART, values=values, strict=True)
        findings = [m for m in report["messages"] if m["severity"] >= 2] + report.get("errors", [])
        check(not findings, f"{name}: helm lint --strict", findings)
        try:
            docs = render(values)
        except helm.HelmError as error:
            check(False, f"{name}: renders", error)
            continue
        kinds = sorted(doc["kind"] for doc in docs)
        before = len(failures)
        for doc in docs:
            if doc["kind"] == "ServiceMonitor":
                continue  # a CRD: no schema in kubernetes-validate; its facts are checked below
            for version in KUBE_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except Exception as error:  # ValidationError, SchemaNotFoundError, ...
                    check(False, f"{name}: {doc['kind']} against Kubernetes {version}", error)
        check(len(failures) == before, f"{name}: {', '.join(kinds)} valid against Kubernetes {' and '.join(KUBE_VERSIONS)} (strict)")
        chart_facts(name, values, docs)
        cases[name] = (values, docs)
    try:
        render({})
        check(False, "default values without databaseUrl and vaultKey are refused")
    except helm.HelmError as error:
        check("databaseUrl is required" in str(error), "default values without databaseUrl and vaultKey are refused, naming them", error)
    bad = dict(yaml.safe_load((CHART / "ci/minimal-values.yaml").read_text()), vaultKey="short")
    try:
        render(bad)
        check(False, "values.schema.json refuses a vault key that is not 64 hex characters")
    except helm.HelmError as error:
        check("vaultKey" in str(error), "values.schema.json refuses a vault key that is not 64 hex characters", error)
    return cases


def chart_facts(name, values, docs):
    merged = yaml.safe_load((CHART / "values.yaml").read_text())
    merged.update(values)
    shutdown = {**yaml.safe_load((CHART / "values.yaml").read_text())["shutdown"], **values.get("shutdown", {})}
    by_kind = {doc["kind"]: doc for doc in docs}
    deployment = by_kind["Deployment"]["spec"]
    pod = deployment["template"]["spec"]
    host = next(c for c in pod["containers"] if c["name"] == "postd-host")
    env = {e["name"]: e.get("value") for e in host["env"]}
    delay, grace = int(env["POSTD_SHUTDOWN_DELAY_SECS"]), int(env["POSTD_SHUTDOWN_GRACE_SECS"])
    check(
        (delay, grace) == (shutdown["delaySecs"], shutdown["graceSecs"])
        and pod["terminationGracePeriodSeconds"] == delay + grace + shutdown["marginSecs"],
        f"{name}: terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} = delay {delay} + grace {grace} + margin {shutdown['marginSecs']}, "
        "the same delay and grace in the host's environment",
    )
    check(deployment["replicas"] == merged.get("replicaCount", 2), f"{name}: {deployment['replicas']} replicas")
    probes = (host["livenessProbe"]["httpGet"]["path"], host["readinessProbe"]["httpGet"]["path"])
    check(probes == ("/livez", "/readyz"), f"{name}: liveness /livez, readiness /readyz")
    check(
        pod["securityContext"].get("runAsNonRoot") is True
        and all(c["securityContext"].get("readOnlyRootFilesystem") for c in pod["containers"] + pod["initContainers"]),
        f"{name}: non-root, read-only root filesystem",
    )
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    check({"data", "cache", "tmp"} <= empty, f"{name}: data, cache and /tmp on emptyDir")
    check("PodDisruptionBudget" in by_kind and "Service" in by_kind, f"{name}: Service and PodDisruptionBudget")
    monitor = by_kind.get("ServiceMonitor")
    wanted = merged.get("serviceMonitor", {}).get("enabled", False)
    if wanted:
        port = by_kind["Service"]["spec"]["ports"][0]["name"]
        endpoint = (monitor or {}).get("spec", {}).get("endpoints", [{}])[0]
        check(endpoint.get("port") == port and endpoint.get("path") == "/metrics", f"{name}: ServiceMonitor scrapes /metrics on port {port}")
    else:
        check(monitor is None, f"{name}: no ServiceMonitor unless enabled")


# --- systemd unit ---------------------------------------------------------------------------


def unit_settings():
    text = UNIT.read_text()
    values = {}
    for key, value in re.findall(r"^(\w+)=(.*)$", text, re.M):
        values.setdefault(key, []).append(value)
    env = dict(v.split("=", 1) for v in values.get("Environment", []))
    return values, env


def systemd():
    print("systemd unit")
    analyze = shutil.which("systemd-analyze")
    version = run([analyze, "--version"]).stdout.split("\n")[0]
    values, env = unit_settings()
    with tempfile.TemporaryDirectory() as root:
        root = pathlib.Path(root)
        # A scratch root: the machine's own units (targets the unit refers to), this unit, and a
        # stand-in for the binary, whose path verify checks.
        shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
        (root / "etc/systemd/system").mkdir(parents=True)
        shutil.copy(UNIT, root / "etc/systemd/system")
        binary = root / values["ExecStart"][0].split()[0].lstrip("/")
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
        out = run([analyze, "verify", f"--root={root}", UNIT.name])
        check(out.returncode == 0 and not (out.stdout + out.stderr).strip(), f"{version}: systemd-analyze verify, no warning", out.stdout + out.stderr)
        out = run([analyze, "security", "--offline=yes", f"--root={root}", f"--threshold={EXPOSURE}", "--no-pager", UNIT.name])
        level = re.search(r"Overall exposure level for \S+: ([\d.]+)", out.stdout)
        check(out.returncode == 0 and level, f"systemd-analyze security: exposure {level.group(1) if level else '?'} (at most {EXPOSURE / 10})", out.stdout[-2000:] + out.stderr)
    notify = run(["grep", "-rlE", "NOTIFY_SOCKET|sd_notify", ROOT / "host/src"]).stdout.strip()
    check(values["Type"] == ["simple"] and not notify, "Type=simple: the host does not speak sd_notify", notify)
    delay, grace = drain(env)
    stop = int(values["TimeoutStopSec"][0])
    check(stop == delay + grace + MARGIN, f"TimeoutStopSec {stop} = delay {delay} + grace {grace} + {MARGIN}")
    check(values["KillSignal"] == ["SIGTERM"] and values["ExecStart"][0].endswith(" run"), "KillSignal=SIGTERM, ExecStart ... run")
    return env


# --- postd-host config check ----------------------------------------------------------------


def config_check(host, name, env, files, plugins):
    """`postd-host config check` with `env`, container paths mapped to local `files`."""
    env = {k: str(files.get(v, v)) if v is not None else "" for k, v in env.items()}
    out = run([host, "config", "check"], env=clean_env(**env))
    listed = re.findall(r"^  (\S+) \(component (\S+), (\S+)\)$", out.stdout, re.M)
    ok = out.returncode == 0 and len(listed) == plugins
    problems = "\n".join(re.findall(r"^  problem: .*$", out.stdout, re.M))
    check(ok, f"{name}: postd-host config check accepts its settings and plugin file ({len(listed)} of {plugins} plugins)", problems or out.stdout + out.stderr)
    shipped = {f"/usr/lib/postd/plugins/{c}.wasm" for c in connectors()}
    stray = [path for _, _, path in listed if path not in shipped]
    check(not stray, f"{name}: every plugin runs a component the image ships", stray)


def host_checks(host, image, compose_model, cases, unit_env):
    print(f"postd-host config check ({host})")
    image_env, image_files = image
    config_check(host, "image defaults", image_env, image_files, 0)
    if compose_model:
        for name in ("host-a", "host-b"):
            service = compose_model["services"][name]
            binds = {v["target"]: v["source"] for v in service["volumes"] if v["type"] == "bind"}
            config_check(host, f"compose {name}", {**image_env, **service["environment"]}, {**image_files, **binds}, 5)
    with tempfile.TemporaryDirectory() as scratch:
        for name, (values, docs) in cases.items():
            configmap = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
            files = {}
            for key, text in configmap.items():
                files[f"/etc/postd/{key}"] = pathlib.Path(scratch) / f"{name}-{key}"
                files[f"/etc/postd/{key}"].write_text(text)
            container = next(c for c in next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"])
            # Secret references take the values' secrets, or stand-ins for an existing Secret.
            secrets = {
                "database-url": values.get("databaseUrl", "postgres://postd:x@postgres/postd"),
                "admin-key": values.get("adminKey", "an-admin-key-of-the-secret"),
                "redis-url": values.get("redisUrl", "redis://redis:6379"),
            }
            env = {}
            for entry in container["env"]:
                source = entry.get("valueFrom", {})
                if "secretKeyRef" in source:
                    env[entry["name"]] = secrets.get(source["secretKeyRef"]["key"], "stand-in")
                elif "fieldRef" in source:
                    env[entry["name"]] = "postd-0123456789-abcde"
                else:
                    env[entry["name"]] = entry["value"]
            config_check(host, f"chart {name}", env, files, 0)
    # The unit's files: postd.example.toml as /etc/postd/postd.toml (README install steps), the
    # image's empty plugin file as /etc/postd/plugins.toml.
    unit_files = {"/etc/postd/postd.toml": ROOT / "postd.example.toml", "/etc/postd/plugins.toml": ROOT / "deploy/docker/plugins.toml"}
    config_check(host, "systemd unit", unit_env, unit_files, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", help="a postd-host binary: also run `config check` on each artifact's settings")
    args = parser.parse_args()
    image = dockerfile()
    compose_model = compose_file()
    cases = chart()
    unit_env = systemd()
    if args.host:
        host_checks(args.host, image, compose_model, cases, unit_env)
    if failures:
        print(f"deploy check: {len(failures)} failed:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print("deploy check: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

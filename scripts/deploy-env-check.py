#!/usr/bin/env python3
"""Every POSTD_* variable the deployment artifacts name must be a setting of the host.

The settings are the variables postd.example.toml names (generated from the host's settings
table, POSTD_CONFIG and POSTD_ADMIN_KEY included), plus POSTD_LOG, the log filter that
`postd-host --help` documents. Plugin files are not scanned: the variables their `env = "..."`
entries name are app secrets of the operator's choosing, not settings. Used by `make deploy-check`;
exits 1 naming each unknown variable and where it is.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"POSTD_[A-Z0-9_]+")
# Documented by `postd-host --help` (host/src/main.rs), not a key of postd.toml.
EXTRA = {"POSTD_LOG": ("host/src/main.rs", '"POSTD_LOG"')}
# Each artifact (a file or every file under a folder) must name at least one variable, so a
# moved or emptied artifact fails here instead of passing with nothing checked.
ARTIFACTS = [
    "Dockerfile",
    "compose.yaml",
    "deploy/compose/env.example",
    "deploy/docker/postd.toml",
    "deploy/helm/postd",
    "deploy/systemd/postd-host.service",
]


def known_variables(errors):
    known = set(VARIABLE.findall((ROOT / "postd.example.toml").read_text()))
    if len(known) < 10:
        errors.append(f"postd.example.toml names only {len(known)} POSTD_* variables; is it the settings reference?")
    for name, (path, needle) in EXTRA.items():
        if needle in (ROOT / path).read_text():
            known.add(name)
        else:
            errors.append(f"{name} is no longer read in {path}: take it out of EXTRA in {__file__}")
    return known


def files_of(artifact):
    path = ROOT / artifact
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path] if path.is_file() else []


def main():
    errors = []
    known = known_variables(errors)
    named = set()
    for artifact in ARTIFACTS:
        files = files_of(artifact)
        if not files:
            errors.append(f"{artifact}: missing")
            continue
        found = 0
        for path in files:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for name in VARIABLE.findall(line):
                    found += 1
                    named.add(name)
                    if name not in known:
                        errors.append(
                            f"{path.relative_to(ROOT)}:{number}: {name} is not a setting of the host "
                            "(not in postd.example.toml, nor POSTD_LOG)"
                        )
        if found == 0:
            errors.append(f"{artifact}: names no POSTD_* variable; the check would see nothing")
    if errors:
        print("deploy env check failed:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    print(f"deploy env check: {len(named)} POSTD_* variables named in {len(ARTIFACTS)} artifacts, each a setting of the host")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs every `sh` block of docs/connectors.md, in order and as written, in one bash shell
started in an empty folder: the partner guide's promise that each of its commands works.

The shell gets the checkout's target/debug on PATH (postd-host, postd-sandbox), POSTD_CHECKOUT
(the checkout, which the guide's `postd-host new --checkout` names) and CARGO_TARGET_DIR (this
checkout's target folder, so the guide's crate reuses what the suite compiled; the guide reads
it as a reader who sets one would). Background processes the guide starts are stopped at the
end, whatever happened. Ports 8080 and 7700 must be free: the guide uses the defaults.

Usage: scripts/guide-check.py [docs/connectors.md]
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTS = (8080, 7700)


def blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh fenced blocks, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", markdown, flags=re.S | re.M)


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    guide = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/connectors.md"
    found = blocks(guide.read_text())
    if not found:
        print(f"guide-check: no sh blocks in {guide}", file=sys.stderr)
        return 1
    for tool in ("postd-host", "postd-sandbox"):
        if not (ROOT / "target/debug" / tool).exists():
            print(f"guide-check: target/debug/{tool} is missing: run `make build` first", file=sys.stderr)
            return 1
    taken = [p for p in PORTS if port_taken(p)]
    if taken:
        print(f"guide-check: ports {taken} are taken; the guide uses 127.0.0.1:8080 and :7700", file=sys.stderr)
        return 1
    # Each block is echoed before it runs, so a failure points at its block.
    script = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT"]
    for number, body in enumerate(found, 1):
        script.append(f"echo '--- guide block {number} of {len(found)}'")
        script.append(body)
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / 'target/debug'}:{env.get('PATH', '')}"
    env["POSTD_CHECKOUT"] = str(ROOT)
    env["CARGO_TARGET_DIR"] = str(ROOT / "target")
    env.setdefault("POSTD_LOG", "warn")
    with tempfile.TemporaryDirectory(prefix="postd-guide-") as work:
        run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env)
        if run.returncode != 0:
            for log in Path(work).rglob("*.log"):
                print(f"--- {log.relative_to(work)} (last lines)", file=sys.stderr)
                print("\n".join(log.read_text(errors="replace").splitlines()[-20:]), file=sys.stderr)
    verdict = "passed" if run.returncode == 0 else "failed"
    print(f"guide-check: {len(found)} blocks of {guide.name} {verdict}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())

"""Image sizes and container start-to-ready times, for the README and issue #7's goals.

Builds (or reuses) the images with scripts/build-images.sh, then for each decoy whose module
exists starts the container hardened, as the tests do, and times ``docker run`` until /readyz on
the metrics port answers 200. Prints one line per decoy and a JSON summary.

    .venv/bin/python bench/images.py [--runs 5] [DECOY ...]

Goals: <= 80 MB (portscan, mysql) and <= 120 MB (web, ssh) uncompressed; ready within 2 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DECOYS = ("portscan", "web", "mysql", "ssh")
BUDGET_MB = {"portscan": 80, "mysql": 80, "web": 120, "ssh": 120}
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
READY_TIMEOUT = 30.0


def build(decoys: list[str]) -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-images.sh"), *decoys],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
    ).stdout
    return dict(line.split() for line in out.splitlines())


def size_mb(image: str) -> float:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out) / 1e6


def start_to_ready(image: str) -> float:
    """Seconds from `docker run` to the first 200 from /readyz."""
    start = time.monotonic()
    container = subprocess.run(
        ["docker", "run", "--detach", *HARDENED, "--user", "65532",
         "--publish", "127.0.0.1::9478", image],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        port = subprocess.run(
            ["docker", "port", container, "9478/tcp"], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        url = f"http://{port}/readyz"
        while time.monotonic() - start < READY_TIMEOUT:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.01)
        raise RuntimeError(f"{image} not ready within {READY_TIMEOUT}s")
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("decoys", nargs="*", default=list(DECOYS))
    args = parser.parse_args()
    images = build(args.decoys)
    summary = {}
    for decoy in args.decoys:
        size = size_mb(images[decoy])
        entry: dict[str, object] = {"image": images[decoy], "size_mb": round(size, 1)}
        if importlib.util.find_spec(f"honeypods.{decoy}") is not None:
            times = [start_to_ready(images[decoy]) for _ in range(args.runs)]
            entry["ready_s_median"] = round(statistics.median(times), 2)
            entry["ready_s_max"] = round(max(times), 2)
        summary[decoy] = entry
        ready = (
            f"ready median {entry['ready_s_median']} s, max {entry['ready_s_max']} s"
            if "ready_s_median" in entry
            else "no module in this checkout: not started"
        )
        print(f"{decoy:9} {size:6.1f} MB (budget {BUDGET_MB[decoy]} MB)  {ready}")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

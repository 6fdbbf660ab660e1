"""Every benchmark, one after the other: ``make bench`` (``--quick`` for a short pass).

Each script starts the decoy through the real runner, pinned to one CPU, with logging on, and
prints its own table; compare.py then loads our decoys and the peers (OpenCanary, Cowrie,
installed from PyPI into a throwaway venv) the same way, side by side.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    args = parser.parse_args()
    seconds = "3" if args.quick else "10"
    runs = [
        ["portscan.py", "--duration", seconds],
        ["web.py", "--duration", seconds],
        ["mysql.py", "--duration", seconds],
        ["ssh.py", "--duration", seconds],
        ["enricher.py", "--duration", seconds],
        ["compare.py", "--duration", seconds if args.quick else "20"],
    ]
    failed = []
    for script, *rest in runs:
        path = HERE / script
        if not path.exists():
            continue
        print(f"\n## {script} {' '.join(rest)}", flush=True)
        if subprocess.run([sys.executable, str(path), *rest], check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

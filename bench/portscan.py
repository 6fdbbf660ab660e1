"""Port-scan decoy benchmark: connections/s accepted and logged, idle RSS, RSS with 10,000 held.

Run: ``.venv/bin/python bench/portscan.py [--duration 10] [--hold 10000]``

Issue targets: >= 5,000 connections/s accepted and logged by one decoy process on one core with
zero events lost; idle RSS <= 40 MiB; RSS bounded while 10,000 connections are held open.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import (
    Decoy,
    bare_connect,
    cpu_seconds,
    free_port,
    pin_self,
    raise_nofile,
    rss_mib,
    run_load,
    settle,
    table,
)


def hold(port: int, n: int) -> list[socket.socket]:
    held = []
    for _ in range(n):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        held.append(s)
    return held


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--hold", type=int, default=10000)
    args = parser.parse_args()
    raise_nofile()
    pin_self(1)
    port = free_port()
    decoy = Decoy(
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": str(port),
            # One source (this machine) makes every connection here: lift the per-source cap.
            "HONEYPODS_MAX_PER_SOURCE": "20000",
            "HONEYPODS_MAX_CONNECTIONS": "20000",
            "HONEYPODS_IDLE_TIMEOUT": "300",
            "HONEYPODS_PORTSCAN_DEADLINE": "600",
        },
    )
    decoy.start(cpu=0)
    time.sleep(2)
    idle_rss, _ = rss_mib(decoy.pid)
    cpu0 = cpu_seconds(decoy.pid)
    result = asyncio.run(
        run_load(
            lambda: bare_connect("127.0.0.1", port),
            concurrency=args.concurrency,
            duration=args.duration,
        )
    )
    counts = settle(decoy, result.done)
    cpu = cpu_seconds(decoy.pid) - cpu0
    load_rss, load_hwm = rss_mib(decoy.pid)
    lost = result.done - counts["session.closed"]
    before_hold = counts["session.closed"]

    t0 = time.monotonic()
    held = hold(port, args.hold)
    settle(decoy, before_hold + args.hold, "session.connect")
    hold_secs = time.monotonic() - t0
    held_rss, _held_hwm = rss_mib(decoy.pid)
    for s in held:
        s.close()
    counts = settle(decoy, before_hold + args.hold)
    after_rss, _ = rss_mib(decoy.pid)
    code = decoy.stop()
    final = decoy.actions()
    accounted = final["session.connect"] == final["session.closed"]

    print(
        f"portscan decoy, one process pinned to CPU 0, load generator on CPU 1, {args.duration:.0f} s"
    )
    print(
        table(
            [
                ("connections/s (connect+close, c=50)", f"{result.rate:,.0f}"),
                ("p50 / p99 latency ms", f"{result.pct(0.5):.1f} / {result.pct(0.99):.1f}"),
                ("completed / failed", f"{result.done} / {result.failed}"),
                ("decoy CPU s during load", f"{cpu:.1f}"),
                ("events lost (completed - session.closed)", str(lost)),
                ("idle RSS MiB", f"{idle_rss:.1f}"),
                ("RSS after load MiB (VmHWM)", f"{load_rss:.1f} ({load_hwm:.1f})"),
                (
                    f"RSS with {args.hold} held open MiB",
                    f"{held_rss:.1f} (opened in {hold_secs:.1f} s)",
                ),
                ("RSS after they closed MiB", f"{after_rss:.1f}"),
                ("exit code on SIGTERM", str(code)),
                ("every connect has a close", str(accounted)),
            ],
            ("measure", "value"),
        )
    )
    return 0 if lost == 0 and accounted and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

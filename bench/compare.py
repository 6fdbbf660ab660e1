"""Our decoys against peer honeypots, side by side, in one run on this machine.

Run: ``.venv/bin/python bench/compare.py [--duration 5] [--out results.json]`` (``--duration 20`` for
the full table). For each service kind (http, ssh, mysql) it runs the same load, one target after
the other, against our decoy (``python -m honeypods run <decoy>``, events on stdout into a file)
and against each peer from PyPI (bench/peers.py: OpenCanary for all three, Cowrie for SSH). A decoy
whose module is not in the package yet is skipped with a note.

Method, as the peers were measured for the README: every target is
one process pinned to CPU 0, the asyncio load generator is pinned to CPU 1; one connection per
operation. "hello" is the protocol's first exchange (HTTP ``GET /``, read the SSH version line and
send a client version, read the MySQL greeting); "bare" is connect and close, as a connect() scan.

Columns:
- conn/s: hello operations completed per second at concurrency 50 for ``--duration`` seconds.
- events/conn: per-connection events the target logged during that load, per connection attempted.
- logged bare, logged hello: of ``--n`` sequential connections, how many left at least one event
  carrying their source port in the log, out of the distinct source ports they used (the kernel
  can reuse a port within a batch, and an event cannot tell two connections from one port apart).
- CPU ms/conn: the target's user+system CPU during the load per completed operation; it moves less
  than conn/s when other work shares the machine.
- idle RSS: VmRSS 2 s after the target started listening; peak RSS: VmHWM after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).parent))

from common import (
    HELLO,
    Decoy,
    bare_connect,
    cpu_seconds,
    free_port,
    pin_self,
    quiet,
    raise_nofile,
    rss_mib,
    run_load,
    sequential,
    table,
)
from honeypods.core import registry
from peers import PEERS, Peer, default_dir

# Our decoy for each service kind.
OURS = {"http": "web", "ssh": "ssh", "mysql": "mysql"}
# Settings lifted for the load, set only if the decoy has them: sshd's MaxStartups drops
# unauthenticated connections past 10 at once, the peers have no such cap, and the load keeps 50 in
# flight from one source.
TUNING = {"ssh": {"max_startups": "1000"}}


class Target(Protocol):
    @property
    def name(self) -> str: ...

    host: str
    port: int
    log: Path

    @property
    def pid(self) -> int: ...

    def start(self, cpu: int = 0) -> None: ...

    def stop(self) -> int: ...

    def cleanup(self) -> None: ...

    def event_ports(self) -> list[int]: ...


class Ours:
    """One of our decoys through the real runner, with its events on stdout into ``log``."""

    host = "127.0.0.1"

    def __init__(self, decoy: str, kind: str) -> None:
        self.name = f"honeypods-{decoy}"
        self.port = free_port()
        env = {
            f"HONEYPODS_{decoy.upper()}_PORT": str(self.port),
            # One source (this machine) makes every connection here: lift the per-source cap.
            "HONEYPODS_MAX_PER_SOURCE": "20000",
            "HONEYPODS_MAX_CONNECTIONS": "20000",
        }
        if decoy == "web":
            env["HONEYPODS_WEB_TLS_PORT"] = str(free_port())
        known = {f.name for f in dataclasses.fields(registry.get(decoy).config)}
        for name, value in TUNING.get(decoy, {}).items():
            if name in known:
                env[f"HONEYPODS_{decoy.upper()}_{name.upper()}"] = value
        self.decoy = Decoy([decoy], env)
        self.log = self.decoy.log

    @property
    def pid(self) -> int:
        return self.decoy.pid

    def start(self, cpu: int = 0) -> None:
        self.decoy.start(cpu=cpu)

    def stop(self) -> int:
        if self.decoy.proc is None:
            return -1
        return self.decoy.stop()

    def cleanup(self) -> None:
        self.log.unlink(missing_ok=True)

    def event_ports(self) -> list[int]:
        ports = []
        with self.log.open(errors="replace") as f:
            for line in f:
                port = json.loads(line).get("source", {}).get("port")
                if port is not None:
                    ports.append(int(port))
        return ports


@dataclass
class Row:
    kind: str
    target: str
    conn_per_s: float
    completed: int
    failed: int
    p50_ms: float
    p99_ms: float
    events_per_conn: float
    cpu_ms_per_conn: float
    logged_bare: int
    made_bare: int
    logged_hello: int
    made_hello: int
    idle_rss_mib: float
    peak_rss_mib: float
    exit_code: int


def logged(target: Target, operation: Callable[[], Awaitable[int]], n: int) -> tuple[int, int]:
    """Of ``n`` sequential connections, (how many left an event with their source port, how many
    distinct source ports they had): the kernel may hand out one port twice in a batch."""
    before = len(target.event_ports())
    made = set(asyncio.run(sequential(operation, n)))
    quiet(target.log)
    seen = made & set(target.event_ports()[before:])
    if seen != made:
        # A busy machine can stall the target longer than quiet()'s window: look once more.
        quiet(target.log, still=5)
        seen = made & set(target.event_ports()[before:])
    return len(seen), len(made)


def measure(target: Target, kind: str, args: argparse.Namespace) -> Row:
    try:
        target.start(cpu=0)
        time.sleep(2)
        idle, _ = rss_mib(target.pid)
        hello = HELLO[kind]
        host, port = target.host, target.port
        bare = logged(target, lambda: bare_connect(host, port), args.n)
        greeted = logged(target, lambda: hello(host, port), args.n)
        before = len(target.event_ports())
        cpu0 = cpu_seconds(target.pid)
        result = asyncio.run(
            run_load(
                lambda: hello(host, port), concurrency=args.concurrency, duration=args.duration
            )
        )
        quiet(target.log)
        cpu = cpu_seconds(target.pid) - cpu0
        events = len(target.event_ports()) - before
        _, peak = rss_mib(target.pid)
    finally:
        code = target.stop()
        target.cleanup()
    return Row(
        kind=kind,
        target=target.name,
        conn_per_s=round(result.rate, 1),
        completed=result.done,
        failed=result.failed,
        p50_ms=round(result.pct(0.5), 1),
        p99_ms=round(result.pct(0.99), 1),
        events_per_conn=round(events / max(result.done + result.failed, 1), 2),
        cpu_ms_per_conn=round(1000 * cpu / max(result.done, 1), 3),
        logged_bare=bare[0],
        made_bare=bare[1],
        logged_hello=greeted[0],
        made_hello=greeted[1],
        idle_rss_mib=round(idle, 1),
        peak_rss_mib=round(peak, 1),
        exit_code=code,
    )


def targets(kind: str, args: argparse.Namespace) -> list[Target]:
    out: list[Target] = []
    decoy = OURS[kind]
    if importlib.util.find_spec(f"honeypods.{decoy}") is None:
        print(f"note: honeypods.{decoy} is not in the package yet; {kind} runs peers only")
    elif not args.peers_only:
        out.append(Ours(decoy, kind))
    out += [
        Peer(product, kind, root=args.peers_dir, opt_in=not args.peer_defaults)
        for product in PEERS[kind]
    ]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per target")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--n", type=int, default=200, help="sequential connections per log check")
    parser.add_argument("--kinds", nargs="+", choices=list(OURS), default=list(OURS))
    parser.add_argument("--peers-dir", type=Path, default=default_dir())
    parser.add_argument("--peers-only", action="store_true", help="skip our decoys")
    parser.add_argument(
        "--peer-defaults", action="store_true", help="leave OpenCanary's opt-in logging off"
    )
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    raise_nofile()
    pin_self(1)
    load_before = os.getloadavg()
    rows: list[Row] = []
    for kind in args.kinds:
        for target in targets(kind, args):
            print(f"{kind}: {target.name} ...", flush=True)
            try:
                rows.append(measure(target, kind, args))
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                print(f"note: {target.name} skipped: {exc}")
    load_after = os.getloadavg()

    print(
        f"\n{args.duration:.0f} s of load per target at concurrency {args.concurrency}; "
        f"targets on CPU 0, load generator on CPU 1; load average before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f}"
    )
    print(
        table(
            [
                (
                    r.kind,
                    r.target,
                    f"{r.conn_per_s:,.0f}",
                    f"{r.events_per_conn:.2f}",
                    f"{r.cpu_ms_per_conn:.2f}",
                    f"{r.logged_bare}/{r.made_bare}",
                    f"{r.logged_hello}/{r.made_hello}",
                    f"{r.idle_rss_mib:.1f}",
                    f"{r.peak_rss_mib:.1f}",
                    f"{r.p50_ms:.1f} / {r.p99_ms:.1f}",
                    str(r.failed),
                )
                for r in rows
            ],
            (
                "kind",
                "target",
                "conn/s",
                "events/conn",
                "CPU ms/conn",
                "logged bare",
                "logged hello",
                "idle RSS MiB",
                "peak RSS MiB",
                "p50 / p99 ms",
                "failed",
            ),
        )
    )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "duration": args.duration,
                    "concurrency": args.concurrency,
                    "n": args.n,
                    "opencanary_opt_in_logging": not args.peer_defaults,
                    "loadavg_before": load_before,
                    "loadavg_after": load_after,
                    "cpus": os.cpu_count(),
                    "rows": [asdict(r) for r in rows],
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

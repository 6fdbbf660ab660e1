"""Benchmark the SSH lure through the real runner process (``python -m honeypods run ssh``).

Measures, against a fresh process whose event stream goes to a file:

1. idle RSS after start;
2. banner exchanges per second: connect, read the identification string, send a client version,
   close, at a fixed concurrency (the peers' figure: OpenCanary 3,504/s, Cowrie 2,241/s);
3. sessions per second through key exchange and one failed password (asyncssh client);
4. RSS while N unauthenticated sessions are held open mid key exchange, and after they close.

Usage: ``python bench/ssh.py [--duration 10] [--concurrency 50] [--held 2000] [--out DIR]
[--persona NAME]``.
Every loop is bounded in count and time; traffic goes to loopback only. The machine is shared:
the load average is printed with the figures, and the decoy's CPU time per operation, which
depends less on the neighbours than the rates do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

sys.path.insert(0, str(Path(__file__).parent))

# common also sets the load generator's event loop (uvloop), as for every benchmark.
from common import cpu_seconds, free_port, rss_mib

CLIENT_VERSION = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n"


class BannerClient(asyncio.Protocol):
    """Reads the banner line, sends a version, closes; sets ``done`` either way."""

    def __init__(self, done: asyncio.Future[bool]) -> None:
        self.done = done
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\n" in self.buf and self.transport is not None and not self.done.done():
            self.transport.write(CLIENT_VERSION)
            self.transport.close()
            self.done.set_result(self.buf.startswith(b"SSH-2.0-OpenSSH_"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(False)


async def banner_rate(port: int, concurrency: int, duration: float) -> tuple[int, int]:
    loop = asyncio.get_running_loop()
    ok = failed = 0
    stop = time.monotonic() + duration

    async def worker() -> None:
        nonlocal ok, failed
        while time.monotonic() < stop:
            done: asyncio.Future[bool] = loop.create_future()
            try:
                await loop.create_connection(
                    lambda done=done: BannerClient(done),
                    "127.0.0.1",
                    port,
                )
                good = await asyncio.wait_for(done, 10)
            except (OSError, TimeoutError):
                good = False
            if good:
                ok += 1
            else:
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, failed


async def auth_rate(port: int, concurrency: int, duration: float) -> tuple[int, int]:
    ok = failed = 0
    stop = time.monotonic() + duration

    async def worker() -> None:
        nonlocal ok, failed
        while time.monotonic() < stop:
            try:
                conn = await asyncssh.connect(
                    "127.0.0.1", port, username="root", password="wrong", known_hosts=None,  # noqa: S106 - the bench's wrong password
                    client_keys=None, agent_path=None, connect_timeout=20,
                )  # fmt: skip
                conn.close()
                failed += 1
            except asyncssh.PermissionDenied:
                ok += 1
            except (OSError, asyncssh.Error, TimeoutError):
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, failed


async def hold(port: int, count: int, pid: int) -> tuple[int, float]:
    writers = []
    for i in range(count):
        # Spread sources over 127.0.0.0/8 so the per-source cap does not bind.
        source = f"127.0.{1 + i // 250}.{1 + i % 250}"
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            writer.write(CLIENT_VERSION)
            writers.append((reader, writer))
        except OSError:
            break
    await asyncio.sleep(3)
    held = rss_mib(pid)[0]
    for _reader, writer in writers:
        writer.close()
    return len(writers), held


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--auth-concurrency", type=int, default=10)
    parser.add_argument("--held", type=int, default=2000)
    parser.add_argument("--out", default="")
    parser.add_argument(
        "--persona", default="openssh-8.4p1-debian11", help="HONEYPODS_SSH_PERSONA to measure"
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="bench-ssh-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")}
    env.update(
        HONEYPODS_SSH_PORT=str(port),
        HONEYPODS_SSH_PERSONA=args.persona,
        HONEYPODS_METRICS_PORT=str(free_port()),
        HONEYPODS_SUMMARY_INTERVAL="0",
        # Throughput, not sshd's shedding or PAM's delay, is what is measured here.
        HONEYPODS_SSH_MAX_STARTUPS="100000",
        HONEYPODS_SSH_PASSWORD_FAIL_DELAY="0",  # noqa: S106 - a delay, not a password
        HONEYPODS_SSH_MAX_PER_SOURCE="100000",
    )
    events = out_dir / "events.jsonl"
    with events.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "honeypods", "run", "ssh"], stdout=stdout, env=env
        )
    try:
        deadline = time.monotonic() + 60
        while not any(
            b'"honeypods.start"' in line and b'"decoy":"ssh"' in line
            for line in events.read_bytes().splitlines()
        ):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("decoy did not start")
            time.sleep(0.2)
        time.sleep(1)
        results: dict[str, object] = {"load_before": os.getloadavg()}
        results["idle_rss_mib"] = round(rss_mib(proc.pid)[0], 1)
        # Per server CPU-second too: on a shared machine the wall-clock rate also measures the
        # neighbours and the Python load generator.
        cpu = cpu_seconds(proc.pid)
        ok, failed = asyncio.run(banner_rate(port, args.concurrency, args.duration))
        cpu = cpu_seconds(proc.pid) - cpu
        results["banner_per_s"] = round(ok / args.duration)
        results["banner_per_server_cpu_s"] = round(ok / cpu) if cpu else None
        results["banner_server_cpu_us_per_op"] = round(cpu / ok * 1e6) if ok else None
        results["banner_server_cpu_share"] = round(cpu / args.duration, 2)
        results["banner_failed"] = failed
        cpu = cpu_seconds(proc.pid)
        ok, failed = asyncio.run(auth_rate(port, args.auth_concurrency, args.duration))
        cpu = cpu_seconds(proc.pid) - cpu
        results["kex_password_per_s"] = round(ok / args.duration, 1)
        results["kex_password_per_server_cpu_s"] = round(ok / cpu, 1) if cpu else None
        results["kex_password_server_cpu_us_per_op"] = round(cpu / ok * 1e6) if ok else None
        results["kex_password_failed"] = failed
        results["rss_after_load_mib"] = round(rss_mib(proc.pid)[0], 1)
        held, held_rss = asyncio.run(hold(port, args.held, proc.pid))
        results["held_sessions"] = held
        results["held_rss_mib"] = round(held_rss, 1)
        time.sleep(3)
        results["rss_after_release_mib"] = round(rss_mib(proc.pid)[0], 1)
        results["load_after"] = os.getloadavg()
        results["events_file"] = str(events)
        print(json.dumps(results, indent=2))
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

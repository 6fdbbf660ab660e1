"""Shared benchmark harness: run a decoy through the real runner, load it, count its events.

The decoy runs as ``python -m honeypods run <decoy>`` pinned to CPU 0 with stdout going to a file
(the JSON events, logging on); the load generator runs in this process pinned to CPU 1, as the
peers were measured (asyncio generator, concurrency 50, one connection per operation).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The load generator runs on uvloop when it is installed: on asyncio's own loop one client core
# tops out near 3,000-4,000 connections/s, below what the decoys serve, and would measure itself.
# Peers in compare.py get the same generator. BENCH_LOOP=asyncio measures with asyncio's loop.
if os.environ.get("BENCH_LOOP", "uvloop") == "uvloop":
    try:
        import uvloop
    except ImportError:
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":")
            values[key] = int(value.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin_self(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > cpu:  # type: ignore[operator]
        os.sched_setaffinity(0, {cpu})


def raise_nofile() -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Decoy:
    """A decoy process under test; its stdout is the event log."""

    decoys: list[str]
    env: Mapping[str, str]
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".jsonl")[1]))
    proc: subprocess.Popen[bytes] | None = None
    metrics_port: int = field(default_factory=free_port)

    def start(self, cpu: int = 0, timeout: float = 20.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")}
        env.update(
            {"HONEYPODS_METRICS_PORT": str(self.metrics_port), "HONEYPODS_SUMMARY_INTERVAL": "0"}
        )
        env.update(self.env)
        prefix = ["taskset", "-c", str(cpu)] if _has("taskset") else []
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "honeypods", "run", *self.decoys],
            stdout=self.log.open("wb"),
            stderr=subprocess.PIPE,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=1) as s:
                    s.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
                    if b" 200 " in s.recv(100):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"decoy exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            time.sleep(0.05)
        raise RuntimeError("decoy not ready in time")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def actions(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        with self.log.open() as f:
            for line in f:
                counts[json.loads(line)["event"]["action"]] += 1
        return counts

    def lines(self) -> int:
        with self.log.open("rb") as f:
            return sum(1 for _ in f)


def _has(tool: str) -> bool:
    from shutil import which

    return which(tool) is not None


@dataclass
class LoadResult:
    done: int
    failed: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


async def run_load(
    operation: Callable[[], Awaitable[object]],
    *,
    concurrency: int = 50,
    duration: float = 10.0,
    max_ops: int = 2_000_000,
) -> LoadResult:
    """Run ``operation`` back to back from ``concurrency`` workers, bounded in time and count."""
    done = failed = 0
    latencies: list[float] = []
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal done, failed
        while time.monotonic() < stop_at and done + failed < max_ops:
            t0 = time.perf_counter()
            try:
                await asyncio.wait_for(operation(), 10)
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                failed += 1
                continue
            latencies.append(time.perf_counter() - t0)
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(done, failed, time.monotonic() - started, latencies)


class _Closer(asyncio.Protocol):
    """Client side of a bare connect: close as soon as connected (a connect() scan)."""

    def __init__(self, done: asyncio.Future[int]) -> None:
        self.done = done
        self.port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.port = int(transport.get_extra_info("sockname")[1])
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.port)


async def bare_connect(host: str, port: int) -> int:
    """Connect and close at once; returns the client's source port (to find it in a log)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    await loop.create_connection(lambda: _Closer(done), host, port)
    return await done


# The "hello" operations: the protocol's first exchange on a new connection, as the peers were
# measured. Each returns the client's source port; a wrong answer raises ConnectionError, which the
# load loop counts as a failure.

SSH_CLIENT_VERSION = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def http_get(host: str, port: int) -> int:
    """``GET /`` and read the whole response (the request asks the server to close)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: curl/7.88.1\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode()
        )
        response = b""
        while chunk := await reader.read(65536):
            response += chunk
            if len(response) > 1 << 20:
                break
        if not response.startswith(b"HTTP/"):
            raise ConnectionError("no HTTP response")
        return int(writer.get_extra_info("sockname")[1])
    finally:
        await _close(writer)


async def ssh_hello(host: str, port: int) -> int:
    """Read the server's version line and send a client version."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        # RFC 4253 4.2 lets a server send other lines before its version.
        for _ in range(10):
            line = await reader.readline()
            if line.startswith(b"SSH-"):
                break
            if not line:
                raise ConnectionError("no SSH version line")
        else:
            raise ConnectionError("no SSH version line")
        writer.write(SSH_CLIENT_VERSION)
        await writer.drain()
        return int(writer.get_extra_info("sockname")[1])
    finally:
        await _close(writer)


async def mysql_greeting(host: str, port: int) -> int:
    """Read the server's initial handshake packet (protocol version 10)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        header = await reader.readexactly(4)
        payload = await reader.readexactly(int.from_bytes(header[:3], "little"))
        if payload[:1] != b"\x0a":
            raise ConnectionError("not a MySQL greeting")
        return int(writer.get_extra_info("sockname")[1])
    finally:
        await _close(writer)


HELLO: Mapping[str, Callable[[str, int], Awaitable[int]]] = {
    "http": http_get,
    "ssh": ssh_hello,
    "mysql": mysql_greeting,
}


async def sequential(operation: Callable[[], Awaitable[int]], n: int) -> list[int]:
    """Run ``operation`` ``n`` times one after another; the source ports of those that worked."""
    ports = []
    for _ in range(n):
        try:
            ports.append(await asyncio.wait_for(operation(), 10))
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            continue
    return ports


def quiet(log: Path, *, still: float = 1.5, timeout: float = 30.0) -> None:
    """Wait until ``log`` has stopped growing for ``still`` seconds (or the timeout)."""
    deadline = time.monotonic() + timeout
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = log.stat().st_size if log.exists() else 0
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= still:
            return
        time.sleep(0.1)


def settle(
    decoy: Decoy, expected: int, action: str = "session.closed", timeout: float = 30
) -> Counter[str]:
    """Wait until the log holds ``expected`` events of ``action`` (or the timeout)."""
    deadline = time.monotonic() + timeout
    counts = decoy.actions()
    while counts[action] < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        counts = decoy.actions()
    return counts


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in rows
    ]
    return "\n".join(out)

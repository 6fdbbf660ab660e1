"""MySQL decoy benchmark: greetings/s, full logins/s, every one logged, idle RSS.

Run: ``.venv/bin/python bench/mysql.py [--duration 10] [--concurrency 50]``

Issue targets: >= 8,300 greetings/s (connect, read the greeting, close; concurrency 50), twice
the best peer; >= 3,000 full logins/s (connect, caching_sha2_password login, one query, quit),
every one logged; idle RSS <= 40 MiB. The decoy runs through the real runner with its events
going to a file; the load generator is a raw asyncio protocol so the client is not the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import (
    Decoy,
    cpu_seconds,
    free_port,
    pin_self,
    raise_nofile,
    rss_mib,
    run_load,
    settle,
    table,
)

# CLIENT_LONG_PASSWORD | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH | CONNECT_ATTRS, no EOF deprecation
CLIENT_FLAGS = 0x1 | 0x200 | 0x8000 | 0x80000 | 0x100000


def scramble(password: bytes, salt: bytes) -> bytes:
    p1 = hashlib.sha256(password).digest()
    p3 = hashlib.sha256(hashlib.sha256(p1).digest() + salt).digest()
    return bytes(a ^ b for a, b in zip(p1, p3, strict=True))


def packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes((seq,)) + payload


class Client(asyncio.Protocol):
    """Greeting only, or the whole login dialogue, as one state machine over the packets."""

    def __init__(self, done: asyncio.Future[None], login: bool) -> None:
        self.done = done
        self.login = login
        self.buf = b""
        self.stage = "greeting"
        self.eofs = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; this one is a TCP transport.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 4:
            length = int.from_bytes(self.buf[:3], "little")
            if len(self.buf) < 4 + length:
                return
            payload, self.buf = self.buf[4 : 4 + length], self.buf[4 + length :]
            self.on_packet(payload)

    def fail(self, why: str) -> None:
        if not self.done.done():
            self.done.set_exception(OSError(why))
        assert self.transport is not None
        self.transport.abort()

    def on_packet(self, payload: bytes) -> None:
        assert self.transport is not None
        if payload[:1] == b"\xff":
            self.fail(payload[9:].decode(errors="replace"))
            return
        if self.stage == "greeting":
            if not self.login:
                self.stage = "closing"
                self.transport.close()
                return
            version_end = payload.index(b"\0", 1)
            salt = payload[version_end + 5 : version_end + 13] + payload[version_end + 32 : -23]
            attrs = b"\x0c_client_name\x05bench"
            response = b"".join(
                (
                    CLIENT_FLAGS.to_bytes(4, "little"),
                    (1 << 24).to_bytes(4, "little"),
                    b"\xff",
                    bytes(23),
                    b"root\0",
                    b"\x20" + scramble(b"root", salt[:20]),
                    b"caching_sha2_password\0",
                    bytes((len(attrs),)) + attrs,
                )
            )
            self.transport.write(packet(1, response))
            self.stage = "auth"
        elif self.stage == "auth":
            if payload[:1] == b"\x00":
                self.transport.write(packet(0, b"\x03SELECT VERSION()"))
                self.stage = "query"
        elif self.stage == "query" and payload[:1] == b"\xfe" and len(payload) < 9:
            self.eofs += 1  # EOF after the columns, then EOF after the rows
            if self.eofs == 2:
                # COM_QUIT, then close at once without waiting for the server, as libmysqlclient's
                # mysql_close() and PyMySQL's close() do.
                self.transport.write(packet(0, b"\x01"))
                self.stage = "closing"
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if self.stage == "closing":
            self.done.set_result(None)
        else:
            self.done.set_exception(OSError(f"closed in stage {self.stage}"))


async def operation(port: int, login: bool) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    await loop.create_connection(lambda: Client(done, login), "127.0.0.1", port)
    await done


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    raise_nofile()
    pin_self(1)
    port = free_port()
    decoy = Decoy(
        ["mysql"],
        {
            "HONEYPODS_MYSQL_PORT": str(port),
            "HONEYPODS_MYSQL_ACCEPT": "root:root",  # the login the load generator makes
            # One source (this machine) makes every connection here: lift the per-source cap.
            "HONEYPODS_MAX_PER_SOURCE": "20000",
            "HONEYPODS_MAX_CONNECTIONS": "20000",
        },
    )
    load_before = loadavg()
    decoy.start(cpu=0)
    time.sleep(2)
    idle_rss, _ = rss_mib(decoy.pid)
    rows = []
    ok = True
    closed = 0
    logins_seen = 0
    for name, login in (("greetings", False), ("full logins", True)):
        cpu0 = cpu_seconds(decoy.pid)
        client0 = time.process_time()
        result = asyncio.run(
            run_load(
                lambda login=login: operation(port, login),  # type: ignore[misc]
                concurrency=args.concurrency,
                duration=args.duration,
            )
        )
        closed += result.done + result.failed
        counts = settle(decoy, closed)
        cpu = cpu_seconds(decoy.pid) - cpu0
        client_cpu = time.process_time() - client0
        lost = closed - counts["session.closed"]
        if login:
            logins = counts["mysql.login"] - logins_seen
            logins_seen = counts["mysql.login"]
            lost = max(lost, result.done - logins)
        ok = ok and lost == 0 and result.failed == 0
        rows += [
            (f"{name}/s (c={args.concurrency})", f"{result.rate:,.0f}"),
            (f"{name}: p50 / p99 latency ms", f"{result.pct(0.5):.1f} / {result.pct(0.99):.1f}"),
            (f"{name}: completed / failed", f"{result.done} / {result.failed}"),
            (f"{name}: CPU s decoy / load generator", f"{cpu:.1f} / {client_cpu:.1f}"),
            (f"{name}: decoy CPU us per operation", f"{cpu / max(result.done, 1) * 1e6:.0f}"),
            (f"{name}: events lost", str(lost)),
        ]
    load_rss, load_hwm = rss_mib(decoy.pid)
    code = decoy.stop()
    final = decoy.actions()
    accounted = final["session.connect"] == final["session.closed"]
    rows += [
        ("idle RSS MiB", f"{idle_rss:.1f}"),
        ("RSS after load MiB (VmHWM)", f"{load_rss:.1f} ({load_hwm:.1f})"),
        (
            "mysql.login / mysql.command events",
            f"{final['mysql.login']} / {final['mysql.command']}",
        ),
        ("every connect has a close", str(accounted)),
        ("exit code on SIGTERM", str(code)),
        ("load average before / after", f"{load_before} / {loadavg()}"),
    ]
    print(
        f"mysql decoy, one process pinned to CPU 0, load generator on CPU 1, "
        f"{args.duration:.0f} s per phase"
    )
    print(table(rows, ("measure", "value")))
    return 0 if ok and accounted and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

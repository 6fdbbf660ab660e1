"""Under attack: every decoy keeps serving, logs everything, and stays bounded.

Each decoy runs as users run it (``python -m honeypods run <decoy>``) and gets random and malformed
bytes, floods beyond its capacity, thousands of held connections and half-open sessions. After each,
a real first exchange still works, no traceback reached the log, every stdout line is one valid JSON
object under the size cap, and every connection made is accounted for by its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import free_port

pytestmark = pytest.mark.integration

MAX_LINE = 65536


def _recv_until(sock: socket.socket, marker: bytes, limit: int = 65536) -> bytes:
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _probe_portscan(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"hello")


def _probe_web(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: dashboard\r\nConnection: close\r\n\r\n")
        head = _recv_until(s, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n"), head[:200]
    assert b"\r\nServer: nginx" in head


def _probe_mysql(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        head = s.recv(4)
        assert len(head) == 4
        body = s.recv(int.from_bytes(head[:3], "little"))
    assert body[0] == 10  # HandshakeV10
    assert body[1:].split(b"\0", 1)[0].startswith(b"8.")


def _probe_ssh(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        banner = _recv_until(s, b"\r\n", 255)
    assert banner.startswith(b"SSH-2.0-OpenSSH_"), banner


@dataclass(frozen=True)
class Target:
    decoy: str
    probe: Callable[[int], None]
    port_vars: tuple[str, ...]


TARGETS = [
    Target("portscan", _probe_portscan, ("HONEYPODS_PORTSCAN_PORTS",)),
    Target("web", _probe_web, ("HONEYPODS_WEB_PORT", "HONEYPODS_WEB_TLS_PORT")),
    Target("mysql", _probe_mysql, ("HONEYPODS_MYSQL_PORT",)),
    Target("ssh", _probe_ssh, ("HONEYPODS_SSH_PORT",)),
]
# A decoy joins these tests as soon as its module exists in the package.
PRESENT = [t for t in TARGETS if importlib.util.find_spec(f"honeypods.{t.decoy}") is not None]


def _start(decoy_process, target: Target, tmp_path: Path, **extra: str):
    env = {name: str(free_port()) for name in target.port_vars}
    env["HONEYPODS_MAX_PER_SOURCE"] = "100000"
    if target.decoy == "ssh":
        env["HONEYPODS_SSH_HOST_KEY_DIR"] = str(tmp_path / "keys")
        (tmp_path / "keys").mkdir(exist_ok=True)
    env.update(extra)
    proc = decoy_process([target.decoy], env)
    return proc, int(env[target.port_vars[0]])


def _check_log(proc, made: int | None = None) -> list[dict]:
    lines = proc.lines()
    assert all(len(line) <= MAX_LINE for line in lines)
    docs = proc.events()  # parses and validates every line
    assert not [d for d in docs if d["event"]["action"] == "honeypods.error"]
    assert "Traceback" not in proc.stderr()
    opened = [d for d in docs if d["event"]["action"] == "session.connect"]
    closed = [d for d in docs if d["event"]["action"] == "session.closed"]
    assert {d["honeypod"]["session"] for d in opened} == {d["honeypod"]["session"] for d in closed}
    if made is not None:
        assert len(opened) == made
    return docs


def _wait_closed(proc, n: int, timeout: float = 60) -> None:
    proc.wait_for(
        lambda docs: sum(d["event"]["action"] == "session.closed" for d in docs) >= n, timeout
    )


MALFORMED = [
    b"\x00" * 1000,
    b"\n" * 1000,
    b"\r\n\r\n\r\n",
    b"\x1b[2J\x1b]0;pwned\x07\x1b[31m" * 10,
    b"\xff\xfe\xfd\xfc" * 256,
    b'"},{"event":{"action":"forged"}}\n',
    b"A" * (1 << 20),  # 1 MiB without a newline
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4,  # TLS ClientHello-ish
    b"SSH-2.0-" + b"x" * 300 + b"\r\n",
    b"\xff\xff\xff\x00" + b"\x00" * 64,  # MySQL header claiming a 16 MiB packet
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
]


async def _blast(port: int, payloads: list[bytes], concurrency: int = 10) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(payload: bytes) -> None:
        async with sem:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                raise AssertionError("the decoy stopped accepting") from None
            with contextlib.suppress(OSError, TimeoutError):
                writer.write(payload)
                await asyncio.wait_for(writer.drain(), 10)
                # Read whatever the decoy answers, briefly; it may close first.
                await asyncio.wait_for(reader.read(65536), 0.2)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    await asyncio.gather(*(one(p) for p in payloads))


@pytest.mark.parametrize("target", PRESENT, ids=lambda t: t.decoy)
def test_random_and_malformed_bytes(decoy_process, tmp_path: Path, target: Target) -> None:
    proc, port = _start(decoy_process, target, tmp_path, HONEYPODS_IDLE_TIMEOUT="2")
    rng = random.Random(20261127)
    payloads = [rng.randbytes(rng.randint(1, 4096)) for _ in range(300)] + MALFORMED
    asyncio.run(_blast(port, payloads))
    target.probe(port)  # still answers a real client
    _wait_closed(proc, len(payloads) + 1)
    _check_log(proc, made=len(payloads) + 1)


@pytest.mark.parametrize("target", PRESENT, ids=lambda t: t.decoy)
def test_flood_beyond_capacity_is_refused_and_counted(
    decoy_process, tmp_path: Path, target: Target
) -> None:
    cap, flood = 100, 1000
    extra = {"HONEYPODS_MAX_CONNECTIONS": str(cap)}
    if target.decoy == "ssh":
        # sshd's MaxStartups drops at random before the cap; this test counts the guard's cap.
        extra["HONEYPODS_SSH_MAX_STARTUPS"] = "100000"
    proc, port = _start(decoy_process, target, tmp_path, **extra)

    async def hold_all() -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        conns = []
        for _ in range(flood):
            conns.append(await asyncio.open_connection("127.0.0.1", port))
        return conns

    async def run() -> None:
        conns = await hold_all()
        await asyncio.sleep(0.5)
        for _r, w in conns:
            w.close()

    asyncio.run(run())
    _wait_closed(proc, flood)
    target.probe(port)
    _wait_closed(proc, flood + 1)
    docs = _check_log(proc, made=flood + 1)
    refused = [
        d
        for d in docs
        if d["event"]["action"] == "session.closed" and d["event"]["reason"] == "over_capacity"
    ]
    # Exactly the connections beyond the cap were refused; the cap held them and let them go.
    assert len(refused) == flood - cap


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# Connections held at once per decoy, and the RSS ceiling (MiB) while they are held.
HOLD = {"portscan": (10000, 150), "web": (2000, 150), "mysql": (2000, 150), "ssh": (2000, 200)}


@pytest.mark.parametrize("target", PRESENT, ids=lambda t: t.decoy)
def test_thousands_held_open_stay_bounded(decoy_process, tmp_path: Path, target: Target) -> None:
    import resource

    n, ceiling = HOLD[target.decoy]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < n + 1000:
        pytest.skip(f"open-file limit {hard} is below {n}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    proc, port = _start(
        decoy_process,
        target,
        tmp_path,
        HONEYPODS_MAX_CONNECTIONS=str(n + 100),
        HONEYPODS_IDLE_TIMEOUT="600",
        HONEYPODS_DEADLINE="900",
    )
    held = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.connect(("127.0.0.1", port))
            held.append(s)
        proc.wait_for(
            lambda docs: sum(d["event"]["action"] == "session.connect" for d in docs) >= n, 120
        )
        time.sleep(1)
        rss = _rss_mib(proc.proc.pid)
        assert rss < ceiling, f"{rss:.1f} MiB with {n} held"
    finally:
        for s in held:
            s.close()
    _wait_closed(proc, n, 120)
    target.probe(port)
    _wait_closed(proc, n + 1)
    _check_log(proc, made=n + 1)


@pytest.mark.parametrize("target", PRESENT, ids=lambda t: t.decoy)
def test_half_open_sessions_time_out_and_are_logged(
    decoy_process, tmp_path: Path, target: Target
) -> None:
    proc, port = _start(decoy_process, target, tmp_path, HONEYPODS_IDLE_TIMEOUT="1")
    starts = {
        "portscan": b"",
        "web": b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",  # slowloris: a header never finished
        "mysql": b"\x20\x00\x00\x01\x85\xa6",  # a login packet cut short
        "ssh": b"SSH-2.0-OpenSSH_9.6\r\n\x00\x00\x01",  # a KEXINIT that never arrives
    }
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        if starts[target.decoy]:
            s.sendall(starts[target.decoy])
        socks.append(s)
    _wait_closed(proc, 20, 60)
    for s in socks:
        s.close()
    docs = _check_log(proc, made=20)
    reasons = {d["event"]["reason"] for d in docs if d["event"]["action"] == "session.closed"}
    # sshd's MaxStartups refuses some unauthenticated sessions outright: also bounded and logged.
    assert reasons <= {"idle_timeout", "protocol_error", "deadline", "over_capacity"}, reasons
    target.probe(port)


def test_every_stdout_line_is_json_even_for_a_flood_of_hostile_payloads(
    decoy_process, tmp_path: Path
) -> None:
    # The port-scan decoy logs first bytes verbatim (escaped): the worst case for the log.
    target = TARGETS[0]
    proc, port = _start(decoy_process, target, tmp_path, HONEYPODS_IDLE_TIMEOUT="1")
    hostile = [bytes([b]) * 5000 for b in range(256)]
    asyncio.run(_blast(port, hostile, concurrency=20))
    _wait_closed(proc, len(hostile))
    for line in proc.lines():
        doc = json.loads(line)
        assert isinstance(doc, dict)
    _check_log(proc, made=len(hostile))

"""The port-scan decoy as users run it: a real process, nmap, ping, a test-made namespace."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from tests.conftest import free_port, require_root, require_tool

pytestmark = pytest.mark.integration


def _ports(n: int) -> list[int]:
    return sorted({free_port() for _ in range(n * 2)})[:n]


def test_nmap_connect_scan_gives_one_scan_event_naming_the_ports(decoy_process) -> None:
    nmap = require_tool("nmap")
    ports = _ports(6)
    proc = decoy_process(
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)),
            "HONEYPODS_PORTSCAN_SCAN_REPORT_DELAY": "1",
        },
    )
    closed_port = free_port()
    scanned = sorted([*ports, closed_port])
    subprocess.run(
        [nmap, "-sT", "-Pn", "-n", "-p", ",".join(map(str, scanned)), "127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    docs = proc.wait_for(lambda d: any(e["event"]["action"] == "portscan.scan" for e in d))
    time.sleep(1.5)  # a second report would come within the report delay
    scans = proc.of("portscan.scan")
    assert len(scans) == 1
    assert scans[0]["portscan"]["ports"] == ports  # the listener cannot see the closed port
    assert scans[0]["rule"]["name"] == "honeypod.port.scan"
    assert scans[0]["source"]["ip"] == "127.0.0.1"
    connects = proc.of("session.connect")
    assert {e["destination"]["port"] for e in connects} == set(ports)
    assert all(e["rule"]["name"] == "honeypod.ip.enum" for e in connects)
    # nmap resets each connection at once: the address must come from accept(), not later.
    assert {(e["source"]["ip"], e["source"]["port"] > 0) for e in connects} == {("127.0.0.1", True)}
    assert docs


def test_every_connection_is_logged_and_attacker_bytes_stay_json(decoy_process) -> None:
    port = free_port()
    proc = decoy_process(["portscan"], {"HONEYPODS_PORTSCAN_PORTS": str(port)})
    payloads = [
        b'GET / HTTP/1.1\r\nHost: x\r\n\r\n"quote" \\',
        b"\x1b[2J\x1b[31mANSI\x07",
        b"\xff\xfe\xfd invalid \xc3\x28",
        b"\x00" * 50,
        b"A" * 100_000,  # beyond the capture and the byte cap
    ]
    for payload in payloads:
        # The byte cap may close it while we still send: that is the point.
        with socket.create_connection(("127.0.0.1", port)) as s, contextlib.suppress(OSError):
            s.sendall(payload)
    proc.wait_for(
        lambda d: sum(e["event"]["action"] == "session.closed" for e in d) == len(payloads)
    )
    events = proc.events()  # every line parses and validates
    got = [bytes.fromhex(e["portscan"]["payload_hex"]) for e in proc.of("portscan.payload")]
    for payload in payloads[:4]:
        assert payload in got
    assert max(len(line) for line in proc.lines()) < 65536
    assert len(proc.of("session.connect")) == len(payloads)
    assert events


def test_port_22_contact_maps_to_the_ssh_alert() -> None:
    from honeypods.core.guard import Session
    from honeypods.portscan.server import rule_for

    class _S:
        local = ("10.0.0.1", 22)

    assert rule_for(_S()) == "honeypod.network.ssh"  # type: ignore[arg-type]
    _S.local = ("10.0.0.1", 2379)
    assert rule_for(_S()) == "honeypod.ip.enum"  # type: ignore[arg-type]
    assert Session  # the real class is what the guard passes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "HONEYPODS_PORTSCAN_PORTS=1,x"], "HONEYPODS_PORTSCAN_PORTS"),
        (["--set", "HONEYPODS_NOPE=1"], "HONEYPODS_NOPE: unknown setting"),
        (["ftp"], "unknown decoy 'ftp'"),
        (["--set", "HONEYPODS_IDLE_TIMEOUT=0"], "must be positive"),
    ],
)
def test_bad_configuration_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "honeypods", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")},
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert '"honeypods.config_error"' in result.stdout


def test_port_in_use_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "honeypods", "portscan", "--metrics-port", "0",
             "--set", f"HONEYPODS_PORTSCAN_PORTS={port}"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert "cannot listen" in result.stderr


def test_sigterm_under_load_exits_0_with_every_event_written(decoy_process) -> None:
    ports = _ports(3)
    proc = decoy_process(
        ["portscan"],
        {"HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)), "HONEYPODS_IDLE_TIMEOUT": "30"},
    )
    stop = threading.Event()
    held: list[socket.socket] = []
    made = [0]

    def load() -> None:
        deadline = time.monotonic() + 20
        i = 0
        while not stop.is_set() and time.monotonic() < deadline and i < 20000:
            try:
                s = socket.create_connection(("127.0.0.1", ports[i % 3]), timeout=5)
            except OSError:
                break
            made[0] += 1
            if i % 10 == 0 and len(held) < 200:
                held.append(s)  # some stay open until shutdown
            else:
                s.close()
            i += 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    started = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    code = proc.proc.wait(30)
    elapsed = time.monotonic() - started
    stop.set()
    for t in threads:
        t.join()
    for s in held:
        s.close()
    assert code == 0
    assert elapsed < 10  # the promise is 5 s; this only catches a hang
    docs = proc.events()
    opened = {e["honeypod"]["session"] for e in docs if e["event"]["action"] == "session.connect"}
    closed = {e["honeypod"]["session"] for e in docs if e["event"]["action"] == "session.closed"}
    assert opened
    assert opened == closed
    assert docs[-1]["event"]["action"] == "honeypods.stop"
    reasons = {e["event"]["reason"] for e in docs if e["event"]["action"] == "session.closed"}
    assert "shutdown" in reasons


@pytest.fixture
def netns() -> Iterator[str]:
    require_root()
    ip = require_tool("ip")
    name = f"hp-{uuid.uuid4().hex[:8]}"
    subprocess.run([ip, "netns", "add", name], check=True)
    try:
        subprocess.run([ip, "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run([ip, "netns", "delete", name], check=False)


def test_sensor_sees_half_open_scan_and_ping_in_a_namespace(decoy_process, netns: str) -> None:
    nmap = require_tool("nmap")
    ping = require_tool("ping")
    listen = [2379, 6443]
    proc = decoy_process(
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, listen)),
            "HONEYPODS_PORTSCAN_SENSOR": "on",
            "HONEYPODS_PORTSCAN_SCAN_REPORT_DELAY": "1",
            "HONEYPODS_METRICS_PORT": "9478",
        },
        prefix=["ip", "netns", "exec", netns],
    )
    assert not proc.of("honeypods.warning")  # root has CAP_NET_RAW: the sensor is on
    subprocess.run(
        ["ip", "netns", "exec", netns, ping, "-c1", "-W2", "127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    proc.wait_for(lambda d: any(e["event"]["action"] == "sensor.icmp_echo" for e in d))
    scanned = [22, 80, 443, 2379, 3306, 6443]
    subprocess.run(
        ["ip", "netns", "exec", netns, nmap, "-sS", "-Pn", "-n",
         "-p", ",".join(map(str, scanned)), "127.0.0.1"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    proc.wait_for(lambda d: any(e["event"]["action"] == "portscan.scan" for e in d))
    echo = proc.of("sensor.icmp_echo")
    assert len(echo) == 1
    assert echo[0]["rule"]["name"] == "honeypod.ip.enum"
    assert echo[0]["source"]["ip"] == "127.0.0.1"
    scans = proc.of("portscan.scan")
    assert len(scans) == 1
    assert scans[0]["portscan"]["ports"] == scanned  # closed ports included: the sensor saw them
    assert "sensor" in scans[0]["portscan"]["observed_by"]
    syn = proc.of("sensor.syn")
    assert len(syn) == 1  # once per source per interval, not once per port
    assert syn[0]["destination"]["port"] not in listen


def test_sensor_without_capability_warns_once_and_keeps_listening(decoy_process) -> None:
    if os.geteuid() == 0:
        # Drop CAP_NET_RAW for the child the way a pod without it runs.
        capsh = require_tool("setpriv")
        prefix = [capsh, "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--"]
    else:
        prefix = []
    port = free_port()
    proc = decoy_process(
        ["portscan"],
        {"HONEYPODS_PORTSCAN_PORTS": str(port), "HONEYPODS_PORTSCAN_SENSOR": "on"},
        prefix=prefix,
    )
    warnings = proc.of("honeypods.warning")
    assert len(warnings) == 1
    assert "CAP_NET_RAW" in warnings[0]["error"]["message"]
    with socket.create_connection(("127.0.0.1", port)):
        pass
    proc.wait_for(lambda d: any(e["event"]["action"] == "session.closed" for e in d))


def test_n_sequential_and_n_concurrent_connections_give_exactly_n_open_and_close(
    decoy_process,
) -> None:
    import asyncio

    n = 500
    port = free_port()
    proc = decoy_process(
        ["portscan"], {"HONEYPODS_PORTSCAN_PORTS": str(port), "HONEYPODS_MAX_PER_SOURCE": "1000"}
    )
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass

    async def concurrent() -> None:
        conns = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port) for _ in range(n))
        )
        for _r, w in conns:
            w.close()

    asyncio.run(concurrent())
    proc.wait_for(lambda d: sum(e["event"]["action"] == "session.closed" for e in d) >= 2 * n)
    time.sleep(0.5)
    docs = proc.events()
    opened = [e for e in docs if e["event"]["action"] == "session.connect"]
    closed = [e for e in docs if e["event"]["action"] == "session.closed"]
    assert len(opened) == len(closed) == 2 * n
    assert {e["honeypod"]["session"] for e in opened} == {e["honeypod"]["session"] for e in closed}
    assert {e["event"]["reason"] for e in closed} == {"eof"}

"""The shared settings, the connection limits and every HONEYPODS_PORTSCAN_* setting, set through
the real CLI (``python -m honeypods run ... --set NAME=VALUE``).

Each setting is shown to have its documented effect, or, where the effect cannot be seen from
outside in a test's time (a queue bound, a tracked-sources cap), to be read and refused with exit
status 2 and a message naming it when out of range. ``test_every_setting_is_exercised`` keeps it so:
a setting no test sets through the CLI is a knob that could be dead again.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import DecoyProcess, free_port

from honeypods.core import registry
from honeypods.core.limits import Limits
from honeypods.core.settings import known_names

pytestmark = pytest.mark.integration

Start = Callable[..., DecoyProcess]
TESTS = Path(__file__).resolve().parents[1]


def run(decoy_process: Start, decoys: list[str], settings: dict[str, str]) -> DecoyProcess:
    """The decoys with ``settings`` as ``--set`` flags, once every one is listening."""
    args = list(decoys)
    for name, value in settings.items():
        args += ["--set", f"{name}={value}"]
    proc = decoy_process(args, wait=False)
    proc.expected = len(decoys)
    proc.wait_ready()
    return proc


def refused(*settings: str) -> str:
    """Run with these ``--set`` flags; the process must refuse to start. Returns its stderr."""
    args = [sys.executable, "-m", "honeypods", "run", "portscan"]
    for item in settings:
        args += ["--set", item]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 2, out.stderr
    return out.stderr


def starts(proc: DecoyProcess) -> dict[str, list[str]]:
    return {e["honeypod"]["decoy"]: e["honeypod"]["addresses"] for e in proc.of("honeypods.start")}


def closed(proc: DecoyProcess, local_port: int, timeout: float = 15) -> dict[str, Any]:
    """The session.closed event of the connection made from ``local_port``."""

    def find(docs: list[dict[str, Any]]) -> bool:
        return any(
            d["event"]["action"] == "session.closed" and d["source"]["port"] == local_port
            for d in docs
        )

    docs = proc.wait_for(find, timeout)
    return next(
        d
        for d in docs
        if d["event"]["action"] == "session.closed" and d["source"]["port"] == local_port
    )


class _Collector(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    """An HTTP server on loopback that keeps every JSON body POSTed to it."""
    bodies: list[tuple[str, Any]] = []
    handler = type("Handler", (_Collector,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def _wait(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)


# -- shared settings ----------------------------------------------------------------------------


def test_shared_settings_reach_their_consumers(decoy_process: Start) -> None:
    port, metrics = free_port(), free_port()
    proc = run(
        decoy_process,
        ["portscan"],
        {
            "HONEYPODS_HOST": "127.0.0.2",
            "HONEYPODS_METRICS_HOST": "127.0.0.3",
            "HONEYPODS_METRICS_PORT": str(metrics),
            "HONEYPODS_HOST_NAME": "decoy-pod-7",
            "HONEYPODS_SUMMARY_INTERVAL": "0.3",
            "HONEYPODS_EVENT_LOOP": "asyncio",
            "HONEYPODS_LOG_LEVEL": "debug",
            "HONEYPODS_PORTSCAN_PORTS": str(port),
        },
    )
    assert starts(proc)["portscan"] == [f"127.0.0.2:{port}"]
    assert f"127.0.0.3:{metrics}" in starts(proc)["runner"]
    with urllib.request.urlopen(f"http://127.0.0.3:{metrics}/metrics", timeout=5) as resp:
        assert b"honeypods_connections_total" in resp.read()
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "honeypods.summary" for d in docs) >= 2)
    assert {e["host"]["name"] for e in proc.events()} == {"decoy-pod-7"}
    # asyncio's own loop, and its debug records routed into the stream at level debug.
    logs = [e for e in proc.of("honeypods.log") if e["log"]["logger"] == "asyncio"]
    assert any("selector" in e["message"].lower() for e in logs), logs


def test_honeytoken_settings_reach_the_leak_and_the_event(decoy_process: Start) -> None:
    from honeypods.core.honeytokens import values

    seed = "S3ttingsSeed-0123456789abcdef"
    port = free_port()
    proc = run(
        decoy_process,
        ["web"],
        {
            "HONEYPODS_WEB_PORT": str(port),
            "HONEYPODS_WEB_TLS_PORT": "0",
            "HONEYPODS_PERSONA_SEED": seed,
            "HONEYPODS_HONEYTOKEN_PLACEMENTS": "dashboard",
            "HONEYPODS_HONEYTOKEN_SECRET": "ops/app-db",
            "HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS": "orders-db.ops.svc:3307",
        },
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/.env", timeout=5) as resp:
        env = resp.read().decode()
    assert "DB_HOST=orders-db.ops.svc\nDB_PORT=3307\n" in env
    token = values(seed)["api_token"]
    assert f"OPSCONSOLE_API_TOKEN={token}\n" in env
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/me", headers={"X-Api-Key": token}
    )
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback
    proc.wait_for(lambda docs: any(d["event"]["action"] == "honeytoken.used" for d in docs))
    (used,) = proc.of("honeytoken.used")
    # The database placement is off: the token is in the dashboard's files only.
    assert used["honeytoken"]["placements"] == ["dashboard:/.env", "dashboard:/config.js"]


def test_the_host_flag_and_the_default_log_level(decoy_process: Start) -> None:
    port = free_port()
    args = ["portscan", "--host", "127.0.0.4", "--set", f"HONEYPODS_PORTSCAN_PORTS={port}"]
    proc = decoy_process([*args, "--set", "HONEYPODS_EVENT_LOOP=asyncio"], wait=False)
    proc.expected = 1
    proc.wait_ready()
    assert starts(proc)["portscan"] == [f"127.0.0.4:{port}"]
    assert proc.of("honeypods.log") == []  # warning is the default: asyncio's debug stays out


def test_alerts_go_to_alertmanager_and_the_webhook_with_extra_labels(
    decoy_process: Start, receiver: tuple[str, list[tuple[str, Any]]]
) -> None:
    url, bodies = receiver
    port = free_port()
    run(
        decoy_process,
        ["portscan"],
        {
            "HONEYPODS_ALERTMANAGER_URL": url,
            "HONEYPODS_WEBHOOK_URL": f"{url}/hook",
            "HONEYPODS_ALERT_LABELS": "team=security,cluster=prod-eu",
            "HONEYPODS_ALERT_QUEUE_SIZE": "50",
            "HONEYPODS_ALERT_TIMEOUT": "2",
            "HONEYPODS_PORTSCAN_PORTS": str(port),
        },
    )
    socket.create_connection(("127.0.0.1", port), 5).close()
    _wait(lambda: {p for p, _ in bodies} >= {"/api/v2/alerts", "/hook"})
    alerts = next(b for p, b in bodies if p == "/api/v2/alerts")
    assert alerts[0]["labels"]["team"] == "security"
    assert alerts[0]["labels"]["cluster"] == "prod-eu"
    hook = next(b for p, b in bodies if p == "/hook")
    assert hook["events"][0]["event"]["kind"] == "alert"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("HONEYPODS_HOST=localhost", "HONEYPODS_HOST="),
        ("HONEYPODS_METRICS_HOST=::g", "HONEYPODS_METRICS_HOST="),
        ("HONEYPODS_METRICS_PORT=70000", "HONEYPODS_METRICS_PORT="),
        ("HONEYPODS_LOG_LEVEL=loud", "HONEYPODS_LOG_LEVEL="),
        ("HONEYPODS_EVENT_LOOP=trio", "HONEYPODS_EVENT_LOOP="),
        ("HONEYPODS_SUMMARY_INTERVAL=-1", "HONEYPODS_SUMMARY_INTERVAL"),
        ("HONEYPODS_ALERTMANAGER_URL=ftp://x", "HONEYPODS_ALERTMANAGER_URL"),
        ("HONEYPODS_WEBHOOK_URL=http://", "HONEYPODS_WEBHOOK_URL"),
        ("HONEYPODS_ALERT_LABELS=severity=low", "HONEYPODS_ALERT_LABELS"),
        ("HONEYPODS_ALERT_QUEUE_SIZE=0", "HONEYPODS_ALERT_QUEUE_SIZE"),
        ("HONEYPODS_ALERT_TIMEOUT=0", "HONEYPODS_ALERT_TIMEOUT"),
        ("HONEYPODS_HOST_NAMES=x", "HONEYPODS_HOST_NAMES: unknown setting"),
        ("HONEYPODS_MAX_CONNECTIONS=0", "HONEYPODS_PORTSCAN_MAX_CONNECTIONS must be positive"),
        ("HONEYPODS_PORTSCAN_SCAN_THRESHOLD=1", "HONEYPODS_PORTSCAN_SCAN_THRESHOLD"),
        ("HONEYPODS_PORTSCAN_SCAN_WINDOW=0", "HONEYPODS_PORTSCAN_SCAN_WINDOW"),
        ("HONEYPODS_PORTSCAN_SCAN_MAX_SOURCES=0", "scan_max_sources"),
        ("HONEYPODS_PORTSCAN_SENSOR=maybe", "HONEYPODS_PORTSCAN_SENSOR"),
        ("HONEYPODS_PORTSCAN_PORTS=9-1", "HONEYPODS_PORTSCAN_PORTS"),
        ("HONEYPODS_PERSONA_SEED=short", "HONEYPODS_PERSONA_SEED"),
        ("HONEYPODS_HONEYTOKEN_PLACEMENTS=wiki", "HONEYPODS_HONEYTOKEN_PLACEMENTS"),
        ("HONEYPODS_HONEYTOKEN_SECRET=x", "HONEYPODS_HONEYTOKEN_SECRET"),
        ("HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS=db", "HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS"),
    ],
)
def test_a_bad_value_stops_the_process_naming_the_setting(setting: str, message: str) -> None:
    assert message in refused(setting)


def test_the_same_port_twice_is_refused() -> None:
    port = free_port()
    stderr = refused(f"HONEYPODS_METRICS_PORT={port}", f"HONEYPODS_PORTSCAN_PORTS={port}")
    assert "already used by HONEYPODS_METRICS_PORT" in stderr


# -- connection limits --------------------------------------------------------------------------


def test_shared_limits_end_connections_with_their_reason(decoy_process: Start) -> None:
    ports = [free_port() for _ in range(3)]
    proc = run(
        decoy_process,
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)),
            # Long enough that the connections held below outlive a slow machine's pauses.
            "HONEYPODS_IDLE_TIMEOUT": "3",
            "HONEYPODS_MAX_BYTES_IN": "16",
            "HONEYPODS_MAX_CONNECTIONS": "3",
            "HONEYPODS_MAX_PER_SOURCE": "2",
        },
    )
    idle = socket.create_connection(("127.0.0.1", ports[0]), 5)
    assert closed(proc, idle.getsockname()[1])["event"]["reason"] == "idle_timeout"
    idle.close()
    flood = socket.create_connection(("127.0.0.1", ports[2]), 5)
    flood.sendall(b"y" * 64)
    assert closed(proc, flood.getsockname()[1])["event"]["reason"] == "limit"
    flood.close()
    # Per source: a third connection from 127.0.0.1 is one too many.
    same = [socket.create_connection(("127.0.0.1", ports[0]), 5) for _ in range(3)]
    assert closed(proc, same[2].getsockname()[1])["event"]["reason"] == "over_capacity"
    locals_ = [sock.getsockname()[1] for sock in same]
    for sock in same:
        sock.close()
    for local in locals_[:2]:
        closed(proc, local)
    # In all: two from 127.0.0.1 and one from 127.0.0.5 fit, a fourth from 127.0.0.6 does not.
    held = [socket.create_connection(("127.0.0.1", ports[0]), 5) for _ in range(2)]
    held.append(socket.create_connection(("127.0.0.1", ports[0]), 5, ("127.0.0.5", 0)))
    extra = socket.create_connection(("127.0.0.1", ports[0]), 5, ("127.0.0.6", 0))
    assert closed(proc, extra.getsockname()[1])["event"]["reason"] == "over_capacity"
    for sock in [*held, extra]:
        sock.close()


def test_the_deadline_ends_a_connection_that_never_goes_idle(decoy_process: Start) -> None:
    port = free_port()
    proc = run(
        decoy_process,
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": str(port),
            "HONEYPODS_IDLE_TIMEOUT": "30",
            "HONEYPODS_DEADLINE": "1",
        },
    )
    chatty = socket.create_connection(("127.0.0.1", port), 5)
    local = chatty.getsockname()[1]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # a byte every 0.2 s: never idle, until the decoy ends it
        try:
            chatty.send(b"x")
        except OSError:
            break
        if proc.of("session.closed"):
            break
        time.sleep(0.2)
    assert closed(proc, local)["event"]["reason"] == "deadline"
    chatty.close()


def test_per_decoy_limits_win_for_every_decoy(decoy_process: Start) -> None:
    # Each decoy's own HONEYPODS_<DECOY>_<LIMIT> beats the shared value; one limit per decoy.
    ports = {
        "portscan": ("HONEYPODS_PORTSCAN_PORTS", free_port()),
        "web": ("HONEYPODS_WEB_PORT", free_port()),
        "mysql": ("HONEYPODS_MYSQL_PORT", free_port()),
        "ssh": ("HONEYPODS_SSH_PORT", free_port()),
    }
    assert set(ports) == set(registry.NAMES)
    settings = {name: str(port) for name, port in ports.values()}
    settings |= {"HONEYPODS_WEB_TLS_PORT": "0", "HONEYPODS_IDLE_TIMEOUT": "60"}
    settings |= {f"HONEYPODS_{d.upper()}_IDLE_TIMEOUT": "0.5" for d in ports}
    # The MySQL greeting and the SSH banner are more than 16 bytes: the cap on bytes out ends them.
    settings["HONEYPODS_MAX_BYTES_OUT"] = "16"
    proc = run(decoy_process, list(ports), settings)
    for decoy, (_name, port) in ports.items():
        sock = socket.create_connection(("127.0.0.1", port), 5)
        reason = closed(proc, sock.getsockname()[1])["event"]["reason"]
        assert reason == ("limit" if decoy in ("mysql", "ssh") else "idle_timeout"), decoy
        sock.close()


# -- the port-scan decoy ------------------------------------------------------------------------


def test_portscan_settings(decoy_process: Start) -> None:
    ports = [free_port() for _ in range(3)]
    proc = run(
        decoy_process,
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)),
            "HONEYPODS_PORTSCAN_SCAN_THRESHOLD": "2",
            "HONEYPODS_PORTSCAN_SCAN_WINDOW": "30",
            "HONEYPODS_PORTSCAN_SCAN_REPORT_DELAY": "0.2",
            "HONEYPODS_PORTSCAN_SCAN_MAX_SOURCES": "100",
            "HONEYPODS_PORTSCAN_CAPTURE_BYTES": "8",
            "HONEYPODS_PORTSCAN_CAPTURE_TIMEOUT": "0.3",
            "HONEYPODS_PORTSCAN_SENSOR": "off",
        },
    )
    assert sorted(int(a.rsplit(":", 1)[1]) for a in starts(proc)["portscan"]) == sorted(ports)
    with socket.create_connection(("127.0.0.1", ports[0]), 5) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        payload = proc.wait_for(
            lambda docs: any(d["event"]["action"] == "portscan.payload" for d in docs)
        )
    event = next(d for d in payload if d["event"]["action"] == "portscan.payload")
    assert event["portscan"]["payload_bytes"] == 8
    assert event["portscan"]["truncated"] is True
    with socket.create_connection(("127.0.0.1", ports[1]), 5) as sock:
        sock.sendall(b"abc")  # short of the cap: logged once the capture timeout passes
        started = time.monotonic()
        docs = proc.wait_for(
            lambda docs: sum(d["event"]["action"] == "portscan.payload" for d in docs) >= 2
        )
        assert time.monotonic() - started < 5
    scans = proc.wait_for(lambda docs: any(d["event"]["action"] == "portscan.scan" for d in docs))
    scan = next(d for d in scans if d["event"]["action"] == "portscan.scan")
    assert scan["portscan"]["window"] == 30.0
    assert set(scan["portscan"]["ports"]) == {ports[0], ports[1]}
    assert [d["portscan"]["payload"] for d in docs if d["event"]["action"] == "portscan.payload"][
        1
    ] == "abc"


# -- no knob left untested ----------------------------------------------------------------------


def test_every_setting_is_exercised() -> None:
    text = "\n".join(p.read_text() for p in TESTS.rglob("test_settings_*.py"))
    limit_names = {f.name.upper() for f in dataclasses.fields(Limits)}
    missing = []
    for name in sorted(known_names()):
        suffix = name.removeprefix("HONEYPODS_")
        decoy, _, rest = suffix.partition("_")
        if decoy.lower() in registry.NAMES and rest in limit_names:
            continue  # per-decoy limits: test_per_decoy_limits_win_for_every_decoy covers the form
        if not re.search(rf"\b{name}\b", text):
            missing.append(name)
    assert missing == [], "set each of these through --set in a tests/**/test_settings_*.py"

"""The metrics and health endpoint: on its own port, never an alert, bounded labels."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import pytest
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{{{want}}}")


def test_probes_and_scrapes_never_touch_a_decoy_or_raise_an_alert(decoy_process) -> None:
    port, metrics_port = free_port(), free_port()
    proc = decoy_process(
        ["portscan"],
        {"HONEYPODS_PORTSCAN_PORTS": str(port), "HONEYPODS_METRICS_PORT": str(metrics_port)},
    )
    for _ in range(5):
        assert _get(metrics_port, "/healthz") == (200, "ok\n")
        assert _get(metrics_port, "/readyz") == (200, "ready\n")
        status, _body = _get(metrics_port, "/metrics")
        assert status == 200
    assert _get(metrics_port, "/nope")[0] == 404
    alerts = [e for e in proc.events() if e["event"]["kind"] == "alert"]
    assert alerts == []


def test_counters_follow_the_events(decoy_process) -> None:
    port, metrics_port = free_port(), free_port()
    decoy_process(
        ["portscan"],
        {"HONEYPODS_PORTSCAN_PORTS": str(port), "HONEYPODS_METRICS_PORT": str(metrics_port)},
    ).wait_for(lambda d: True)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"hello")
    text = ""
    for _ in range(100):
        text = _get(metrics_port, "/metrics")[1]
        if 'honeypods_connections_closed_total{decoy="portscan",reason="eof"} 3.0' in text:
            break
        time.sleep(0.1)
    assert _sample(text, "honeypods_connections_total", decoy="portscan") == 3
    assert _sample(text, "honeypods_connections_closed_total", decoy="portscan", reason="eof") == 3
    assert _sample(text, "honeypods_connections_active", decoy="portscan") == 0
    assert (
        _sample(text, "honeypods_alert_events_total", decoy="portscan", rule="honeypod.ip.enum")
        == 9  # connect, payload and closed, for each of the three
    )
    assert _sample(text, "honeypods_events_total", decoy="portscan", event="portscan.payload") == 3
    # Bounded labels: no address or port ever becomes a label value.
    assert "127.0.0.1" not in text
    assert str(port) not in text


def test_metrics_endpoint_survives_garbage(decoy_process) -> None:
    metrics_port = free_port()
    decoy_process(
        ["portscan"],
        {"HONEYPODS_PORTSCAN_PORTS": str(free_port()), "HONEYPODS_METRICS_PORT": str(metrics_port)},
    )
    for junk in (
        b"\x16\x03\x01\x00\xff" + b"\x00" * 300,
        b"A" * 20000,
        b"POST /metrics HTTP/1.1\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=10) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(1000)
    assert _get(metrics_port, "/healthz")[0] == 200

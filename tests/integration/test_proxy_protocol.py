"""Decoys behind a real load balancer: HAProxy with ``send-proxy`` / ``send-proxy-v2`` on loopback.

The client connects from 127.0.0.3 to HAProxy, HAProxy connects to the decoy from 127.0.0.2 (the
only address the decoy trusts) and sends the PROXY header. Every event must name the client in
``source.ip`` and HAProxy in ``source.nat.ip``; clients reaching the decoy directly are served as
before, and a header from one of them is logged as an attack.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import DecoyProcess, free_port, refused_at_start, require_tool

pytestmark = pytest.mark.integration

LB = "127.0.0.2"
CLIENT = "127.0.0.3"
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def _proxied(decoy: str, **extra: str) -> dict[str, str]:
    up = decoy.upper()
    return {
        f"HONEYPODS_{up}_PROXY_PROTOCOL": "true",
        f"HONEYPODS_{up}_PROXY_TRUSTED": f"{LB}/32,2001:db8::/32",
        **extra,
    }


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Callable[[int, str], int]]:
    """``haproxy(decoy_port, "send-proxy-v2")``: a TCP-mode HAProxy in front of the decoy."""
    exe = require_tool("haproxy")
    procs: list[subprocess.Popen[bytes]] = []

    def start(backend: int, send: str) -> int:
        front = free_port()
        cfg = tmp_path / f"haproxy{len(procs)}.cfg"
        cfg.write_text(
            "global\n  maxconn 200\n"
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
            "  timeout server 60s\n"
            f"frontend lb\n  bind 127.0.0.1:{front}\n  default_backend decoy\n"
            f"backend decoy\n  server decoy 127.0.0.1:{backend} {send} source {LB}\n"
        )
        with (tmp_path / f"haproxy{len(procs)}.log").open("wb") as log:
            proc = subprocess.Popen([exe, "-db", "-f", str(cfg)], stdout=log, stderr=log)
        procs.append(proc)
        deadline = time.monotonic() + 15
        while not _listening(front):
            assert proc.poll() is None, (tmp_path / f"haproxy{len(procs) - 1}.log").read_text()
            assert time.monotonic() < deadline, "haproxy did not start listening"
            time.sleep(0.05)
        return front

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _listening(port: int) -> bool:
    # ss, not a probe connection: a probe would reach the decoy through HAProxy and be logged.
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    return f":{port}" in out


def _client_socket(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.settimeout(20)
    sock.bind((CLIENT, 0))
    sock.connect((host, port))
    return sock


def _of_client(docs: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["event"]["action"] == action and d["source"]["ip"] == CLIENT]


def _behind_the_balancer(event: dict[str, Any]) -> None:
    assert event["source"]["ip"] == CLIENT
    assert event["source"]["nat"]["ip"] == LB


def test_mysql_behind_haproxy_send_proxy(
    decoy_process: Callable[..., DecoyProcess], haproxy: Callable[[int, str], int]
) -> None:
    port = free_port()
    proc = decoy_process(["mysql"], {"HONEYPODS_MYSQL_PORT": str(port), **_proxied("mysql")})
    front = haproxy(port, "send-proxy")
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(
            host="127.0.0.1",
            port=front,
            user="root",
            password="nope",
            bind_address=CLIENT,
            connect_timeout=10,
        )
    # What the client saw names it too, as MySQL behind a proxy-protocol balancer does.
    assert info.value.args == (
        1045,
        f"Access denied for user 'root'@'{CLIENT}' (using password: YES)",
    )
    docs = proc.wait_for(lambda d: bool(_of_client(d, "session.closed")))
    (login,) = _of_client(docs, "mysql.login")
    _behind_the_balancer(login)
    assert login["event"]["outcome"] == "failure"
    (connect,) = _of_client(docs, "session.connect")
    _behind_the_balancer(connect)
    assert not [d for d in docs if d["event"]["action"].startswith("proxy.")]


async def test_ssh_behind_haproxy_send_proxy_v2(
    decoy_process: Callable[..., DecoyProcess], haproxy: Callable[[int, str], int]
) -> None:
    port = free_port()
    proc = decoy_process(["ssh"], {"HONEYPODS_SSH_PORT": str(port), **_proxied("ssh")})
    front = haproxy(port, "send-proxy-v2")
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            "127.0.0.1",
            front,
            local_addr=(CLIENT, 0),
            username="root",
            password="hunter2",
            known_hosts=None,
            client_keys=None,
            agent_path=None,
            connect_timeout=30,
        )
    docs = await asyncio.to_thread(proc.wait_for, lambda d: bool(_of_client(d, "session.closed")))
    (version,) = _of_client(docs, "ssh.client_version")
    _behind_the_balancer(version)
    logins = _of_client(docs, "ssh.login")
    assert logins
    for login in logins:
        _behind_the_balancer(login)


@pytest.mark.parametrize("send", ["send-proxy", "send-proxy-v2"])
def test_web_https_behind_haproxy_header_before_the_client_hello(
    decoy_process: Callable[..., DecoyProcess], haproxy: Callable[[int, str], int], send: str
) -> None:
    port, tls_port = free_port(), free_port()
    env = {"HONEYPODS_WEB_PORT": str(port), "HONEYPODS_WEB_TLS_PORT": str(tls_port)}
    proc = decoy_process(["web"], {**env, **_proxied("web")})
    front = haproxy(tls_port, send)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(_client_socket(front), server_hostname="dashboard.internal") as tls:
        tls.sendall(b"GET /login HTTP/1.1\r\nHost: dashboard.internal\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 ")
    docs = proc.wait_for(lambda d: bool(_of_client(d, "session.closed")))
    (request,) = _of_client(docs, "web.request")
    _behind_the_balancer(request)
    assert request["url"]["path"] == "/login"
    (hello,) = _of_client(docs, "web.tls")
    assert hello["tls"]["client"]["server_name"] == "dashboard.internal"


def test_direct_clients_are_served_and_a_spoofed_header_is_an_attack(
    decoy_process: Callable[..., DecoyProcess],
) -> None:
    port = free_port()
    env = {
        "HONEYPODS_MYSQL_PORT": str(port),
        "HONEYPODS_MYSQL_ACCEPT": "root:",
        **_proxied("mysql"),
    }
    proc = decoy_process(["mysql"], env)
    # A pod reaching the Service directly, past the balancer: no header, served as ever.
    conn = pymysql.connect(
        host="127.0.0.1", port=port, user="root", password="", connect_timeout=10
    )
    conn.close()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        greeting = sock.recv(4096)
        assert greeting[4] == 10  # protocol version 10: the greeting came without a header
        sock.sendall(b"PROXY TCP4 10.1.2.3 10.0.0.1 4444 3306\r\n")
        while sock.recv(4096):
            pass
    docs = proc.wait_for(lambda d: sum(e["event"]["action"] == "session.closed" for e in d) >= 2)
    (spoof,) = [d for d in docs if d["event"]["action"] == "proxy.untrusted"]
    assert spoof["source"]["ip"] == "127.0.0.1"
    assert "nat" not in spoof["source"]
    assert spoof["honeypod"]["proxy"]["source"] == {"ip": "10.1.2.3", "port": 4444}
    assert spoof["event"]["kind"] == "alert"
    assert spoof["rule"]["name"] == "honeypod.vuln.svc"
    assert all(d["source"]["ip"] == "127.0.0.1" for d in docs if "source" in d)


_HEADERS = st.one_of(
    st.binary(max_size=120).map(lambda b: b"PROXY " + b),
    st.binary(max_size=300).map(lambda b: SIG + b),
    st.binary(min_size=1, max_size=64),
)


def test_fuzzed_headers_from_the_balancer_never_break_the_decoy(
    decoy_process: Callable[..., DecoyProcess],
) -> None:
    port = free_port()
    env = {
        "HONEYPODS_MYSQL_PORT": str(port),
        **_proxied("mysql", HONEYPODS_MYSQL_PROXY_TIMEOUT="2"),
    }
    proc = decoy_process(["mysql"], env)
    sent = [0]

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(_HEADERS)
    def one(data: bytes) -> None:
        sock = socket.socket()
        sock.settimeout(20)
        sock.bind((LB, 0))
        with sock:
            sock.connect(("127.0.0.1", port))
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        sent[0] += 1

    one()
    # Still serving: a well-formed header gets the greeting.
    with socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(LB, 0)) as s:
        s.sendall(b"PROXY TCP4 192.0.2.9 192.0.2.1 1234 3306\r\n")
        assert s.recv(4096)[4] == 10
    total = sent[0] + 1
    docs = proc.wait_for(
        lambda d: sum(e["event"]["action"] == "session.closed" for e in d) >= total, 60
    )
    connects = [d for d in docs if d["event"]["action"] == "session.connect"]
    assert len(connects) == total
    assert not [d for d in docs if d["event"]["action"] == "honeypods.error"]
    assert proc.proc.poll() is None


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"HONEYPODS_WEB_PROXY_PROTOCOL": "true"}, "HONEYPODS_WEB_PROXY_TRUSTED: needed"),
        (
            {"HONEYPODS_SSH_PROXY_PROTOCOL": "true", "HONEYPODS_SSH_PROXY_TRUSTED": "10.0.0.1/8"},
            "HONEYPODS_SSH_PROXY_TRUSTED: '10.0.0.1/8' is not an address or CIDR",
        ),
        ({"HONEYPODS_MYSQL_PROXY_TIMEOUT": "0"}, "HONEYPODS_MYSQL_PROXY_TIMEOUT: more than 0"),
        ({"HONEYPODS_PORTSCAN_PROXY_PROTOCOL": "true"}, "HONEYPODS_PORTSCAN_PROXY_PROTOCOL"),
    ],
)
def test_bad_proxy_settings_refuse_to_start(
    decoy_process: Callable[..., DecoyProcess], settings_: dict[str, str], message: str
) -> None:
    decoy = next(iter(settings_)).split("_")[1].lower()
    refused_at_start(decoy_process, decoy, settings_, message)

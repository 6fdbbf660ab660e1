"""Every HONEYPODS_WEB_* setting, set through the real CLI (``python -m honeypods run web --set``).

Each setting is shown to have its documented effect on the wire or in the events, or to be
refused at start with exit status 2 and a message naming it. Settings are batched: one decoy
process for the persona and the generated certificate, one for certificate files, one for the
connection limits, and one short-lived process per refused value.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from tests.conftest import DecoyProcess, free_port, refused_at_start

from honeypods.web.https import generate_certificate
from honeypods.web.site import LOGIN_PATH

pytestmark = pytest.mark.integration

Start = Callable[..., DecoyProcess]


def run_web(decoy_process: Start, settings: dict[str, str]) -> DecoyProcess:
    """The web decoy with ``settings`` given as ``--set NAME=VALUE`` flags, once listening."""
    args = ["web"]
    for name, value in settings.items():
        args += ["--set", f"{name}={value}"]
    proc = decoy_process(args, wait=False)
    proc.expected = 1
    proc.wait_ready()
    return proc


def exchange(port: int, data: bytes, *, source: str = "127.0.0.1", timeout: float = 10) -> bytes:
    """Send ``data``, read until the decoy closes."""
    with socket.create_connection(("127.0.0.1", port), timeout, (source, 0)) as sock:
        sock.sendall(data)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
    return out


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: dashboard.internal", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def closed(proc: DecoyProcess, port: int, timeout: float = 15) -> dict[str, Any]:
    """The session.closed event of the connection from local ``port``."""

    def match(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            d
            for d in docs
            if d["event"]["action"] == "session.closed" and d["source"]["port"] == port
        ]

    return match(proc.wait_for(lambda docs: bool(match(docs)), timeout))[0]


def test_persona_and_generated_certificate(decoy_process: Start) -> None:
    port, tls_port = free_port(), free_port()
    proc = run_web(
        decoy_process,
        {
            "HONEYPODS_WEB_PORT": str(port),
            "HONEYPODS_WEB_TLS_PORT": str(tls_port),
            "HONEYPODS_WEB_SERVER_VERSION": "1.24.0",
            "HONEYPODS_WEB_TITLE": "Grafana Sign-in",
            "HONEYPODS_WEB_PRODUCT": "Acme Grafana",
            "HONEYPODS_WEB_TLS_COMMON_NAME": "grafana.corp.internal",
            "HONEYPODS_WEB_TLS_SANS": "grafana.corp.internal,10.1.2.3",
            "HONEYPODS_WEB_LOGIN_DELAY": "1.2",
        },
    )
    # HONEYPODS_WEB_PORT and HONEYPODS_WEB_TLS_PORT: both are listened on, and nothing else.
    start = next(e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "web")
    assert sorted(start["honeypod"]["addresses"]) == sorted(
        [f"127.0.0.1:{port}", f"127.0.0.1:{tls_port}"]
    )
    # HONEYPODS_WEB_SERVER_VERSION: the Server header and the error pages.
    index = exchange(port, get("/"))
    assert b"\r\nServer: nginx/1.24.0\r\n" in index
    assert b"<center>nginx/1.24.0</center>" in exchange(port, get("/nope"))
    # HONEYPODS_WEB_TITLE and HONEYPODS_WEB_PRODUCT: the shell (the client renders the login
    # screen from its settings), the web manifest, and the realm of /api/.
    assert b"<title>Grafana Sign-in</title>" in index
    assert b'"product":"Acme Grafana"' in index
    assert b'"name": "Acme Grafana"' in exchange(port, get("/manifest.json"))
    assert b'\r\nWWW-Authenticate: Basic realm="Acme Grafana API"\r\n' in exchange(
        port, get("/api/v1/users")
    )
    # HONEYPODS_WEB_LOGIN_DELAY: a failed login answers only after the delay.
    body = b'{"username":"admin","password":"admin"}'
    post = (
        b"POST %s HTTP/1.1\r\nHost: dashboard.internal\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (LOGIN_PATH.encode(), len(body), body)
    )
    began = time.monotonic()
    answer = exchange(port, post)
    assert answer.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert time.monotonic() - began >= 1.1
    # HONEYPODS_WEB_TLS_COMMON_NAME and HONEYPODS_WEB_TLS_SANS: the generated certificate.
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", tls_port), 10) as raw,
        client.wrap_socket(raw, server_hostname="grafana.corp.internal") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject.rfc4514_string() == "CN=grafana.corp.internal"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["grafana.corp.internal"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]


def test_certificate_from_files(decoy_process: Start, tmp_path: Path) -> None:
    cert_pem, key_pem = generate_certificate("files.example", ("files.example",))
    cert_file, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    tls_port = free_port()
    run_web(
        decoy_process,
        {
            "HONEYPODS_WEB_PORT": str(free_port()),
            "HONEYPODS_WEB_TLS_PORT": str(tls_port),
            "HONEYPODS_WEB_TLS_CERT": str(cert_file),
            "HONEYPODS_WEB_TLS_KEY": str(key_file),
            # Ignored with certificate files.
            "HONEYPODS_WEB_TLS_COMMON_NAME": "generated.example",
        },
    )
    # HONEYPODS_WEB_TLS_CERT and HONEYPODS_WEB_TLS_KEY: exactly that certificate is served.
    served = ssl.get_server_certificate(("127.0.0.1", tls_port), timeout=10)
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(cert_pem.decode())


def _handshake(port: int, name: str | None) -> bytes | ssl.SSLError:
    """The certificate the decoy serves for SNI ``name`` (None: no SNI), or the handshake error."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), 10) as raw,
            client.wrap_socket(raw, server_hostname=name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLError as exc:
        return exc
    assert der is not None
    return der


def test_reject_handshake_and_kept_certificate(decoy_process: Start, tmp_path: Path) -> None:
    state = tmp_path / "state"
    settings = {
        "HONEYPODS_STATE_DIR": str(state),
        "HONEYPODS_WEB_TLS_REJECT_HANDSHAKE": "true",
        "HONEYPODS_WEB_TLS_SERVER_NAMES": "ops.corp.internal,ops",
        "HONEYPODS_WEB_TLS_ORGANIZATION": "Initech",
        "HONEYPODS_WEB_TLS_DAYS": "30",
        "HONEYPODS_WEB_PERSONA": "nginx-1.18.0-ubuntu22.04",
    }
    served: list[bytes] = []
    leaked: list[bytes] = []
    for _ in range(2):
        port, tls_port = free_port(), free_port()
        proc = run_web(
            decoy_process,
            {"HONEYPODS_WEB_PORT": str(port), "HONEYPODS_WEB_TLS_PORT": str(tls_port)} | settings,
        )
        head, _, body = exchange(port, get("/.env")).partition(b"\r\n\r\n")
        # HONEYPODS_WEB_PERSONA: that build's Server header, whatever the seed would draw.
        assert b"\r\nServer: nginx/1.18.0 (Ubuntu)\r\n" in head + b"\r\n"
        leaked.append(body)
        # HONEYPODS_WEB_TLS_REJECT_HANDSHAKE and HONEYPODS_WEB_TLS_SERVER_NAMES: only the server
        # names get a certificate; another name, or none, gets unrecognized_name.
        for refused in ("admin.corp.internal", None):
            error = _handshake(tls_port, refused)
            assert isinstance(error, ssl.SSLError), refused
            assert "UNRECOGNIZED_NAME" in str(error)
        der = _handshake(tls_port, "ops.corp.internal")
        assert isinstance(der, bytes)
        served.append(der)
        proc.stop()
    # HONEYPODS_STATE_DIR: the second start serves the certificate the first one issued, and
    # the honeytokens of the seed drawn at the first start (no HONEYPODS_PERSONA_SEED here).
    assert served[0] == served[1]
    assert b"API_TOKEN=" in leaked[0]
    assert leaked[0] == leaked[1]
    assert any(state.iterdir())
    cert = x509.load_der_x509_certificate(served[0])
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["ops.corp.internal", "ops"]
    # HONEYPODS_WEB_TLS_ORGANIZATION: the issuing internal CA; HONEYPODS_WEB_TLS_DAYS: lifetime.
    assert "O=Initech" in cert.issuer.rfc4514_string()
    assert "Initech Internal CA" in cert.issuer.rfc4514_string()
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 30 <= lifetime.days <= 31


def test_connection_limits(decoy_process: Start) -> None:
    port = free_port()
    proc = run_web(
        decoy_process,
        {
            "HONEYPODS_WEB_PORT": str(port),
            "HONEYPODS_WEB_TLS_PORT": "0",
            "HONEYPODS_WEB_MAX_PER_SOURCE": "2",
            "HONEYPODS_WEB_MAX_CONNECTIONS": "3",
            "HONEYPODS_WEB_IDLE_TIMEOUT": "1.5",
            "HONEYPODS_WEB_DEADLINE": "3",
            "HONEYPODS_WEB_MAX_BYTES_IN": "4096",
            "HONEYPODS_WEB_MAX_BYTES_OUT": "20000",
        },
    )
    # HONEYPODS_WEB_TLS_PORT=0: no HTTPS listener.
    start = next(e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "web")
    assert start["honeypod"]["addresses"] == [f"127.0.0.1:{port}"]

    def connect(source: str) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), 10, (source, 0))

    def local_port(sock: socket.socket) -> int:
        return int(sock.getsockname()[1])

    # HONEYPODS_WEB_MAX_PER_SOURCE=2: a third connection from one address is refused.
    held = [connect("127.0.0.1"), connect("127.0.0.1")]
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "session.connect" for d in docs) >= 2)
    with connect("127.0.0.1") as third:
        assert closed(proc, local_port(third))["event"]["reason"] == "over_capacity"
    # HONEYPODS_WEB_MAX_CONNECTIONS=3: a fourth connection is refused, whatever its source.
    held.append(connect("127.0.0.2"))
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "session.connect" for d in docs) >= 4)
    with connect("127.0.0.3") as fourth:
        assert closed(proc, local_port(fourth))["event"]["reason"] == "over_capacity"
    for sock in held:
        closed(proc, local_port(sock))  # ended by the idle timeout below at the latest
        sock.close()

    # HONEYPODS_WEB_IDLE_TIMEOUT=1.5: a head that stops coming in is dropped without an answer.
    with connect("127.0.0.1") as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        began = time.monotonic()
        assert slow.recv(100) == b""
        assert 1.2 <= time.monotonic() - began < 5
        assert closed(proc, local_port(slow))["event"]["reason"] == "idle_timeout"
    # HONEYPODS_WEB_DEADLINE=3: a busy keep-alive connection still ends after 3 s.
    with connect("127.0.0.1") as busy:
        began = time.monotonic()
        busy.settimeout(10)
        while time.monotonic() - began < 10:
            busy.sendall(b"GET /favicon.svg HTTP/1.1\r\nHost: a\r\n\r\n")
            try:
                if not busy.recv(65536):
                    break
            except ConnectionResetError:
                break
            time.sleep(0.3)
        assert 2.5 <= time.monotonic() - began < 6
        assert closed(proc, local_port(busy))["event"]["reason"] == "deadline"
    # HONEYPODS_WEB_MAX_BYTES_IN=4096: a larger request ends the connection.
    with connect("127.0.0.1") as big:
        body = b"x" * 8000
        head = b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (
            LOGIN_PATH.encode(),
            len(body),
        )
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            big.sendall(head + body)
        assert closed(proc, local_port(big))["event"]["reason"] == "limit"
    # HONEYPODS_WEB_MAX_BYTES_OUT=20000: answers stop once 20000 bytes went out.
    with connect("127.0.0.1") as greedy:
        request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            greedy.sendall(request * 30)
        event = closed(proc, local_port(greedy))
        assert event["event"]["reason"] == "limit"
        assert event["destination"]["bytes"] > 20000


BAD_VALUES = [
    ({"HONEYPODS_WEB_PORT": "70000"}, "HONEYPODS_WEB_PORT=70000: a port is 0-65535"),
    ({"HONEYPODS_WEB_TLS_PORT": "https"}, "HONEYPODS_WEB_TLS_PORT='https'"),
    (
        {"HONEYPODS_WEB_PORT": "18080", "HONEYPODS_WEB_TLS_PORT": "18080"},
        "HONEYPODS_WEB_TLS_PORT=18080: already used by HONEYPODS_WEB_PORT",
    ),
    ({"HONEYPODS_WEB_SERVER_VERSION": "1.22.1\r\nX-Injected: 1"}, "HONEYPODS_WEB_SERVER_VERSION"),
    ({"HONEYPODS_WEB_PRODUCT": 'Acme "Ops"'}, "HONEYPODS_WEB_PRODUCT"),
    ({"HONEYPODS_WEB_TLS_CERT": "{dir}/tls.crt"}, "HONEYPODS_WEB_TLS_KEY go together"),
    (
        {"HONEYPODS_WEB_TLS_CERT": "{dir}/none.crt", "HONEYPODS_WEB_TLS_KEY": "{dir}/tls.crt"},
        "HONEYPODS_WEB_TLS_CERT/KEY: no file",
    ),
    (
        {"HONEYPODS_WEB_TLS_CERT": "{dir}/tls.crt", "HONEYPODS_WEB_TLS_KEY": "{dir}/tls.crt"},
        "HONEYPODS_WEB_TLS_CERT/KEY: not a readable PEM certificate and its key",
    ),
    ({"HONEYPODS_WEB_TLS_COMMON_NAME": "x" * 65}, "HONEYPODS_WEB_TLS_COMMON_NAME"),
    ({"HONEYPODS_WEB_TLS_SANS": "ok.example,not a name"}, "HONEYPODS_WEB_TLS_SANS"),
    ({"HONEYPODS_WEB_LOGIN_DELAY": "-1"}, "HONEYPODS_WEB_LOGIN_DELAY: 0 to 60 seconds"),
    ({"HONEYPODS_WEB_LOGIN_DELAY": "soon"}, "HONEYPODS_WEB_LOGIN_DELAY='soon'"),
    ({"HONEYPODS_WEB_IDLE_TIMEOUT": "0"}, "HONEYPODS_WEB_IDLE_TIMEOUT must be positive"),
]


@pytest.mark.parametrize(
    ("settings", "message"), BAD_VALUES, ids=[next(iter(s)) for s, _ in BAD_VALUES]
)
def test_bad_values_are_refused_at_start(
    decoy_process: Start, tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    (tmp_path / "tls.crt").write_text("not a certificate\n")
    values = {name: value.replace("{dir}", str(tmp_path)) for name, value in settings.items()}
    refused_at_start(decoy_process, "web", values, message)

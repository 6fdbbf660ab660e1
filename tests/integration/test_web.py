"""The web decoy driven by attackers' clients: curl, aiohttp's client, a raw TLS client, nmap."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.conftest import Captured, free_port, require_tool

from honeypods.core.guard import Limits
from honeypods.web import server as web
from honeypods.web.config import WebConfig
from honeypods.web.https import generate_certificate
from honeypods.web.install import resolve
from honeypods.web.site import LOGIN_PATH, content_hash

pytestmark = pytest.mark.integration

RULE = "honeypod.fake.svc"


@pytest.fixture
async def decoy(captured: Captured) -> AsyncIterator[WebConfig]:
    config = WebConfig(port=free_port(), tls_port=free_port(), login_delay=0.05, product="Acme Ops")
    running = await web.start(config, limits=Limits(), host="127.0.0.1")
    try:
        yield config
    finally:
        await running.stop()


def by_session(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in events:
        if "honeypod.session" in e:
            out.setdefault(e["honeypod.session"], []).append(e["event.action"])
    return out


async def test_aiohttp_client_login_flow(decoy: WebConfig, captured: Captured) -> None:
    base = f"http://127.0.0.1:{decoy.port}"
    async with aiohttp.ClientSession() as client:
        async with client.get(base + "/") as resp:
            page = await resp.text()
            assert resp.status == 200
            assert resp.headers["Server"] == "nginx/1.22.1"
            assert list(resp.headers)[:2] == ["Server", "Date"]
            assert "<form" not in page
            assert '"product":"Acme Ops"' in page
        css = re.search(r'href="(/assets/index-[A-Za-z0-9_-]{8}\.css)"', page)
        assert css is not None, page
        async with client.get(base + css[1]) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/css"
            etag = resp.headers["ETag"]
            modified = resp.headers["Last-Modified"]
        async with client.get(base + css[1], headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
            assert resp.headers["Last-Modified"] == modified
        async with client.post(
            base + LOGIN_PATH, json={"username": "alice", "password": "s3cr3t!"}
        ) as resp:
            assert resp.status == 401
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "Invalid username or password"}
        async with client.get(
            base + "/api/v1/secrets",
            headers={"Authorization": "Basic " + base64.b64encode(b"svc:hunter2").decode()},
        ) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == 'Basic realm="Acme Ops API"'
            assert "<center>nginx/1.22.1</center>" in await resp.text()
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= 1)
    logins = captured.of("web.login")
    assert [(e["user.name"], e["web.password"], e["web.auth_method"]) for e in logins] == [
        ("alice", "s3cr3t!", "form"),
        ("svc", "hunter2", "basic"),
    ]
    requests = captured.of("web.request")
    assert [
        (e["http.request.method"], e["url.path"], e["http.response.status_code"]) for e in requests
    ] == [
        ("GET", "/", 200),
        ("GET", css[1], 200),
        ("GET", css[1], 304),
        ("POST", LOGIN_PATH, 401),
        ("GET", "/api/v1/secrets", 401),
    ]
    post = requests[3]
    assert post["http.request.body.content"] == '{"username": "alice", "password": "s3cr3t!"}'
    assert post["http.request.body.bytes"] == len(post["http.request.body.content"])
    assert all(e["rule.name"] == RULE for e in captured.flat if "rule.name" in e)
    assert not captured.of("honeypods.error")


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("curl"), "-sS", "-v", "--max-time", "20", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_curl_through_the_runner(decoy_process: Any) -> None:
    port, tls_port = free_port(), free_port()
    proc = decoy_process(
        ["web"],
        {
            "HONEYPODS_WEB_PORT": str(port),
            "HONEYPODS_WEB_TLS_PORT": str(tls_port),
            "HONEYPODS_WEB_LOGIN_DELAY": "0.1",
            "HONEYPODS_WEB_TLS_COMMON_NAME": "ops.corp.internal",
            "HONEYPODS_PERSONA_SEED": "runner-seed-0003",
        },
    )
    # The persona the runner's seed draws (nginx 1.18.0 on Ubuntu): what follows "nginx/".
    server = resolve(WebConfig(), "runner-seed-0003").persona.server
    index = curl(f"http://127.0.0.1:{port}/")
    assert index.returncode == 0, index.stderr
    assert "< HTTP/1.1 200 OK" in index.stderr
    assert f"< Server: nginx/{server}" in [line.rstrip() for line in index.stderr.splitlines()]
    assert '<div id="root"></div>' in index.stdout
    login = curl("-d", "username=root&password=toor", f"http://127.0.0.1:{port}{LOGIN_PATH}")
    assert "< HTTP/1.1 401 Unauthorized" in login.stderr
    assert login.stdout == '{"message":"Invalid username or password"}'
    missing = curl(f"http://127.0.0.1:{port}/.git/config")
    assert "< HTTP/1.1 404 Not Found" in missing.stderr
    assert f"<hr><center>nginx/{server}</center>" in missing.stdout
    secure = curl(
        "-k",
        "--resolve",
        f"ops.corp.internal:{tls_port}:127.0.0.1",
        f"https://ops.corp.internal:{tls_port}/nope",
    )
    assert "subject: CN=ops.corp.internal" in secure.stderr
    assert "< HTTP/1.1 404 Not Found" in secure.stderr
    docs = proc.wait_for(lambda d: sum(e["event"]["action"] == "session.closed" for e in d) >= 4)
    requests = [d for d in docs if d["event"]["action"] == "web.request"]
    assert [(d["url"]["path"], d["http"]["response"]["status_code"]) for d in requests] == [
        ("/", 200),
        (LOGIN_PATH, 401),
        ("/.git/config", 404),
        ("/nope", 404),
    ]
    login_events = [d for d in docs if d["event"]["action"] == "web.login"]
    assert [(d["user"]["name"], d["web"]["password"]) for d in login_events] == [("root", "toor")]
    tls = [d for d in docs if d["event"]["action"] == "web.tls"]
    assert tls[0]["tls"]["client"]["server_name"] == "ops.corp.internal"
    assert tls[0]["tls"]["established"] is True
    assert tls[0]["tls"]["version"] in ("1.2", "1.3")


async def test_failed_tls_handshake_is_logged(decoy: WebConfig, captured: Captured) -> None:
    def bad_client() -> None:
        ctx = ssl.create_default_context()  # verifies: the self-signed certificate is refused
        with (
            socket.create_connection(("127.0.0.1", decoy.tls_port), timeout=10) as raw,
            pytest.raises(ssl.SSLError),
            ctx.wrap_socket(raw, server_hostname="db.internal"),
        ):
            pass

    await asyncio.to_thread(bad_client)

    def garbage() -> None:
        with socket.create_connection(("127.0.0.1", decoy.tls_port), timeout=10) as raw:
            raw.sendall(b"\x16\x03\x01\x00\x05hello")
            raw.settimeout(10)
            while raw.recv(4096):
                pass

    await asyncio.to_thread(garbage)
    await captured.wait_for(lambda ev: sum(e["event.action"] == "web.tls" for e in ev) >= 2)
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= 2)
    tls = captured.of("web.tls")
    assert [e["tls.established"] for e in tls] == [False, False]
    assert tls[0]["tls.client.server_name"] == "db.internal"
    assert all(e["web.error"] for e in tls)
    assert not captured.of("honeypods.error")


async def test_every_request_is_one_event(decoy: WebConfig, captured: Captured) -> None:
    sent = [
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET /half",
        b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nuser" % LOGIN_PATH.encode(),
    ]

    def send(data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", decoy.port), timeout=10) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(10)
            while sock.recv(65536):
                pass

    for data in sent:
        await asyncio.to_thread(send, data)
    await captured.wait_for(
        lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= len(sent)
    )
    per = by_session(captured.flat)
    counts = [actions.count("web.request") for actions in per.values()]
    assert counts == [2, 1, 1, 1, 1]
    incomplete = captured.of("web.request")[-2:]
    assert incomplete[0]["web.error"] == "client closed the request early"
    assert bytes.fromhex(incomplete[0]["web.raw_hex"]) == b"GET /half"
    assert incomplete[1]["web.error"] == "client closed the body early"


@pytest.mark.parametrize(
    ("persona", "version"),
    [("nginx-1.22.1-debian12", "1.22.1"), ("nginx-1.18.0-ubuntu22.04", "1.18.0")],
)
def test_nmap_names_nginx_on_both_ports(decoy_process: Any, persona: str, version: str) -> None:
    nmap = require_tool("nmap")
    port, tls_port = free_port(), free_port()
    decoy_process(
        ["web"],
        {
            "HONEYPODS_WEB_PORT": str(port),
            "HONEYPODS_WEB_TLS_PORT": str(tls_port),
            "HONEYPODS_WEB_PERSONA": persona,
        },
    )
    result = subprocess.run(
        [
            nmap,
            "-sV",
            "-Pn",
            "-n",
            "--version-intensity",
            "5",
            "-p",
            f"{port},{tls_port}",
            "127.0.0.1",
            "-oX",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=True,
    )
    services = _nmap_services(result.stdout)
    assert services[port] == ("http", "nginx", version, ""), result.stdout
    assert services[tls_port] == ("http", "nginx", version, "ssl"), result.stdout


def _nmap_services(xml: str) -> dict[int, tuple[str, str, str, str]]:
    import xml.etree.ElementTree as ET

    out = {}
    for port in ET.fromstring(xml).iter("port"):  # noqa: S314 - nmap's own output
        service = port.find("service")
        assert service is not None
        out[int(port.get("portid", "0"))] = (
            service.get("name", ""),
            service.get("product", ""),
            service.get("version", ""),
            service.get("tunnel", ""),
        )
    return out


async def test_slow_head_is_cut_like_nginx(captured: Captured) -> None:
    """A byte every 0.2 s keeps the idle timer happy, but the head must arrive within the
    header timeout; then the connection is closed with no answer (nginx sends no 408)."""
    config = WebConfig(port=free_port(), tls_port=0)
    running = await web.start(config, limits=Limits(idle_timeout=1.5), host="127.0.0.1")
    try:

        def slowloris() -> bytes:
            with socket.create_connection(("127.0.0.1", config.port), timeout=10) as sock:
                got = b""
                sock.settimeout(0.2)
                for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"x" * 100:
                    try:
                        sock.sendall(bytes([byte]))
                        chunk = sock.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    got += chunk
                return got

        answer = await asyncio.to_thread(slowloris)
        await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    finally:
        await running.stop()
    assert answer == b""
    (closed,) = captured.of("session.closed")
    assert closed["event.reason"] == "idle_timeout"
    (request,) = captured.of("web.request")
    assert request["web.error"] == "client timed out sending the request head"
    assert bytes.fromhex(request["web.raw_hex"]).startswith(b"GET / H")


async def test_certificate_from_files_stays_the_same(tmp_path: Any, captured: Captured) -> None:
    """A mounted certificate (a Secret in the chart) is served as is, so restarts keep it."""
    cert, key = generate_certificate("grafana.corp.internal", ("grafana.corp.internal",))
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    config = WebConfig(
        port=free_port(),
        tls_port=free_port(),
        tls_cert=str(tmp_path / "tls.crt"),
        tls_key=str(tmp_path / "tls.key"),
    )
    running = await web.start(config, limits=Limits(), host="127.0.0.1")
    try:
        served = await asyncio.to_thread(
            ssl.get_server_certificate, ("127.0.0.1", config.tls_port), timeout=10
        )
    finally:
        await running.stop()
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(cert.decode())


async def test_malformed_login_form_is_a_failed_login(decoy: WebConfig, captured: Captured) -> None:
    body = b'--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nroot\r\n--broken'
    data = (
        b"POST %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
        b"Content-Type: multipart/form-data; boundary=zzz\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (LOGIN_PATH.encode(), len(body), body)
    )
    answer = await asyncio.to_thread(send_all, decoy.port, data)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n")
    assert answer.endswith(b'\r\n\r\n{"message":"Invalid request body"}')
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    assert not captured.of("honeypods.error")
    (login,) = captured.of("web.login")
    assert login["web.auth_method"] == "form"
    (request,) = captured.of("web.request")
    assert request["http.request.body.bytes"] == len(body)


def send_all(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(
        ("127.0.0.1", port), timeout=10, source_address=(source, 0)
    ) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def login_request(user: str, password: str) -> bytes:
    body = json.dumps({"username": user, "password": password}).encode()
    return (
        b"POST %s HTTP/1.1\r\nHost: dashboard.internal\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (LOGIN_PATH.encode(), len(body), body)
    )


async def test_the_dashboard_is_an_application_shell(decoy: WebConfig) -> None:
    base = f"http://127.0.0.1:{decoy.port}"
    async with aiohttp.ClientSession() as client:
        async with client.get(base + "/") as resp:
            shell = await resp.read()
        # Deep links into the client's routes get the same shell, as try_files gives them.
        for path in ("/login", "/clusters/prod-eu-1/workloads", "/settings/"):
            async with client.get(base + path) as resp:
                assert resp.status == 200, path
                assert resp.headers["Content-Type"] == "text/html"
                assert await resp.read() == shell
        text = shell.decode()
        assert "<form" not in text
        assert 'name="password"' not in text
        bundles = re.findall(r'(?:src|href)="(/assets/[^"]+)"', text)
        assert len(bundles) == 2
        for path, kind in [
            *((b, "application/javascript" if b.endswith(".js") else "text/css") for b in bundles),
            ("/favicon.ico", "image/x-icon"),
            ("/favicon.svg", "image/svg+xml"),
            ("/manifest.json", "application/json"),
        ]:
            async with client.get(base + path) as resp:
                assert (resp.status, resp.headers["Content-Type"]) == (200, kind), path
                body = await resp.read()
            if path in bundles:
                name = path.rsplit("/", 1)[1]
                assert name.split("-", 1)[1].split(".")[0] == content_hash(body)
        async with client.get(base + "/manifest.json") as resp:
            assert (await resp.json())["name"] == "Acme Ops"
        # Unknown files, an old bundle's name included, are nginx's 404.
        for path in ("/assets/index-AAAAAAAA.js", "/static/app.css", "/login.php", "/nope"):
            async with client.get(base + path) as resp:
                assert resp.status == 404, path
                assert "<center>nginx/1.22.1</center>" in await resp.text()


async def test_login_api_throttles_one_source_after_five_failures(
    decoy: WebConfig, captured: Captured
) -> None:
    answers = []
    for i in range(7):
        answers.append(
            await asyncio.to_thread(send_all, decoy.port, login_request("root", f"p{i}"))
        )
    heads = [a.split(b"\r\n\r\n", 1)[0] for a in answers]
    bodies = [a.split(b"\r\n\r\n", 1)[1] for a in answers]
    assert all(h.startswith(b"HTTP/1.1 401 Unauthorized\r\n") for h in heads[:5])
    assert bodies[:5] == [b'{"message":"Invalid username or password"}'] * 5
    for head, body in zip(heads[5:], bodies[5:], strict=True):
        assert head.startswith(b"HTTP/1.1 429 Too Many Requests\r\nServer: nginx/1.22.1\r\n")
        assert b"\r\nContent-Type: application/json\r\n" in head
        retry = re.search(rb"\r\nRetry-After: (\d+)\r\n", head)
        assert retry is not None
        assert 1 <= int(retry[1]) <= 300
        assert json.loads(body) == {
            "message": "Too many failed login attempts. Please try again later."
        }
    # Another address is not held back by this one's guesses.
    other = await asyncio.to_thread(
        send_all, decoy.port, login_request("root", "other"), "127.0.0.2"
    )
    assert other.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= 8)
    # Every attempt is logged, the throttled ones too.
    logins = captured.of("web.login")
    assert [e["web.password"] for e in logins] == [f"p{i}" for i in range(7)] + ["other"]
    statuses = [e["http.response.status_code"] for e in captured.of("web.request")]
    assert statuses == [401] * 5 + [429] * 2 + [401]
    assert not captured.of("honeypods.error")


async def test_login_api_answers_other_methods_as_an_unknown_route(decoy: WebConfig) -> None:
    base = f"http://127.0.0.1:{decoy.port}"
    async with aiohttp.ClientSession() as client:
        for method in ("GET", "PUT", "DELETE"):
            async with client.request(method, base + LOGIN_PATH) as resp:
                assert resp.status == 404
                assert resp.headers["Content-Type"] == "application/json"
                assert await resp.json() == {"message": "Not found"}
        # The old form's address is a client-side route now: nginx refuses a POST to it.
        async with client.post(base + "/login", data={"username": "a", "password": "b"}) as resp:
            assert resp.status == 405

"""Each nginx persona against what its real build is documented to send, and the per-install
draw: two seeds give two sites, one seed gives the same site after a restart.

Only nginx 1.22.1 (Debian 12) is installable here; test_web_nginx*.py compare that persona with
it byte for byte. The Ubuntu builds are checked against their sources, written out below rather
than read from the persona table, so a wrong table entry fails:

* Server text: Ubuntu's ubuntu-branding.patch appends " (Ubuntu)" to NGINX_VER, which both the
  Server header and the error pages' footer print; Debian does not patch it.
* keepalive_requests: 100 before nginx 1.19.10, 1000 since (CHANGES).
* nginx 1.21.1/1.21.2 (CHANGES): 400 for Content-Length with Transfer-Encoding and for HTTP/1.0
  with Transfer-Encoding; 1.18 reads the body as chunked.
* nginx 1.21.4 (CHANGES): a client offering only unknown ALPN protocols is refused.
* Ubuntu's OpenSSL (tls1.2-min-seclevel2.patch): no TLS below 1.2 at security level 2, so a
  TLS 1.0 ClientHello gets a protocol_version alert.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.conftest import Captured, free_port
from tests.integration.test_web_nginx_tls import _alpn, _raw, hello

from honeypods.core.guard import Limits, Running
from honeypods.web import server as web
from honeypods.web.config import WebConfig
from honeypods.web.persona import PERSONAS

pytestmark = pytest.mark.integration

# persona -> (Server text, keepalive_requests, refuses CL+TE, refuses unknown ALPN,
# alert a TLS 1.0-only ClientHello gets: None where the handshake fails later, at the
# signature algorithms, as test_web_nginx_tls compares with the real Debian nginx).
DOCUMENTED: dict[str, tuple[str, int, bool, bool, int | None]] = {
    "nginx-1.18.0-ubuntu22.04": ("nginx/1.18.0 (Ubuntu)", 100, False, False, 70),
    "nginx-1.22.1-debian12": ("nginx/1.22.1", 1000, True, True, None),
    "nginx-1.24.0-ubuntu24.04": ("nginx/1.24.0 (Ubuntu)", 1000, True, True, 70),
}
PROTOCOL_VERSION = 70  # TLS alert description

Start = Callable[..., Awaitable[tuple[WebConfig, Running]]]


@pytest.fixture
async def start(captured: Captured) -> AsyncIterator[Start]:
    running: list[Running] = []

    async def go(seed: str = "", **settings: Any) -> tuple[WebConfig, Running]:
        config = WebConfig(port=free_port(), tls_port=free_port(), login_delay=0.0, **settings)
        run = await web.start(config, limits=Limits(), host="127.0.0.1", persona_seed=seed)
        running.append(run)
        return config, run

    yield go
    for run in running:
        await run.stop()


def _exchange(port: int, data: bytes, *, until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_every_persona_is_documented() -> None:
    assert set(DOCUMENTED) == set(PERSONAS)


@pytest.mark.parametrize("persona", sorted(DOCUMENTED))
async def test_server_header_and_error_pages_of_each_persona(start: Start, persona: str) -> None:
    server, *_ = DOCUMENTED[persona]
    config, _ = await start(persona=persona)
    data = await asyncio.to_thread(
        _exchange,
        config.port,
        b"GET /no-such-page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[:2] == [b"HTTP/1.1 404 Not Found", f"Server: {server}".encode()]
    assert body.endswith(f"<hr><center>{server}</center>\r\n</body>\r\n</html>\r\n".encode())


@pytest.mark.parametrize("persona", sorted(DOCUMENTED))
async def test_keepalive_requests_of_each_persona(start: Start, persona: str) -> None:
    limit = DOCUMENTED[persona][1]
    config, _ = await start(persona=persona)
    # More pipelined requests than the limit: nginx answers exactly `limit`, the last with close.
    data = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" * (limit + 5)
    answer = await asyncio.to_thread(_exchange, config.port, data)
    heads = answer.split(b"\r\n\r\n")[:-1]
    assert len(heads) == limit
    assert all(b"\r\nConnection: keep-alive" in h for h in heads[:-1])
    assert b"\r\nConnection: close" in heads[-1]


@pytest.mark.parametrize("persona", sorted(DOCUMENTED))
async def test_content_length_with_transfer_encoding(start: Start, persona: str) -> None:
    strict = DOCUMENTED[persona][2]
    config, _ = await start(persona=persona)
    both = (
        b"GET /robots.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
    )
    http10 = b"GET /robots.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    for request in (both, http10):
        answer = await asyncio.to_thread(_exchange, config.port, request)
        status = answer.split(b"\r\n", 1)[0]
        assert status == (b"HTTP/1.1 400 Bad Request" if strict else b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("persona", sorted(DOCUMENTED))
async def test_tls_defaults_of_each_persona(start: Start, persona: str) -> None:
    *_, refuses_alpn, tls10_alert = DOCUMENTED[persona]
    config, _ = await start(persona=persona)
    got = await asyncio.to_thread(_alpn, config.tls_port, ["h2"], ssl.TLSVersion.TLSv1_3)
    # A refusal is a fatal no_application_protocol alert, which Python reports without a reason.
    assert got is not None
    assert got.startswith("refused:") if refuses_alpn else got == "selected None"
    tls10 = hello(version=0x0301, versions=(), ciphers=(0xC013, 0xC014, 0x002F))
    answer = await asyncio.to_thread(_raw, config.tls_port, tls10)
    if tls10_alert is None:
        assert answer[:1] != b"\x15" or answer[6] != PROTOCOL_VERSION
    else:
        assert answer[:1] == b"\x15"
        assert answer[5:7] == bytes([2, tls10_alert])


def _site(config: WebConfig) -> dict[str, Any]:
    """What a visitor learns of the install: Server, site settings, asset names, certificate."""
    index = _exchange(
        config.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ).decode()
    blob = re.search(r'<script id="app-config" type="application/json">(.*?)</script>', index)
    assert blob is not None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", config.tls_port), timeout=10) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    from cryptography import x509

    subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return {
        "server": re.search(r"\r\nServer: ([^\r]*)\r\n", index).group(1),  # type: ignore[union-attr]
        "settings": json.loads(blob.group(1)),
        "title": re.search(r"<title>(.*?)</title>", index).group(1),  # type: ignore[union-attr]
        "assets": sorted(re.findall(r'"(/assets/[^"]+)"', index)),
        "subject": subject,
        "certificate": der,
    }


async def test_two_seeds_give_two_sites_and_one_seed_the_same_after_restart(
    start: Start,
) -> None:
    # Seeds "a" and "c" draw different personas (1.24.0 Ubuntu, 1.22.1 Debian).
    config_a, run_a = await start("a")
    config_c, _ = await start("c")
    site_a = await asyncio.to_thread(_site, config_a)
    site_c = await asyncio.to_thread(_site, config_c)
    for key in ("server", "title", "assets", "subject", "certificate"):
        assert site_a[key] != site_c[key], key
    for key in ("product", "version", "host"):
        assert site_a["settings"][key] != site_c["settings"][key], key
    assert site_a["subject"] == f"CN={site_a['settings']['host']}"
    # A restart with the same seed: the same identities, the snakeoil certificate included (no
    # state directory here: it derives from the seed, key and dates alike).
    await run_a.stop()
    again, _ = await start("a")
    assert await asyncio.to_thread(_site, again) == site_a


async def test_explicit_settings_win_over_the_seed(start: Start) -> None:
    config, _ = await start(
        "a",
        persona="nginx-1.18.0-ubuntu22.04",
        server_version="1.25.3",
        product="Acme Ops",
        title="Acme",
        tls_common_name="ops.acme.internal",
    )
    site = await asyncio.to_thread(_site, config)
    assert site["server"] == "nginx/1.25.3"
    assert (site["settings"]["product"], site["title"]) == ("Acme Ops", "Acme")
    assert site["subject"] == "CN=ops.acme.internal"
    # The pinned persona's behaviour stays: 1.18's keepalive_requests and lenient framing.
    answer = await asyncio.to_thread(
        _exchange,
        config.port,
        b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\n")

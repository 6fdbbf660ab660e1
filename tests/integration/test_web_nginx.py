"""Differential test: the web decoy and Debian's real nginx 1.22.1 get the same bytes and must
answer the same bytes (Date, the Location port, ETag and Last-Modified normalised).

nginx runs from a temporary prefix with ``tests/integration/nginx/nginx.conf``, serving a copy of
the decoy's own pages (same bytes, same mtimes), with Basic auth on ``/api/`` as the decoy has.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import Captured, free_port, require_tool

from honeypods.core import honeytokens
from honeypods.core.guard import Limits, Running
from honeypods.web import server as web
from honeypods.web.config import WebConfig
from honeypods.web.https import generate_certificate
from honeypods.web.install import resolve
from honeypods.web.leak import with_leak
from honeypods.web.site import SHELL_ROUTES, site_files

pytestmark = pytest.mark.integration

CONF = Path(__file__).parent / "nginx" / "nginx.conf"
CHROME = (
    b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
MSIE = b"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"
H = b"Host: dashboard.internal\r\n"
CLOSE = b"Connection: close\r\n"
# The persona compared here is the nginx installed here (Debian 12's); the site, release and
# host name are drawn from a seed, as in an install, and nginx serves the same drawn site.
PERSONA = "nginx-1.22.1-debian12"
SEED = "differential-nginx-seed"
INSTALL = resolve(WebConfig(persona=PERSONA), SEED)
# The bundles' names hold their hash: taken from the site the decoy serves.
_ASSETS = sorted(
    name for name in site_files(INSTALL.config, INSTALL.build) if name.startswith("/assets/")
)
CSS = next(n for n in _ASSETS if n.endswith(".css")).encode()
JS = next(n for n in _ASSETS if n.endswith(".js")).encode()


def get(path: bytes, *extra: bytes, version: bytes = b"HTTP/1.1", method: bytes = b"GET") -> bytes:
    return method + b" " + path + b" " + version + b"\r\n" + H + b"".join(extra) + CLOSE + b"\r\n"


# (name, bytes sent on the plain port). Grouped as the issue lists them.
CASES: list[tuple[str, bytes]] = [
    # valid
    ("index", get(b"/")),
    ("index-file", get(b"/index.html")),
    ("css", get(CSS)),
    ("js-http10", b"GET " + JS + b" HTTP/1.0\r\n\r\n"),
    ("svg-query", get(b"/favicon.svg?v=3")),
    (
        "absolute-uri",
        b"GET http://dashboard.internal/ HTTP/1.1\r\nHost: other\r\n" + CLOSE + b"\r\n",
    ),
    ("dot-segments", get(b"/assets/../assets/./" + CSS[8:])),
    ("double-slash", get(b"//assets//" + CSS[8:])),
    ("percent-encoded", get(b"/assets/%69" + CSS[9:])),
    ("leading-crlf", b"\r\n\r\n" + get(b"/")),
    ("http09", b"GET /\r\n"),
    ("http09-404", b"GET /nope\r\n"),
    ("http09-redirect", b"GET /assets\r\n"),
    ("lf-only", b"GET / HTTP/1.1\nHost: x\nConnection: close\n\n"),
    ("minor-version", get(b"/", version=b"HTTP/1.2")),
    ("spaces", b"GET   /   HTTP/1.1  \r\n" + H + CLOSE + b"\r\n"),
    ("underscore-header", get(b"/", b"X_Forwarded: 1\r\n")),
    ("odd-header-name", get(b"/", b"X{}: 1\r\n")),
    ("obs-fold-ish", get(b"/", b"X-A: 1\r\n\tcontinued\r\n")),
    ("if-modified-since-old", get(b"/", b"If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n")),
    ("if-none-match-other", get(b"/", b'If-None-Match: "abc"\r\n')),
    ("if-match-fail", get(b"/", b'If-Match: "abc"\r\n')),
    ("range", get(CSS, b"Range: bytes=0-9\r\n")),
    ("range-open", get(CSS, b"Range: bytes=100-\r\n")),
    ("range-suffix", get(CSS, b"Range: bytes=-20\r\n")),
    ("range-spaces", get(CSS, b"Range: bytes= 5 - 9\r\n")),
    ("range-past-end", get(CSS, b"Range: bytes=100000-\r\n")),
    ("range-garbage", get(CSS, b"Range: bytes=abc\r\n")),
    ("range-units", get(CSS, b"Range: items=0-9\r\n")),
    ("range-zero-empty", get(CSS, b"Range: bytes=0-0\r\n")),
    ("range-head", get(b"/", b"Range: bytes=0-9\r\n", method=b"HEAD")),
    ("range-if-range-other", get(b"/", b"Range: bytes=0-9\r\n", b'If-Range: "x"\r\n')),
    ("range-http10", b"GET " + JS + b" HTTP/1.0\r\nRange: bytes=1-2\r\n\r\n"),
    # the application: its shell on client-side routes and deep links, its files
    ("route", get(b"/login")),
    ("route-slash", get(b"/login/")),
    ("deep-link", get(b"/clusters/prod-eu-1/workloads?tab=pods")),
    ("deep-link-encoded", get(b"/overview/%41b")),
    ("route-head", get(b"/settings", method=b"HEAD")),
    ("route-range", get(b"/alerts", b"Range: bytes=0-15\r\n")),
    ("route-http10", b"GET /workloads HTTP/1.0\r\n\r\n"),
    ("route-post", get(b"/login", b"Content-Length: 3\r\n", method=b"POST") + b"abc"),
    ("route-put", get(b"/overview", method=b"PUT")),
    ("route-lookalike", get(b"/login.php")),
    ("route-case", get(b"/Login")),
    ("route-dot-segments", get(b"/workloads/../login")),
    ("route-http09", b"GET /overview/x\r\n"),
    ("js", get(JS)),
    ("asset-unknown", get(b"/assets/index-AAAAAAAA.js")),
    ("asset-old-layout", get(b"/static/app.css")),
    ("favicon", get(b"/favicon.ico")),
    ("manifest", get(b"/manifest.json")),
    ("robots", get(b"/robots.txt")),
    ("keepalive-route", b"GET /login HTTP/1.1\r\n" + H + b"\r\n" + get(JS)),
    # not found, HEAD, not allowed
    ("404", get(b"/nope")),
    ("404-env", get(b"/.env")),
    ("404-git", get(b"/.git/config")),
    ("404-wp", get(b"/wp-login.php")),
    ("404-actuator", get(b"/actuator/health")),
    ("404-chrome-padding", get(b"/nope", b"User-Agent: " + CHROME + b"\r\n")),
    ("404-firefox", get(b"/nope", b"User-Agent: " + FIREFOX + b"\r\n")),
    ("404-msie", get(b"/nope", b"User-Agent: " + MSIE + b"\r\n")),
    ("404-dir", get(b"/nodir/")),
    ("head", get(b"/", method=b"HEAD")),
    ("head-404", get(b"/nope", method=b"HEAD")),
    ("head-css", get(CSS, method=b"HEAD")),
    ("403-dir", get(b"/assets/")),
    ("301-dir", get(b"/assets")),
    ("301-dir-http10", b"GET /assets HTTP/1.0\r\n\r\n"),
    ("405-put", get(b"/x", method=b"PUT")),
    ("405-delete-root", get(b"/", method=b"DELETE")),
    ("405-post-index", get(b"/", b"Content-Length: 3\r\n", method=b"POST") + b"abc"),
    ("404-post-missing", get(b"/nope", b"Content-Length: 3\r\n", method=b"POST") + b"abc"),
    ("405-options", get(b"/", method=b"OPTIONS")),
    ("405-trace", get(b"/", method=b"TRACE")),
    ("405-custom-method", get(b"/", method=b"FOO")),
    ("401-api", get(b"/api/v1/users")),
    ("401-api-basic", get(b"/api/", b"Authorization: Basic YWRtaW46YWRtaW4=\r\n")),
    ("401-api-post", get(b"/api/login", b"Content-Length: 2\r\n", method=b"POST") + b"{}"),
    # bad request line, bad version
    ("lowercase-method", b"get / HTTP/1.1\r\n\r\n"),
    ("no-slash", b"GET index.html HTTP/1.1\r\n\r\n"),
    ("bad-protocol", b"GET / FTP/1.1\r\n\r\n"),
    ("version-9.9", b"GET / HTTP/9.9\r\n\r\n"),
    ("version-2.0", b"GET / HTTP/2.0\r\n\r\n"),
    ("version-0.9-explicit", b"GET / HTTP/0.9\r\n\r\n"),
    ("version-1.1000", b"GET / HTTP/1.1000\r\n\r\n"),
    ("version-10.0", b"GET / HTTP/10.0\r\n\r\n"),
    ("control-in-uri", b"GET /a\x01b HTTP/1.1\r\n\r\n"),
    ("nul-in-uri", b"GET /a\x00b HTTP/1.1\r\n\r\n"),
    ("09-post", b"POST /\r\n"),
    ("cr-garbage", b"GET / HTTP/1.1\rX\n\r\n"),
    ("escape-root", get(b"/../etc/passwd")),
    ("bad-percent", get(b"/%zz")),
    ("percent-nul", get(b"/%00")),
    ("binary", b"\x00\x01\x02\x03\xff\xfe\r\n\r\n"),
    ("ssh-banner", b"SSH-2.0-OpenSSH_9.2p1\r\n"),
    ("no-host-11", b"GET / HTTP/1.1\r\n\r\n"),
    ("bad-host", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
    ("double-host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("bad-host-dots", b"GET / HTTP/1.1\r\nHost: a..b\r\n\r\n"),
    ("bad-content-length", get(b"/", b"Content-Length: -1\r\n")),
    ("double-content-length", get(b"/", b"Content-Length: 0\r\nContent-Length: 0\r\n")),
    ("te-gzip-501", get(b"/", b"Transfer-Encoding: gzip\r\n")),
    ("te-http10", b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ("te-and-cl", get(b"/", b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n")),
    ("header-no-colon", get(b"/", b"NoColon\r\n")),
    ("header-space-name", get(b"/", b"Bad Name: x\r\n")),
    ("header-nul-value", get(b"/", b"X-A: a\x00b\r\n")),
    ("header-leading-space", b"GET / HTTP/1.1\r\n" + H + b" X: y\r\n\r\n"),
    ("connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    # TLS bytes on the HTTP port
    (
        "tls-client-hello",
        bytes.fromhex("160301020001000" + "1fc0303") + os.urandom(32) + b"\x00" * 40,
    ),
    ("sslv2-hello", b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + b"\x00" * 37),
    # oversized
    ("uri-8k", get(b"/" + b"a" * 9000)),
    ("uri-just-under", get(b"/" + b"a" * 8000)),
    ("uri-7000", get(b"/assets/" + b"b" * 7000)),
    ("header-9k", get(b"/", b"X-Big: " + b"a" * 9000 + b"\r\n")),
    ("header-8100", get(b"/", b"X-Big: " + b"a" * 8100 + b"\r\n")),
    ("many-headers-40k", get(b"/", *(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(40)))),
    ("many-headers-20k", get(b"/", *(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(20)))),
    ("cookie-big", get(b"/", b"Cookie: " + b"c=" + b"z" * 8500 + b"\r\n")),
    ("body-413", b"POST /login HTTP/1.1\r\n" + H + b"Content-Length: 2000000\r\n\r\n"),
    ("body-413-get", get(b"/", b"Content-Length: 1048577\r\n")),
    ("body-1m-ok-declared", get(b"/nope", b"Content-Length: 5\r\n") + b"hello"),
    (
        "chunked-body",
        b"POST /nope HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n" + CLOSE + b"\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    # keep-alive and Connection: close
    ("keepalive-two", b"GET / HTTP/1.1\r\n" + H + b"\r\n" + get(b"/nope")),
    ("keepalive-open", b"GET " + JS + b" HTTP/1.1\r\n" + H + b"\r\n"),
    ("keepalive-404-open", b"GET /nope HTTP/1.1\r\n" + H + b"\r\n"),
    ("http10-keepalive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    ("http10-close", b"GET / HTTP/1.0\r\n\r\n"),
    ("connection-Close-case", b"GET / HTTP/1.1\r\n" + H + b"Connection: Close\r\n\r\n"),
    ("pipelined-then-bad", b"GET / HTTP/1.1\r\n" + H + b"\r\nBAD\x01\r\n\r\n"),
    ("pipelined-three", (b"HEAD / HTTP/1.1\r\n" + H + b"\r\n") * 2 + get(b"/nope")),
    ("keepalive-401", b"GET /api/ HTTP/1.1\r\n" + H + b"\r\n" + get(b"/")),
]


def exchange(port: int, data: bytes, *, tls: bool = False) -> bytes:
    """Send ``data`` and collect the answer until close, or until the line goes quiet."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock: socket.socket = raw
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(raw, server_hostname="dashboard.internal")
    out = b""
    try:
        sock.sendall(data)
        sock.settimeout(10)
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                out += b"<OPEN>"
                break
            except (ConnectionResetError, ssl.SSLError):
                out += b"<RESET>"
                break
            if not chunk:
                out += b"<EOF>"
                break
            out += chunk
            # Once something came, a quiet second means the server is holding the line open.
            sock.settimeout(1.0)
    finally:
        sock.close()
    return out


_NORMALISE = [
    (re.compile(rb"Date: [A-Za-z]{3}, \d\d [A-Za-z]{3} \d{4} \d\d:\d\d:\d\d GMT"), b"Date: *"),
    (re.compile(rb"Last-Modified: [^\r\n]*"), b"Last-Modified: *"),
    (re.compile(rb'ETag: (W/)?"[0-9a-f]+-[0-9a-f]+"'), rb"ETag: \1*"),
    (re.compile(rb"(Location: https?://[^/:\r\n]+):\d+"), rb"\1:*"),
]


def normalise(data: bytes) -> bytes:
    for pattern, repl in _NORMALISE:
        data = pattern.sub(repl, data)
    return data


@dataclass
class Pair:
    nginx: int
    nginx_tls: int
    decoy: int
    decoy_tls: int
    running: Running


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, int]]:
    binary = require_tool("nginx")
    config = INSTALL.config
    root = tmp_path / "nginx"
    for sub in ("html", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / sub).mkdir(parents=True)
    # The decoy's document root as it serves it: the site, and the honeytokens' leaked files.
    served = with_leak(site_files(config, INSTALL.build), honeytokens.current(), config.product)
    for name, found in served.items():
        path = root / "html" / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(found.body)
        os.utime(path, (found.mtime, found.mtime))
    cert, key = generate_certificate("dashboard.internal", ("dashboard.internal",))
    (root / "cert.pem").write_bytes(cert)
    (root / "key.pem").write_bytes(key)
    (root / "htpasswd").write_text("admin:{PLAIN}correct-horse-battery\n")
    port, tls_port = free_port(), free_port()
    text = CONF.read_text()
    for name, value in {
        "{dir}": str(root),
        "{port}": str(port),
        "{tls_port}": str(tls_port),
        "{realm}": f"{config.product} API",
        "{routes}": "|".join(SHELL_ROUTES),
    }.items():
        text = text.replace(name, value)
    (root / "nginx.conf").write_text(text)
    err = (tmp_path / "nginx.err").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "-p",
            str(root),
            "-c",
            str(root / "nginx.conf"),
            "-g",
            f"daemon off; pid {root}/nginx.pid; error_log stderr;",
        ],
        stderr=err,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(tmp_path / 'nginx.err').read_text()}")
                time.sleep(0.05)
        yield port, tls_port
    finally:
        proc.terminate()
        proc.wait(10)
        err.close()


@pytest.fixture
async def decoy(captured: Captured) -> AsyncIterator[tuple[int, int]]:
    config = WebConfig(port=free_port(), tls_port=free_port(), persona=PERSONA)
    running = await web.start(config, limits=Limits(), host="127.0.0.1", persona_seed=SEED)
    try:
        yield config.port, config.tls_port
    finally:
        await running.stop()


async def _compare(
    nginx_port: int, decoy_port: int, cases: list[tuple[str, bytes]], *, tls: bool = False
) -> list[str]:
    failures = []
    for name, data in cases:
        want, got = await asyncio.gather(
            asyncio.to_thread(exchange, nginx_port, data, tls=tls),
            asyncio.to_thread(exchange, decoy_port, data, tls=tls),
        )
        if normalise(want) != normalise(got):
            failures.append(
                f"{name}:\n  nginx {normalise(want)[:700]!r}\n  decoy {normalise(got)[:700]!r}"
            )
    return failures


async def test_same_bytes_as_nginx(
    nginx: tuple[int, int], decoy: tuple[int, int], captured: Captured
) -> None:
    failures = await _compare(nginx[0], decoy[0], CASES)
    assert not failures, "\n".join(failures)
    # Every case produced web.request events and nothing went wrong inside the decoy.
    assert not captured.of("honeypods.error")
    sessions = {e["honeypod.session"] for e in captured.of("session.connect")}
    with_requests = {e["honeypod.session"] for e in captured.of("web.request")}
    assert sessions == with_requests
    assert len(sessions) == len(CASES)


TLS_CASES: list[tuple[str, bytes]] = [
    ("tls-index", get(b"/")),
    ("tls-404-chrome", get(b"/nope", b"User-Agent: " + CHROME + b"\r\n")),
    ("tls-301", get(b"/assets")),
    ("tls-bad-version", b"GET / HTTP/9.9\r\n\r\n"),
    ("tls-keepalive", b"GET / HTTP/1.1\r\n" + H + b"\r\n" + get(b"/api/")),
]

PLAIN_ON_TLS_CASES: list[tuple[str, bytes]] = [
    ("plain-on-https", get(b"/")),
    ("plain-on-https-head", get(b"/", method=b"HEAD")),
    ("plain-on-https-bad", b"get / HTTP/1.1\r\n\r\n"),
    ("plain-on-https-09", b"GET /\r\n"),
]


async def test_same_bytes_as_nginx_on_https_port(
    nginx: tuple[int, int], decoy: tuple[int, int], captured: Captured
) -> None:
    failures = await _compare(nginx[1], decoy[1], TLS_CASES, tls=True)
    failures += await _compare(nginx[1], decoy[1], PLAIN_ON_TLS_CASES)
    assert not failures, "\n".join(failures)
    tls = captured.of("web.tls")
    assert len(tls) == len(TLS_CASES)
    assert all(e["tls.established"] for e in tls)
    assert {e.get("tls.client.server_name") for e in tls} == {"dashboard.internal"}


def _handshake(port: int, alpn: list[str], maximum: ssl.TLSVersion) -> tuple[object, ...]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = maximum
    ctx.set_alpn_protocols(alpn)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="dashboard.internal") as tls,
    ):
        cipher = tls.cipher()
        return tls.version(), cipher[0] if cipher else None, tls.selected_alpn_protocol()


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
@pytest.mark.parametrize("alpn", [["h2", "http/1.1"], ["http/1.1"], []])
async def test_same_tls_parameters_as_nginx(
    nginx: tuple[int, int], decoy: tuple[int, int], alpn: list[str], maximum: ssl.TLSVersion
) -> None:
    want = await asyncio.to_thread(_handshake, nginx[1], alpn, maximum)
    got = await asyncio.to_thread(_handshake, decoy[1], alpn, maximum)
    assert got == want


# Random requests from a grammar of the pieces scanners and fuzzers send; seeded, so a failure
# names the exact request.
_METHODS = [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"FOO", b"G-T",
            b"GET_X", b"get", b"", b"GET\t"]  # fmt: skip
_PATHS = [b"/", b"/index.html", CSS, b"/assets", b"/assets/", b"/api", b"/api/",
          b"/api/x", b"/nope", b"//", b"/./", b"/%2e%2e/", b"/a%2fb", b"/assets/..",
          b"/assets/../..", b"/?", b"/?a=b#c", b"/#frag", b"/a b", b"*", b"http://x/",
          b"https://x:443" + CSS, b"http://[::1]/", b"http://x:abc/", b"http://x?y",
          b"/\xff\xfe", b"/%", b"/%4", b"/%41%42", CSS + b"/", b"/index.html?x",
          b"/.hidden", b"/a/./b/../../index.html", b"/login", b"/clusters/x", b"/overview/",
          b"/assets//" + CSS[8:]]  # fmt: skip
_VERSIONS = [b" HTTP/1.1", b" HTTP/1.0", b"", b" HTTP/1.1 ", b" HTTP/1.01", b" HTTP/01.1",
             b" HTTP/1", b" HTTP/1.1\t", b"  HTTP/1.1", b" HTTP/0.9", b" HTTP/1.999",
             b" HTTP/3.0", b" HTTP/1.x"]  # fmt: skip
_HEADERS = [b"Host: a", b"Host: A.EXAMPLE.", b"Host:", b"Host: a:80", b"Host: [::1]:80",
            b"Host: a..b", b"Connection: close", b"Connection: keep-alive",
            b"Connection: Keep-Alive, Upgrade", b"Content-Length: 0", b"Content-Length: 3",
            b"Content-Length:  5 ", b"Content-Length: +3", b"Transfer-Encoding: chunked",
            b"Transfer-Encoding: Chunked", b"Transfer-Encoding: chunked, gzip",
            b"Expect: 100-continue", b"User-Agent: Mozilla/5.0 Chrome/1",
            b"User-Agent: MSIE 7.0; x", b"User-Agent: Opera/9 MSIE 7.0 xx", b"X_Y: 1", b"X-Y:1",
            b"X-Y :1", b"X-Y:\t1", b": empty", b"X-\x7f: 1", b"X-\x80: 1", b"X-Y: a\x01b",
            b"Range: bytes=0-4", b"Range: bytes=-3", b"If-None-Match: *",
            b"If-Modified-Since: x", b"Authorization: Basic eDp5", b"Cookie: a=b",
            b"X: \xff\xfe"]  # fmt: skip
_BODIES = [b"", b"abc", b"3\r\nabc\r\n0\r\n\r\n", b"x\r\n", b"0\r\n\r\n"]


def _random_request(rng: random.Random) -> bytes:
    line = rng.choice(_METHODS) + b" " + rng.choice(_PATHS) + rng.choice(_VERSIONS)
    eol = rng.choice([b"\r\n", b"\r\n", b"\n"])
    headers = rng.sample(_HEADERS, rng.randint(0, 4))
    if rng.random() < 0.8:
        headers.insert(0, b"Host: a")
    if rng.random() < 0.7:
        headers.append(b"Connection: close")
    return eol.join([line, *headers]) + eol + eol + rng.choice(_BODIES)


@pytest.mark.parametrize("seed", range(6))
async def test_same_bytes_as_nginx_for_random_requests(
    nginx: tuple[int, int], decoy: tuple[int, int], captured: Captured, seed: int
) -> None:
    rng = random.Random(seed)
    cases = [
        (f"seed {seed} #{i}: {data!r}", data)
        for i, data in enumerate(_random_request(rng) for _ in range(60))
    ]
    failures = await _compare(nginx[0], decoy[0], cases)
    assert not failures, "\n".join(failures[:10])
    assert not captured.of("honeypods.error")

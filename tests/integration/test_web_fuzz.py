"""Property test of the live web decoy: whatever bytes arrive, the answer is nginx's or nothing,
nothing goes wrong inside, and every byte sent back is accounted for in a ``web.request`` event."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import Captured, free_port

from honeypods.core import honeytokens
from honeypods.core.guard import Limits, Running
from honeypods.web import http
from honeypods.web import server as web
from honeypods.web.config import WebConfig
from honeypods.web.install import resolve
from honeypods.web.leak import with_leak
from honeypods.web.site import LOGIN_PATH, site_files

pytestmark = pytest.mark.integration

STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ([A-Za-z -]+)\r\n")
# 429: the login API throttles the fuzzer's one address after a few failed logins.
STATUSES = {200, 301, 304, 400, 401, 403, 404, 405, 412, 413, 414, 429, 501, 505}


@pytest.fixture(scope="module")
def decoy_port() -> Iterator[int]:
    """The decoy on its own event loop in a thread, shared by every example."""
    config = WebConfig(port=free_port(), tls_port=0, login_delay=0.0)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Running] = {}

    async def main() -> None:
        holder["running"] = await web.start(config, limits=Limits(), host="127.0.0.1")
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(main(), loop).result(30)
    ready.wait(30)
    try:
        yield config.port
    finally:
        asyncio.run_coroutine_threadsafe(holder["running"].stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


LOGIN = LOGIN_PATH.encode()
METHODS = st.sampled_from([b"GET", b"HEAD", b"POST", b"PUT", b"get", b"G\x00T", b"", b"OPTIONS"])
TARGETS = st.one_of(
    st.sampled_from(
        [
            b"/",
            b"/login",
            LOGIN,
            b"/clusters/x",
            b"/favicon.ico",
            b"/api/x",
            b"/assets",
            b"*",
            b"/../",
        ]
    ),
    st.binary(max_size=60).map(lambda b: b"/" + b),
)
VERSIONS = st.sampled_from(
    [b" HTTP/1.1", b" HTTP/1.0", b"", b" HTTP/9.9", b" HTTP/1.", b" http/1.1"]
)
HEADERS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b"Host: dashboard.internal",
                b"Content-Length: 4",
                b"Transfer-Encoding: chunked",
                b"Connection: close",
                b"Expect: 100-continue",
                b"Authorization: Basic YTpi",
                b"Content-Type: application/x-www-form-urlencoded",
                b"Content-Type: application/json",
            ]
        ),
        st.binary(max_size=40),
    ),
    max_size=6,
)


@st.composite
def http_ish(draw: st.DrawFn) -> bytes:
    line = draw(METHODS) + b" " + draw(TARGETS) + draw(VERSIONS)
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    head = eol.join([line, *draw(HEADERS)]) + eol + eol
    return head + draw(st.binary(max_size=80))


PAYLOADS = st.one_of(st.binary(min_size=1, max_size=3000), http_ish())


def talk(port: int, chunks: list[bytes]) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        local_port = sock.getsockname()[1]
        try:
            for chunk in chunks:
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        sock.settimeout(30)
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
    return local_port, out


def check_responses(data: bytes) -> None:
    """The wire holds nginx status lines and pages, or HTTP/0.9 pages, nothing else."""
    assert b"aiohttp" not in data
    assert b"Python" not in data
    if not data:
        return
    if not data.startswith(b"HTTP/1.1 "):
        # HTTP/0.9: the body alone, a page of the site or an nginx error page.
        config = resolve(WebConfig(), "").config
        leaked = with_leak(site_files(config), honeytokens.current(), config.product)
        pages = [f.body for f in leaked.values()]
        # nginx's own pages, the directory redirect's included (test_web_nginx: http09-redirect).
        pages += [http.error_page(s, "1.22.1") for s in STATUSES if s >= 400 or s == 301]
        assert any(data.startswith(page) for page in pages), data[:200]
        return
    if data.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        data = data[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
        if not data:
            return
    m = STATUS_LINE.match(data)
    assert m is not None, data[:200]
    assert int(m.group(1)) in STATUSES
    assert m.group(2).decode() == http.REASONS[int(m.group(1))]
    assert data.split(b"\r\n")[1] == b"Server: nginx/1.22.1"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=PAYLOADS, cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=3))
def test_any_bytes_get_nginx_or_nothing(
    decoy_port: int, captured: Captured, payload: bytes, cuts: list[int]
) -> None:
    points = sorted({c % (len(payload) + 1) for c in cuts})
    chunks = [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]
    local_port, answer = talk(decoy_port, [c for c in chunks if c])
    check_responses(answer)

    def mine() -> list[dict[str, object]]:
        return [e for e in captured.flat if e.get("source.port") == local_port]

    deadline = 30.0
    step = 0.02
    waited = 0.0
    while not any(e["event.action"] == "session.closed" for e in mine()):
        assert waited < deadline, "the decoy never closed the connection"
        threading.Event().wait(step)
        waited += step
    events = mine()
    assert not [e for e in events if e["event.action"] == "honeypods.error"]
    requests = [e for e in events if e["event.action"] == "web.request"]
    if payload.strip(b"\r\n"):
        assert requests, payload
    assert sum(int(e["http.response.bytes"]) for e in requests) == len(answer)

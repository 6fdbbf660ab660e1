"""Differential test of nginx's gzip filter (Debian's ``gzip on``): the decoy and the real nginx
of ``test_web_nginx`` get requests that accept gzip, or almost, and must answer the same bytes,
compressed body included."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from tests.conftest import Captured
from tests.integration.test_web_nginx import (  # noqa: F401 - fixtures
    CHROME,
    CSS,
    JS,
    _compare,
    decoy,
    exchange,
    get,
    nginx,
)

from honeypods.web.site import LOGIN_PATH

pytestmark = pytest.mark.integration

GZ = b"Accept-Encoding: gzip, deflate, br\r\n"


def ae(value: bytes) -> bytes:
    return b"Accept-Encoding: " + value + b"\r\n"


GZIP_CASES: list[tuple[str, bytes]] = [
    # what is compressed: text/html with status 200, 403 and 404
    ("index", get(b"/", GZ)),
    ("index-file", get(b"/index.html", GZ)),
    ("head", get(b"/", GZ, method=b"HEAD")),
    ("404", get(b"/nope", GZ)),
    ("404-chrome-padding", get(b"/nope", GZ, b"User-Agent: " + CHROME + b"\r\n")),
    ("404-head", get(b"/nope", GZ, method=b"HEAD")),
    ("403-dir", get(b"/assets/", GZ)),
    ("range-of-html", get(b"/", GZ, b"Range: bytes=0-9\r\n")),
    ("range-past-end-of-html", get(b"/", GZ, b"Range: bytes=100000-\r\n")),
    ("if-none-match-other", get(b"/", GZ, b'If-None-Match: "abc"\r\n')),
    (
        "if-modified-since-old",
        get(b"/", GZ, b"If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
    ),
    ("keepalive-two", b"GET / HTTP/1.1\r\nHost: x\r\n" + GZ + b"\r\n" + get(b"/nope", GZ)),
    ("http-1.2", get(b"/", GZ, version=b"HTTP/1.2")),
    ("route", get(b"/login", GZ)),
    ("deep-link", get(b"/clusters/prod-eu-1/workloads", GZ)),
    ("route-head", get(b"/overview/", GZ, method=b"HEAD")),
    # what is not: other types and statuses, HTTP/1.0, proxied requests
    ("css", get(CSS, GZ)),
    ("range-of-css", get(CSS, GZ, b"Range: bytes=0-9\r\n")),
    ("js", get(JS, GZ)),
    ("manifest", get(b"/manifest.json", GZ)),
    ("favicon", get(b"/favicon.svg", GZ)),
    ("301", get(b"/assets", GZ)),
    ("405", get(b"/", GZ, method=b"PUT")),
    ("401", get(b"/api/", GZ)),
    ("412", get(b"/", GZ, b'If-Match: "abc"\r\n')),
    ("400", b"GET / HTTP/9.9\r\n" + GZ + b"\r\n"),
    ("http10", b"GET / HTTP/1.0\r\n" + GZ + b"\r\n"),
    ("via", get(b"/", GZ, b"Via: 1.1 proxy\r\n")),
    ("via-404", get(b"/nope", GZ, b"Via: 1.1 proxy\r\n")),
    # how Accept-Encoding is read
    ("ae-gzip", get(b"/", ae(b"gzip"))),
    ("ae-gzip-comma", get(b"/", ae(b"gzip,"))),
    ("ae-upper", get(b"/", ae(b"GZIP"))),
    ("ae-second", get(b"/", ae(b"deflate, gzip"))),
    ("ae-second-no-space", get(b"/", ae(b"deflate,gzip"))),
    ("ae-x-gzip", get(b"/", ae(b"x-gzip"))),
    ("ae-gzipx", get(b"/", ae(b"gzipx"))),
    ("ae-gzip-then-x", get(b"/", ae(b"gzipx, gzip"))),
    ("ae-q0", get(b"/", ae(b"gzip;q=0"))),
    ("ae-q0-spaces", get(b"/", ae(b"gzip ; q=0"))),
    ("ae-q0.000", get(b"/", ae(b"gzip;q=0.000"))),
    ("ae-q0.5", get(b"/", ae(b"gzip;q=0.5"))),
    ("ae-Q1", get(b"/", ae(b"gzip;Q=1"))),
    ("ae-q1.1", get(b"/", ae(b"gzip;q=1.1"))),
    ("ae-q-four-digits", get(b"/", ae(b"gzip;q=0.0001"))),
    ("ae-q-empty", get(b"/", ae(b"gzip;q="))),
    ("ae-q-other-param", get(b"/", ae(b"gzip;level=1"))),
    ("ae-semicolon-end", get(b"/", ae(b"gzip;"))),
    ("ae-q0-then-more", get(b"/", ae(b"gzip;q=0, deflate"))),
    ("ae-star", get(b"/", ae(b"*"))),
    ("ae-identity", get(b"/", ae(b"identity"))),
    ("ae-empty", get(b"/", ae(b""))),
    ("ae-two-headers-first-wins", get(b"/", ae(b"identity"), ae(b"gzip"))),
    ("ae-two-headers-gzip-first", get(b"/", ae(b"gzip"), ae(b"identity"))),
]


async def test_same_bytes_as_nginx_with_gzip(
    nginx: tuple[int, int],  # noqa: F811
    decoy: tuple[int, int],  # noqa: F811
    captured: Captured,
) -> None:
    failures = await _compare(nginx[0], decoy[0], GZIP_CASES)
    failures += await _compare(
        nginx[1], decoy[1], [("tls-" + n, d) for n, d in GZIP_CASES[:6]], tls=True
    )
    assert not failures, "\n".join(failures)
    assert not captured.of("honeypods.error")


async def test_the_compressed_page_is_the_page(decoy: tuple[int, int]) -> None:  # noqa: F811
    plain = await asyncio.to_thread(exchange, decoy[0], get(b"/"))
    packed = await asyncio.to_thread(exchange, decoy[0], get(b"/", GZ))
    body = plain.partition(b"\r\n\r\n")[2].removesuffix(b"<EOF>")
    chunks = packed.partition(b"\r\n\r\n")[2]
    size, _, rest = chunks.partition(b"\r\n")
    assert rest[int(size, 16) :] == b"\r\n0\r\n\r\n<EOF>"
    assert gzip.decompress(rest[: int(size, 16)]) == body


async def test_the_login_apis_json_is_not_compressed(
    decoy: tuple[int, int],  # noqa: F811
) -> None:
    # gzip_types is text/html alone: the backend's JSON goes out as it came, with its length.
    body = b'{"username":"admin","password":"admin"}'
    post = get(
        LOGIN_PATH.encode(),
        GZ,
        b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body),
        method=b"POST",
    )
    answer = await asyncio.to_thread(exchange, decoy[0], post + body)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert b"\r\nContent-Encoding:" not in head
    assert b"\r\nContent-Length: 42\r\n" in head
    assert rest == b'{"message":"Invalid username or password"}<EOF>'

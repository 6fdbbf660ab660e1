"""Differential test of the HTTPS port's TLS layer: the decoy and Debian's real nginx (the same
fixtures as ``test_web_nginx``) must negotiate ALPN alike, hint the same ticket lifetime, and
answer broken ClientHellos with the same alert bytes before closing."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import struct

import pytest
from tests.conftest import Captured
from tests.integration.test_web_nginx import decoy, nginx  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


def _client(maximum: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = maximum
    return ctx


def _alpn(port: int, offer: list[str], maximum: ssl.TLSVersion) -> str | None:
    ctx = _client(maximum)
    ctx.set_alpn_protocols(offer)
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname="dashboard.internal") as tls,
        ):
            return f"selected {tls.selected_alpn_protocol()}"
    except ssl.SSLError as exc:
        return f"refused: {exc.reason}"


@pytest.mark.parametrize("maximum", VERSIONS)
@pytest.mark.parametrize(
    "offer",
    [["h2"], ["foo", "bar"], ["spdy/3", "http/1.0"], ["http/1.0", "http/1.1"], ["http/0.9"]],
)
async def test_same_alpn_answer_as_nginx(
    nginx: tuple[int, int],  # noqa: F811
    decoy: tuple[int, int],  # noqa: F811
    offer: list[str],
    maximum: ssl.TLSVersion,
) -> None:
    # nginx without HTTP/2 selects from http/1.1, http/1.0, http/0.9 (its order) and refuses a
    # client that offers none of them with a no_application_protocol alert.
    want = await asyncio.to_thread(_alpn, nginx[1], offer, maximum)
    got = await asyncio.to_thread(_alpn, decoy[1], offer, maximum)
    assert got == want


def _session(port: int, ctx: ssl.SSLContext, session: ssl.SSLSession | None) -> ssl.SSLSession:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="dashboard.internal", session=session) as tls,
    ):
        # TLS 1.3 tickets come after the handshake: read a whole answer first.
        tls.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while tls.recv(65536):
            pass
        assert tls.session is not None
        assert (session is not None) == tls.session_reused
        return tls.session


def _tickets(port: int, maximum: ssl.TLSVersion) -> tuple[int, bool]:
    ctx = _client(maximum)
    first = _session(port, ctx, None)
    _session(port, ctx, first)
    return first.ticket_lifetime_hint, first.has_ticket


@pytest.mark.parametrize("maximum", VERSIONS)
async def test_same_session_ticket_lifetime_as_nginx(
    nginx: tuple[int, int],  # noqa: F811
    decoy: tuple[int, int],  # noqa: F811
    maximum: ssl.TLSVersion,
) -> None:
    want = await asyncio.to_thread(_tickets, nginx[1], maximum)
    got = await asyncio.to_thread(_tickets, decoy[1], maximum)
    assert want == (300, True)  # ssl_session_timeout 5m
    assert got == want


# -- broken ClientHellos ------------------------------------------------------------------------


def _u16(n: int) -> bytes:
    return struct.pack(">H", n)


def _vec8(b: bytes) -> bytes:
    return bytes([len(b)]) + b


def _vec16(b: bytes) -> bytes:
    return _u16(len(b)) + b


def _ext(kind: int, body: bytes) -> bytes:
    return _u16(kind) + _vec16(body)


def _key_share(size: int = 32) -> bytes:
    return _ext(51, _vec16(_u16(0x001D) + _vec16(os.urandom(size))))


def hello(
    *,
    version: int = 0x0303,
    ciphers: tuple[int, ...] = (0x1301, 0x1302, 0xC02F, 0xC030),
    compression: bytes = b"\x00",
    versions: tuple[int, ...] = (0x0304, 0x0303),
    alpn: tuple[bytes, ...] | None = None,
    extensions: bytes | None = None,
) -> bytes:
    """A ClientHello record; ``extensions`` replaces the usual ones (b"" for none at all)."""
    if extensions is None:
        parts = [
            _ext(0, _vec16(b"\x00" + _vec16(b"dashboard.internal"))),
            _ext(10, _vec16(_u16(0x001D) + _u16(0x0017))),
            _ext(11, _vec8(b"\x00")),
            _ext(13, _vec16(_u16(0x0804) + _u16(0x0403) + _u16(0x0401))),
        ]
        if versions:
            parts += [_ext(43, _vec8(b"".join(_u16(v) for v in versions))), _key_share()]
        if alpn is not None:
            parts.append(_ext(16, _vec16(b"".join(_vec8(p) for p in alpn))))
        extensions = b"".join(parts)
    body = (
        _u16(version)
        + os.urandom(32)
        + _vec8(b"")
        + _vec16(b"".join(_u16(c) for c in ciphers))
        + _vec8(compression)
        + (_vec16(extensions) if extensions else b"")
    )
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + _vec16(message)


GOOD = hello()
SSLV2_CIPHERS = bytes.fromhex("0700c0050080030080010080060040040080020080")
TLS_CIPHERS = bytes.fromhex("00002f00003500000a000005000004000000ff000033")
BROKEN: list[tuple[str, bytes]] = [
    ("sslv2", b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + SSLV2_CIPHERS + os.urandom(16)),
    (
        "sslv2-format-tls10",
        b"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10" + TLS_CIPHERS + os.urandom(16),
    ),
    ("truncated-message", b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c" + GOOD[9:53]),
    ("garbage-handshake", b"\x16\x03\x01\x00\x05\xff\xff\xff\xff\xff"),
    ("server-hello-first", b"\x16\x03\x01\x00\x04\x02\x00\x00\x00"),
    ("record-too-long", b"\x16\x03\x01\x48\x01\x01\x00\x48\x00" + b"\x00" * 100),
    ("record-version-garbage", b"\x16\xff\xff" + GOOD[3:]),
    ("ssl3-only", hello(version=0x0300, versions=(), ciphers=(0x002F, 0x0035))),
    ("tls10-only", hello(version=0x0301, versions=(), ciphers=(0xC013, 0xC014, 0x002F))),
    ("tls11-only", hello(version=0x0302, versions=(), ciphers=(0xC013, 0xC014, 0x002F))),
    ("unknown-versions-only", hello(versions=(0x7F1C, 0x0305))),
    ("no-common-cipher", hello(ciphers=(0x0001, 0x0004, 0x000A), versions=())),
    ("no-common-cipher-tls13", hello(ciphers=(0x1304, 0x1305))),
    ("only-renegotiation-scsv", hello(ciphers=(0x00FF,), versions=())),
    ("no-null-compression", hello(compression=b"\x01")),
    ("alpn-h2-only", hello(alpn=(b"h2",))),
    ("alpn-h2-only-tls12", hello(alpn=(b"h2",), versions=())),
    ("alpn-empty-name", hello(alpn=(b"",))),
    ("no-extensions-tls12", hello(extensions=b"", ciphers=(0x009C, 0x002F, 0xC02F))),
    ("tls13-without-groups", hello(extensions=_ext(43, _vec8(_u16(0x0304))) + _key_share())),
    (
        "bad-key-share",
        hello(
            extensions=_ext(10, _vec16(_u16(0x001D)))
            + _ext(13, _vec16(_u16(0x0804)))
            + _ext(43, _vec8(_u16(0x0304)))
            + _key_share(31)
        ),
    ),
    ("duplicate-extension", hello(extensions=_ext(10, _vec16(_u16(0x001D))) * 2)),
    # These complete: only the ServerHello's shape is compared (its random differs).
    ("alpn-http10", hello(alpn=(b"http/1.0",))),
    ("alpn-http09-tls12", hello(alpn=(b"http/0.9",), versions=())),
    ("future-legacy-version", hello(version=0x0305, versions=())),
]


def _shape(data: bytes) -> bytes:
    """The answer, with a ServerHello cut to what is not random: record and handshake headers,
    version, cipher and extension types."""
    if not data.startswith(b"\x16\x03") or len(data) < 44 or data[5] != 2:
        return data
    at = 43
    session_id = data[at]
    at += 1 + session_id
    cipher = data[at : at + 2]
    at += 3
    end = at + 2 + int.from_bytes(data[at : at + 2], "big")
    at += 2
    kinds = []
    while at + 4 <= end:
        kinds.append(data[at : at + 2])
        at += 4 + int.from_bytes(data[at + 2 : at + 4], "big")
    return data[:11] + cipher + b"".join(kinds)


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return out + b"<OPEN>"
            except ConnectionResetError:
                return out + b"<RESET>"
            if not chunk:
                return out + b"<EOF>"
            out += chunk
            # A ServerHello is followed by more flights the client never answers.
            sock.settimeout(1.0)


async def test_same_alert_as_nginx_for_broken_client_hellos(
    nginx: tuple[int, int],  # noqa: F811
    decoy: tuple[int, int],  # noqa: F811
    captured: Captured,
) -> None:
    failures = []
    for name, data in BROKEN:
        want, got = await asyncio.gather(
            asyncio.to_thread(_raw, nginx[1], data), asyncio.to_thread(_raw, decoy[1], data)
        )
        if _shape(want) != _shape(got):
            failures.append(f"{name}:\n  nginx {_shape(want)!r}\n  decoy {_shape(got)!r}")
    assert not failures, "\n".join(failures)
    # Every refused handshake is one web.tls event, and the decoy is still serving.
    refused = [e for e in captured.of("web.tls") if not e["tls.established"]]
    assert len(refused) >= len(BROKEN) - 3
    assert not captured.of("honeypods.error")
    assert await asyncio.to_thread(_alpn, decoy[1], ["http/1.1"], VERSIONS[1]) == (
        "selected http/1.1"
    )

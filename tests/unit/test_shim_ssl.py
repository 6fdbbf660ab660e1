"""Contract of core/ssl_shim.py: the ``SSL_CTX`` of an ``ssl.SSLContext`` is where the shim
looks for it, and what it sets through it is what OpenSSL then does."""

from __future__ import annotations

import contextlib
import ssl

import pytest

from honeypods.core import ssl_shim, tls
from honeypods.web.https import generate_certificate


def test_the_ssl_ctx_is_the_first_field_after_the_object_header() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    first = ssl_shim.ssl_ctx(ctx)
    ctx.options |= ssl.OP_NO_TICKET  # read back through the pointer: still the same object
    assert ssl_shim.ssl_ctx(ctx) == first
    assert ssl_shim.ssl_ctx(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)) != first


def test_session_timeout_is_set_and_read_back() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    assert ssl_shim.session_timeout(ctx) == 7200  # OpenSSL's default for TLS
    ssl_shim.set_session_timeout(ctx, 300)
    assert ssl_shim.session_timeout(ctx) == 300


def _handshake(server: ssl.SSLContext, offer: list[str]) -> str | None:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    if offer:
        client.set_alpn_protocols(offer)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    cli = client.wrap_bio(c_in, c_out, server_side=False)
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for obj in (cli, srv):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    assert srv.version() is not None, "the handshake did not complete"
    return srv.selected_alpn_protocol()


def _server() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert, key = generate_certificate("x", ())
    tls.load_pem(ctx, key + cert)
    ssl_shim.set_alpn_or_refuse(ctx, ["http/1.1", "http/1.0"])
    return ctx


def test_alpn_selects_the_servers_first_protocol_the_client_offers() -> None:
    server = _server()
    assert _handshake(server, ["http/1.0", "spdy/3", "http/1.1"]) == "http/1.1"
    assert _handshake(server, ["h2", "http/1.0"]) == "http/1.0"
    assert _handshake(server, []) is None


def test_alpn_with_nothing_in_common_is_refused_with_an_alert() -> None:
    with pytest.raises(ssl.SSLError, match=r"NO_APPLICATION_PROTOCOL|no application protocol"):
        _handshake(_server(), ["h2"])

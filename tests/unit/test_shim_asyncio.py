"""Contract of core/asyncio_shim.py: the private asyncio and socket names it relies on still have
the shape it expects. Each failure says what changed, so the shim is mended rather than guessed at."""

from __future__ import annotations

import _socket
import asyncio
import inspect
import socket
import ssl
from asyncio import base_events, sslproto

import pytest

from honeypods.core import asyncio_shim


def test_socket_accept_returns_a_raw_descriptor_and_address() -> None:
    assert callable(getattr(socket.socket, "_accept", None)), "socket.socket._accept is gone"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()) as client:
            fd, addr = asyncio_shim.accept(listener)
            try:
                assert isinstance(fd, int), "socket._accept no longer returns (fd, address)"
                assert addr[0] == "127.0.0.1"
                assert addr[1] == client.getsockname()[1]
            finally:
                socket.close(fd)


def test_accepted_sockets_read_family_and_type_from_the_c_level_descriptors() -> None:
    for name in ("family", "type"):
        descriptor = getattr(_socket.socket, name, None)
        kind = inspect.ismemberdescriptor(descriptor) or inspect.isgetsetdescriptor(descriptor)
        assert kind, f"_socket.socket.{name} is no longer a C-level descriptor"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()):
            fd, _addr = asyncio_shim.accept(listener)
            with asyncio_shim.Accepted(socket.AF_INET, socket.SOCK_STREAM, 0, fd) as conn:
                assert type(conn.family) is int
                assert conn.family == socket.AF_INET


def test_start_tls_still_asks_for_start_tls_compatible() -> None:
    source = inspect.getsource(base_events.BaseEventLoop.start_tls)
    assert "_start_tls_compatible" in source, "loop.start_tls no longer checks the marker"
    assert asyncio_shim.TlsCompatibleTransport._start_tls_compatible is True


def test_ssl_protocol_still_force_closes_the_transport_below_it() -> None:
    source = inspect.getsource(sslproto.SSLProtocol)
    assert "._force_close(" in source, "SSLProtocol no longer calls transport._force_close"


def test_ssl_protocol_takes_the_arguments_the_shim_passes() -> None:
    params = inspect.signature(sslproto.SSLProtocol).parameters
    expected = ["loop", "app_protocol", "sslcontext", "waiter", "server_side"]
    assert list(params)[: len(expected)] == expected, f"SSLProtocol() is now {list(params)}"
    assert "ssl_handshake_timeout" in params, "SSLProtocol() lost ssl_handshake_timeout"
    for name in ("connection_made", "get_buffer", "buffer_updated"):
        assert callable(getattr(sslproto.SSLProtocol, name, None)), f"SSLProtocol.{name} is gone"


def test_ssl_protocol_still_has_what_the_alert_flush_overrides_and_calls() -> None:
    for name in ("_on_handshake_complete", "_process_outgoing"):
        assert callable(getattr(sslproto.SSLProtocol, name, None)), f"SSLProtocol.{name} is gone"
    params = list(inspect.signature(sslproto.SSLProtocol._on_handshake_complete).parameters)
    assert params == ["self", "handshake_exc"], f"_on_handshake_complete is now {params}"
    source = inspect.getsource(sslproto.SSLProtocol._process_outgoing)
    assert "self._outgoing.read()" in source, "_process_outgoing no longer drains _outgoing"


# The protocol is never connected: its app transport is dropped unclosed, by design here.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_ssl_protocol_keeps_its_ssl_object_in_sslobj() -> None:
    loop = asyncio.get_running_loop()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    proto = sslproto.SSLProtocol(loop, asyncio.Protocol(), context, None, server_side=True)
    assert hasattr(proto, "_sslobj"), "SSLProtocol no longer has _sslobj"
    assert isinstance(asyncio_shim.ssl_object(proto), ssl.SSLObject), "_sslobj is no SSLObject"


@pytest.mark.parametrize("name", ["accept", "start_server_tls", "ssl_object"])
def test_the_shim_exports_what_core_and_the_web_decoy_call(name: str) -> None:
    assert callable(getattr(asyncio_shim, name))

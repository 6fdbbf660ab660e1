"""The only place that touches private names of asyncio and the socket module.

Verified on CPython 3.11, 3.12 and 3.13 (asyncio's ``sslproto`` as rewritten in 3.11) and uvloop
0.21. ``tests/unit/test_shims.py`` fails with a clear message when a name below is gone or its
signature changes.

* ``accept``: ``socket.socket._accept`` returns the raw (fd, address) pair. ``socket.accept()``
  wraps it and rebuilds ``family`` and ``type`` through enum conversions on every call, a
  measurable share of a connection that only reads a banner. ``Accepted`` keeps those two as the
  plain ints ``_socket`` stores. No public accept returns the fd alone.
* ``TlsCompatibleTransport``: ``loop.start_tls`` refuses transports without
  ``_start_tls_compatible``, and ``SSLProtocol`` calls ``_force_close`` on the transport below it
  when a handshake fails. A transport wrapper must provide both to carry TLS.
* ``start_server_tls``: the web decoy sniffs the first bytes on its HTTPS port before deciding on
  TLS, so TLS starts on a transport that has already read data. ``loop.start_tls`` cannot take
  bytes already read; building ``sslproto.SSLProtocol`` directly and feeding it can. Its SSL object
  (``_sslobj``) is where the SNI callback's object, version and cipher are found. Python 3.11 and
  later expose no public hook for either (an upstream ``start_tls`` taking initial data would make
  this unnecessary).
* ``ServerTlsProtocol``: when a handshake fails, ``SSLProtocol._on_handshake_complete`` closes the
  transport without sending what OpenSSL left in the outgoing BIO (``_outgoing``): the alert that
  tells the client why. A server on OpenSSL (nginx) sends it, then closes; the subclass sends it
  first (``_process_outgoing``).
"""

from __future__ import annotations

import _socket
import asyncio
import socket
import ssl
from asyncio import sslproto
from typing import Any, cast


class Accepted(socket.socket):
    """An accepted socket whose ``family`` and ``type`` read as the plain ints ``_socket`` keeps."""

    __slots__ = ()
    family = _socket.socket.family  # type: ignore[assignment]
    type = _socket.socket.type  # type: ignore[assignment]


def accept(sock: socket.socket) -> tuple[int, Any]:
    """One ``accept()`` on a listening socket: the new descriptor and the peer address.

    Raises:
        BlockingIOError, InterruptedError, OSError: as ``accept(2)`` fails.
    """
    return sock._accept()  # type: ignore[attr-defined, no-any-return]


class TlsCompatibleTransport(asyncio.Transport):
    """A transport wrapper that asyncio's TLS layer accepts underneath it."""

    _start_tls_compatible = True

    def _force_close(self, _exc: BaseException | None) -> None:
        # SSLProtocol calls this on the transport below it when a handshake fails.
        self.abort()


class ServerTlsProtocol(sslproto.SSLProtocol):
    """``SSLProtocol`` that sends OpenSSL's alert before closing on a failed handshake."""

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        if handshake_exc is not None and self._transport is not None:
            self._process_outgoing()  # type: ignore[attr-defined]
        super()._on_handshake_complete(handshake_exc)


def start_server_tls(
    transport: asyncio.Transport,
    app: asyncio.BaseProtocol,
    context: ssl.SSLContext,
    waiter: asyncio.Future[None],
    handshake_timeout: float,
) -> asyncio.BufferedProtocol:
    """Put a server-side TLS layer between ``transport`` and ``app``; feed it what was read.

    Returns:
        The TLS protocol, now the transport's protocol. ``waiter`` completes when the handshake
        does, or fails with the handshake's error.
    """
    loop = asyncio.get_running_loop()
    proto = ServerTlsProtocol(
        loop,
        app,
        context,
        waiter,
        server_side=True,
        ssl_handshake_timeout=cast(int, handshake_timeout),
    )
    transport.set_protocol(proto)
    proto.connection_made(transport)
    return proto


def ssl_object(proto: asyncio.BaseProtocol) -> ssl.SSLObject | None:
    """The SSL object of a protocol from ``start_server_tls``, once its handshake has begun."""
    return getattr(proto, "_sslobj", None)

"""Listening sockets whose connections go through a guard.

The acceptor accepts itself rather than through ``loop.create_server``, so that the peer's address
comes from ``accept()``: uvloop asks the socket for it later, and a connect scan's RST has erased it
by then. Each accepted socket is handed to ``loop.connect_accepted_socket``, driven by ``Drive``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import socket
from collections.abc import Callable
from typing import Any, Final

from honeypods.core import asyncio_shim, events
from honeypods.core.drive import Drive

ProtocolFactory = Callable[..., asyncio.Protocol]

# Connections accepted per wake-up of the listening socket (nginx's default backlog): a bound, so a
# flood cannot queue thousands of callbacks ahead of SIGTERM or of established connections.
BACKLOG: Final = 511
# The kernel's accept queue: deeper than one batch, so bursts wait there instead of being dropped
# and retried a second later (Linux caps it at net.core.somaxconn).
LISTEN_QUEUE: Final = 4096

# accept() errors that mean "out of descriptors or memory": pause accepting, as asyncio does.
_RESOURCE_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
RESOURCE_PAUSE: Final = 1.0


class Acceptor:
    """One listening socket whose connections go through a guard.

    It accepts itself rather than through ``loop.create_server``, so that the peer's address comes
    from ``accept()``: uvloop asks the socket for it later, and a connect scan's RST has erased it
    by then. Each accepted socket is handed to ``loop.connect_accepted_socket``.
    """

    def __init__(self, factory: ProtocolFactory, sock: socket.socket) -> None:
        self.factory = factory
        self.sock = sock
        self.family = int(sock.family)
        self.sockets = [sock]
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        # At most BACKLOG per wake-up, like asyncio, so a flood cannot starve the loop.
        for _ in range(BACKLOG):
            try:
                fd, addr = asyncio_shim.accept(self.sock)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRNOS:
                    events.emit(
                        "honeypods.warning",
                        "runner",
                        {"error.message": f"accept paused for 1 s: {exc.strerror}"},
                        level="warning",
                    )
                    self.loop.remove_reader(self.sock.fileno())
                    self.loop.call_later(RESOURCE_PAUSE, self._resume)
                return
            conn = asyncio_shim.Accepted(self.family, socket.SOCK_STREAM, 0, fd)
            factory = functools.partial(self.factory, address(addr))
            Drive(self.loop.connect_accepted_socket(factory, conn), self._handed_over(conn))

    def _handed_over(self, conn: socket.socket) -> Callable[[Any, BaseException | None], None]:
        def done(_transport: Any, exc: BaseException | None) -> None:
            if exc is None:
                return
            if isinstance(exc, OSError):
                conn.close()  # reset before the transport existed: nothing was accepted to log
                return
            # As a Task's unhandled error would: to the loop's exception handler.
            self.loop.call_exception_handler({"message": "accept hand-over", "exception": exc})

        return done

    def _resume(self) -> None:
        if not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()

    async def wait_closed(self) -> None:
        return


async def listen(factory: ProtocolFactory, host: str, port: int) -> Acceptor:
    """Listen on host:port (port 0 picks one) with ``factory`` from ``Guard.protocol_factory``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual stack
        sock.bind((host, port))
        sock.listen(LISTEN_QUEUE)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return Acceptor(factory, sock)


def addresses_of(server: Any) -> list[str]:
    out = []
    for sock in server.sockets:
        host, port = sock.getsockname()[:2]
        out.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return out


def address(sockaddr: Any) -> tuple[str, int]:
    """(host, port) of a socket address; ("", 0) when there is none (a peer already gone)."""
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        return str(sockaddr[0]), int(sockaddr[1])
    return "", 0

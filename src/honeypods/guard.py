"""The connection guard: every accepted connection, whatever the decoy, goes through it.

Rules this module keeps:

1. ``session.connect`` is emitted when the connection is accepted, before any check, so even a
   connection refused for capacity is logged.
2. ``session.closed`` is emitted exactly once per connection, on every path (peer EOF, idle timeout,
   total deadline, byte cap, capacity, protocol error, unexpected exception, shutdown), with the
   reason, duration and bytes in and out.
3. Decoys never close transports or emit lifecycle events themselves: they call
   ``Session.close(reason)`` and the guard does the rest.
4. Unexpected exceptions are caught here once, logged as ``honeypods.error`` and the connection is
   closed with ``server_error``. Nothing about the exception reaches the peer.

The guard sits at the asyncio ``Protocol`` level, below any library: it wraps the protocol of a
stream handler, of aiohttp's request handler, of asyncssh's connection, or of a TLS layer started
with ``loop.start_tls`` on its transport. The inner protocol sees a ``GuardTransport`` that counts
bytes out and answers ``get_extra_info("honeypods.session")`` with the ``Session``.
"""

from __future__ import annotations

import _socket
import asyncio
import contextlib
import errno
import functools
import itertools
import math
import secrets
import socket
import time
import traceback
import typing
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from honeypods import events, metrics

# How long a close may wait for the peer to drain our last bytes before the socket is aborted.
# A peer that stops reading must not hold the connection (and its buffers) open.
CLOSE_GRACE: Final = 5.0
# Connections accepted per wake-up of the listening socket (nginx's default backlog): a bound, so a
# flood cannot queue thousands of callbacks ahead of SIGTERM or of established connections.
BACKLOG: Final = 511
# The kernel's accept queue: deeper than one batch, so bursts wait there instead of being dropped
# and retried a second later (Linux caps it at net.core.somaxconn).
LISTEN_QUEUE: Final = 4096


@dataclass(frozen=True)
class Limits:
    """Per-decoy connection limits.

    Args:
        max_connections: connections open at once on this decoy; more are accepted, logged and
            closed with ``over_capacity``.
        max_per_source: the same, per source IP.
        idle_timeout: seconds without a byte from the peer before ``idle_timeout``.
        deadline: seconds a connection may live in total before ``deadline``.
        max_bytes_in: bytes the peer may send before ``limit``.
        max_bytes_out: bytes the decoy may send before ``limit``.
    """

    max_connections: int = 8192
    max_per_source: int = 512
    idle_timeout: float = 60.0
    deadline: float = 600.0
    max_bytes_in: int = 1 << 20
    max_bytes_out: int = 16 << 20


RuleFor = Callable[["Session"], str]

# Session ids: unique per process and across restarts (a random prefix), not secret, so a counter
# rather than a system call per connection.
_ID_PREFIX: Final = secrets.token_hex(4)
_id_counter = itertools.count(1)


def _next_session_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter) & 0xFFFFFFFF:08x}"


class Session:
    """One connection as the decoy sees it: identity, counters and the way to end it."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "closed",
        "decoy",
        "expires",
        "guard",
        "id",
        "last_activity",
        "link",
        "local",
        "peer",
        "reason",
        "rule",
        "started",
        "transport",
    )

    def __init__(
        self,
        guard: Guard,
        transport: asyncio.Transport,
        peer: tuple[str, int],
        local: tuple[str, int],
    ) -> None:
        self.guard = guard
        self.decoy = guard.decoy
        self.transport = transport
        self.id = _next_session_id()
        self.peer = peer
        self.local = local
        self.started = time.monotonic()
        self.last_activity = self.started
        self.bytes_in = 0
        self.bytes_out = 0
        self.reason: str | None = None
        self.closed = False
        # A decoy's own time limit on top of the guard's (MySQL's connect_timeout, say): the
        # sweep closes the session with idle_timeout once time.monotonic() passes it.
        self.expires = math.inf
        self.link = events.Link(self.id, peer, local)
        self.rule = guard.rule_for(self)

    def emit(
        self,
        action: str,
        fields: Mapping[str, Any] | None = None,
        *,
        rule: str | None = None,
        level: str = "info",
    ) -> None:
        """Emit an event carrying this connection's identity and, by default, its rule."""
        events.emit(action, self.decoy, fields, rule=rule or self.rule, level=level, link=self.link)

    def touch(self) -> None:
        """Count as activity: re-arms the idle timer (incoming bytes do this on their own)."""
        self.last_activity = time.monotonic()

    def close(self, reason: str = "eof") -> None:
        """End the connection gracefully; the first reason given is the one logged."""
        if self.reason is None:
            self.reason = reason
        transport = self.transport
        if not transport.is_closing():
            pending = transport.get_write_buffer_size() > 0
            transport.close()
            if pending:
                # A peer that never reads would keep a closing transport alive forever.
                asyncio.get_running_loop().call_later(CLOSE_GRACE, self.abort, reason)

    def abort(self, reason: str = "eof") -> None:
        """End the connection now, discarding unsent bytes."""
        if self.reason is None:
            self.reason = reason
        if not self.closed:
            self.transport.abort()

    def error(self, exc: BaseException) -> None:
        """Log an unexpected exception and close with ``server_error``."""
        tb = "".join(traceback.format_exception(exc))
        self.emit(
            "honeypods.error",
            {
                "error.type": type(exc).__name__,
                "error.message": events.clip_text(str(exc)),
                "error.stack_trace": events.clip_text(tb, events.LONG_TEXT_CAP),
            },
            level="error",
        )
        self.abort("server_error")


class GuardTransport(asyncio.Transport):
    """What the inner protocol sees: the real transport, with bytes out counted and capped."""

    # asyncio's start_tls checks for this; we forward everything it needs.
    _start_tls_compatible = True

    def __init__(self, proto: GuardProtocol, transport: asyncio.Transport) -> None:
        super().__init__()
        self._proto = proto
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        session = self._proto.session
        if session is None or session.closed:
            return
        session.bytes_out += len(data)
        if session.bytes_out > self._proto.guard.limits.max_bytes_out:
            session.abort("limit")
            return
        self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "honeypods.session":
            return self._proto.session
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._proto.inner = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        # None once the connection is lost, as asyncio's own transports answer.
        return self._proto.inner  # type: ignore[return-value]

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        session = self._proto.session
        if session is not None:
            session.close(session.reason or "eof")
        else:
            self._transport.close()

    def abort(self) -> None:
        session = self._proto.session
        if session is not None:
            session.abort(session.reason or "eof")
        else:
            self._transport.abort()

    def _force_close(self, _exc: BaseException | None) -> None:
        # asyncio's SSLProtocol calls this on the transport below it when a handshake fails.
        self.abort()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._transport.write_eof()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class GuardProtocol(asyncio.Protocol):
    """The protocol asyncio's server talks to; owns one ``Session`` and the inner protocol."""

    def __init__(
        self, guard: Guard, inner_factory: InnerFactory, peer: tuple[str, int] | None = None
    ) -> None:
        self.guard = guard
        self.inner_factory = inner_factory
        self.peer = peer
        self.inner: asyncio.BaseProtocol | None = None
        self.session: Session | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport, asyncio's or uvloop's (which is not an asyncio.Transport subclass).
        transport = typing.cast(asyncio.Transport, transport)
        guard = self.guard
        # From accept() when we accepted it: a peer that resets at once (a connect scan) has no
        # peer name left to ask for by the time the transport exists.
        peer = self.peer or _addr(transport.get_extra_info("peername"))
        local = _addr(transport.get_extra_info("sockname"))
        session = Session(guard, transport, peer, local)
        self.session = session
        guard.sessions.add(session)
        per_source = guard.per_source
        from_source = per_source[peer[0]] = per_source.get(peer[0], 0) + 1
        guard.counts["accepted"] += 1
        metrics.connection_opened(guard.decoy)
        session.emit("session.connect", {"honeypod.active": len(guard.sessions)})
        if guard.closing:
            session.abort("shutdown")
            return
        if (
            len(guard.sessions) > guard.limits.max_connections
            or from_source > guard.limits.max_per_source
        ):
            session.abort("over_capacity")
            return
        guard.sweep_soon()
        try:
            self.inner = self.inner_factory(session)
            self.inner.connection_made(GuardTransport(self, transport))
        except Exception as exc:
            session.error(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        session = self.session
        if session is None or session.closed:
            return
        session.closed = True
        inner, self.inner = self.inner, None
        if inner is not None:
            # Dropped first: the inner protocol holds its transport, which holds this protocol.
            # Without that cycle reference counting frees a connection as soon as the loop lets
            # go of it, instead of leaving it to pile up for the cyclic garbage collector.
            try:
                inner.connection_lost(exc)
            except Exception as inner_exc:
                session.error(inner_exc)
        guard = self.guard
        guard.sessions.discard(session)
        source = session.peer[0]
        left = guard.per_source.pop(source, 1) - 1
        if left > 0:
            guard.per_source[source] = left
        reason = session.reason or "eof"
        guard.counts[f"closed_{reason}"] += 1
        metrics.connection_closed(guard.decoy, reason)
        session.emit(
            "session.closed",
            {
                "event.reason": reason,
                "event.duration": int((time.monotonic() - session.started) * 1e9),
                "source.bytes": session.bytes_in,
                "destination.bytes": session.bytes_out,
            },
        )
        if not guard.sessions and guard.drained is not None:
            guard.drained.set()

    # -- data ---------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is None or session.closed or session.reason is not None:
            return
        session.bytes_in += len(data)
        session.last_activity = time.monotonic()
        if session.bytes_in > self.guard.limits.max_bytes_in:
            session.abort("limit")
            return
        inner = self.inner
        try:
            if isinstance(inner, asyncio.BufferedProtocol):
                _feed_buffered(inner, data)
            elif inner is not None:
                inner.data_received(data)  # type: ignore[attr-defined]
        except Exception as exc:
            session.error(exc)

    def eof_received(self) -> bool | None:
        inner = self.inner
        if inner is None:
            return None
        try:
            return inner.eof_received()  # type: ignore[attr-defined, no-any-return]
        except Exception as exc:
            if self.session is not None:
                self.session.error(exc)
            return None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


def _feed_buffered(proto: asyncio.BufferedProtocol, data: bytes) -> None:
    view = memoryview(data)
    while view:
        buf = memoryview(proto.get_buffer(len(view)))
        n = min(len(buf), len(view))
        if n == 0:
            raise RuntimeError("buffered protocol offered an empty buffer")
        buf[:n] = view[:n]
        proto.buffer_updated(n)
        view = view[n:]


def _addr(sockaddr: Any) -> tuple[str, int]:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        return str(sockaddr[0]), int(sockaddr[1])
    return "", 0


InnerFactory = Callable[[Session], asyncio.BaseProtocol]
ProtocolFactory = Callable[..., asyncio.Protocol]
StreamHandler = Callable[[Session, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Guard:
    """Limits and live sessions of one decoy.

    Args:
        decoy: the decoy's name, as in events and metrics.
        limits: connection limits.
        rule: the alert rule of this decoy's connection events, or a function choosing it per
            session (the port-scan decoy maps port 22 to ``honeypod.network.ssh``).
    """

    def __init__(self, decoy: str, limits: Limits, rule: str | RuleFor) -> None:
        self.decoy = decoy
        self.limits = limits
        if callable(rule):
            self.rule_for: RuleFor = rule
        else:
            name = rule
            self.rule_for = lambda _session: name
        self.sessions: set[Session] = set()
        # Open connections per source address; an address leaves when its count drops to 0.
        self.per_source: dict[str, int] = {}
        self.drained: asyncio.Event | None = None
        # Set at shutdown: connections accepted from the kernel's queue after it are closed at once.
        self.closing = False
        # Exact counts since start, for honeypods.summary: accepted, and closed per reason.
        self.counts: Counter[str] = Counter()
        self.sweeper: asyncio.TimerHandle | None = None
        # Idle and deadline checks run over all sessions a few times per shortest limit, at most
        # once a second: one timer per decoy instead of one per connection (data only stamps time).
        self.sweep_every = 1.0
        self.expire_within(min(limits.idle_timeout, limits.deadline))

    def expire_within(self, seconds: float) -> None:
        """Sweep often enough for a time limit of ``seconds`` (a limit, or ``Session.expires``
        set that far ahead) to end a connection within a quarter of it late."""
        self.sweep_every = max(0.05, min(self.sweep_every, seconds / 4))

    def sweep_soon(self) -> None:
        if self.sweeper is None:
            loop = asyncio.get_running_loop()
            self.sweeper = loop.call_later(self.sweep_every, self._sweep)

    def _sweep(self) -> None:
        self.sweeper = None
        now = time.monotonic()
        idle, deadline = self.limits.idle_timeout, self.limits.deadline
        for session in list(self.sessions):
            if session.reason is not None:
                continue  # already closing; its grace timer, if any, ends it
            if now >= session.started + deadline:
                session.close("deadline")
            elif now >= session.last_activity + idle or now >= session.expires:
                session.close("idle_timeout")
        if self.sessions:
            self.sweep_soon()

    def protocol_factory(self, inner: InnerFactory) -> ProtocolFactory:
        """A factory for ``listen`` (or ``loop.create_server``) guarding each connection."""

        def factory(peer: tuple[str, int] | None = None) -> asyncio.Protocol:
            return GuardProtocol(self, inner, peer)

        return factory

    def stream_factory(self, handler: StreamHandler, *, limit: int = 1 << 16) -> ProtocolFactory:
        """A factory running ``handler(session, reader, writer)`` per connection.

        When the handler returns, the connection is closed with the session's reason (``eof``
        unless the handler set another); exceptions are rule 4's business.
        """

        def inner(session: Session) -> asyncio.BaseProtocol:
            reader = asyncio.StreamReader(limit=limit)

            async def run(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
                try:
                    await handler(session, r, w)
                except asyncio.CancelledError:
                    session.abort("shutdown")
                    raise
                except (ConnectionError, asyncio.IncompleteReadError):
                    session.close("eof")
                except Exception as exc:
                    session.error(exc)
                else:
                    session.close(session.reason or "eof")

            return asyncio.StreamReaderProtocol(reader, run)

        return self.protocol_factory(inner)

    async def start(self, host: str, bindings: list[tuple[ProtocolFactory, int]]) -> Running:
        """Listen on each (factory, port) of ``bindings``; on any failure close what was opened.

        Returns:
            The decoy's ``Running``, listening on every binding.
        """
        servers: list[Server] = []
        addresses: list[str] = []
        try:
            for factory, port in bindings:
                acceptor = await listen(factory, host, port)
                servers.append(acceptor)
                addresses += addresses_of(acceptor)
        except BaseException:
            for server in servers:
                server.close()
            raise
        return Running(self, servers, addresses)

    async def shutdown(self, timeout: float = 3.0) -> None:
        """Close every open connection with ``shutdown`` and wait for their close events."""
        self.closing = True
        if not self.sessions:
            return
        self.drained = asyncio.Event()
        for session in list(self.sessions):
            session.abort("shutdown")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained.wait(), timeout)


class Server(typing.Protocol):
    """What a decoy hands the runner: an asyncio.Server, or asyncssh's acceptor."""

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


@dataclass
class Running:
    """A started decoy: its guard, listeners, background tasks, and where it listens."""

    guard: Guard
    servers: list[Server]
    addresses: list[str]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Called after the listeners close, before connections end: flush pending reports.
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    async def stop(self, timeout: float = 3.0) -> None:
        """Stop listening, end every connection (``shutdown``), cancel background tasks."""
        for server in self.servers:
            server.close()
        for task in self.tasks:
            task.cancel()
        for cleanup in self.cleanups:
            cleanup()
        await self.guard.shutdown(timeout)
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for server in self.servers:
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)


# accept() errors that mean "out of descriptors or memory": pause accepting, as asyncio does.
_RESOURCE_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
RESOURCE_PAUSE: Final = 1.0


class _Accepted(socket.socket):
    """An accepted socket whose ``family`` and ``type`` read as the plain ints ``_socket`` keeps:
    ``socket.socket`` converts them to enums on every read, three times per hand-over."""

    __slots__ = ()
    family = _socket.socket.family  # type: ignore[assignment]
    type = _socket.socket.type  # type: ignore[assignment]


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
                # The _socket-level accept: socket.accept() rebuilds family and type through enum
                # conversions on every call, a measurable share of a connection's cost here.
                fd, addr = self.sock._accept()  # type: ignore[attr-defined]
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
            conn = _Accepted(self.family, socket.SOCK_STREAM, 0, fd)
            factory = functools.partial(self.factory, _addr(addr))
            self._step(self.loop.connect_accepted_socket(factory, conn), conn)

    def _resume(self) -> None:
        if not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def _step(self, handover: Coroutine[Any, Any, Any], conn: socket.socket) -> None:
        # Drives connect_accepted_socket without a Task: its work is synchronous up to one wait
        # for connection_made, and a Task per connection (made, registered, stepped a loop turn
        # later) cost about 4% of the user-space instructions of a connection that only reads a
        # banner. Errors other than OSError reach the loop's exception handler, as a Task's would.
        try:
            waiting = handover.send(None)
        except StopIteration:
            return
        except OSError:
            conn.close()  # reset before the transport existed: nothing was accepted to log
            return
        if isinstance(waiting, asyncio.Future):
            waiting.add_done_callback(lambda _: self._step(handover, conn))
        else:  # a bare yield: resume on the next turn of the loop
            self.loop.call_soon(self._step, handover, conn)

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

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

import asyncio
import contextlib
import itertools
import math
import secrets
import time
import traceback
import typing
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final

from honeypods.core import events, metrics
from honeypods.core.acceptor import ProtocolFactory, address, addresses_of, listen
from honeypods.core.limits import Limits, Running, Server
from honeypods.core.transport import GuardTransport, feed

__all__ = ["Guard", "GuardProtocol", "Limits", "Running", "Server", "Session"]

# How long a close may wait for the peer to drain our last bytes before the socket is aborted.
# A peer that stops reading must not hold the connection (and its buffers) open.
CLOSE_GRACE: Final = 5.0


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
        peer = self.peer or address(transport.get_extra_info("peername"))
        local = address(transport.get_extra_info("sockname"))
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
                feed(inner, data)
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


InnerFactory = Callable[[Session], asyncio.BaseProtocol]


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

"""The connection guard: every accepted connection, whatever the decoy, goes through it.

Rules this module keeps:

1. ``session.connect`` is emitted when the connection is accepted, before any check, so even a
   connection refused for capacity is logged. Behind a trusted load balancer it waits for the
   PROXY protocol header, bounded by its timeout, so that it names the client (``proxied.py``).
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
import time
import typing
from collections import Counter
from collections.abc import Callable

from honeypods.core import metrics, proxied
from honeypods.core.acceptor import ProtocolFactory, address, addresses_of, listen
from honeypods.core.limits import Limits, ProxyProtocol, Running, Server
from honeypods.core.session import Session
from honeypods.core.transport import GuardTransport, feed

__all__ = ["Guard", "GuardProtocol", "Limits", "ProxyProtocol", "Running", "Server", "Session"]

RuleFor = Callable[[Session], str]


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
        # Reading or refusing a PROXY header (proxied.py); None when done or not configured.
        self.gate: proxied.Gate | None = None
        self.announced = False

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
        guard.counts["accepted"] += 1
        metrics.connection_opened(guard.decoy)
        if guard.proxy is not None:
            admissible = not guard.closing and len(guard.sessions) <= guard.limits.max_connections
            self.gate = proxied.Gate(guard.proxy, self, session, admissible=admissible)
            if self.gate.trusted:
                return  # admitted when its header is in
        self.admit()

    def announce(self) -> None:
        """Count the session's source and emit ``session.connect``, once."""
        session = self.session
        if self.announced or session is None:
            return
        self.announced = True
        guard = self.guard
        source = session.peer[0]
        guard.per_source[source] = guard.per_source.get(source, 0) + 1
        session.emit("session.connect", {"honeypod.active": len(guard.sessions)})

    def admit(self) -> None:
        """Announce the session, apply the caps, and start the decoy's protocol."""
        session = self.session
        if session is None:
            return
        self.announce()
        guard = self.guard
        if guard.closing:
            session.abort("shutdown")
            return
        if (
            len(guard.sessions) > guard.limits.max_connections
            or guard.per_source[session.peer[0]] > guard.limits.max_per_source
        ):
            session.abort("over_capacity")
            return
        guard.sweep_soon()
        try:
            self.inner = self.inner_factory(session)
            self.inner.connection_made(GuardTransport(self, session.transport))
        except Exception as exc:
            session.error(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        session = self.session
        if session is None or session.closed:
            return
        session.closed = True
        if self.gate is not None:
            self.gate.lost()  # before session.closed: it may still owe session.connect
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
        if self.announced:
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
        try:
            if self.gate is not None:
                data = self.gate.receive(data)
                if not data or session.reason is not None:
                    return
            self._deliver(data)
        except Exception as exc:
            session.error(exc)

    def _deliver(self, data: bytes) -> None:
        inner = self.inner
        if isinstance(inner, asyncio.BufferedProtocol):
            feed(inner, data)
        elif inner is not None:
            inner.data_received(data)  # type: ignore[attr-defined]

    def eof_received(self) -> bool | None:
        inner = self.inner
        if inner is None:
            return None
        try:
            if self.gate is not None and (held := self.gate.held()):
                self._deliver(held)
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
        proxy: the decoy's PROXY protocol settings; off when None or not enabled.
    """

    def __init__(
        self,
        decoy: str,
        limits: Limits,
        rule: str | RuleFor,
        *,
        proxy: ProxyProtocol | None = None,
    ) -> None:
        self.decoy = decoy
        self.limits = limits
        # Set when the decoy sits behind load balancers sending a PROXY protocol header.
        self.proxy = proxied.Policy(proxy) if proxy is not None and proxy.protocol else None
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
        if self.proxy is not None:
            self.expire_within(self.proxy.timeout)

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

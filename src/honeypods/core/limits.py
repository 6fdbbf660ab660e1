"""What a guard enforces per decoy (``Limits``, ``ProxyProtocol``) and what a started decoy hands
the runner (``Running``)."""

from __future__ import annotations

import asyncio
import contextlib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeypods.core.guard import Guard


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


@dataclass(frozen=True)
class ProxyProtocol:
    """PROXY protocol (v1 and v2) from load balancers in front of the decoy, read as
    `HONEYPODS_<DECOY>_PROXY_<SETTING>` (docs/load-balancers.md).

    A peer in the trusted networks must start with a header, whose client address becomes
    `source.*` (the peer's own goes to `source.nat.*`); any other peer is served as if this were
    off, and a header from one is logged as `proxy.untrusted` and closed.
    """

    # Expect a PROXY protocol header from the trusted addresses.
    protocol: bool = False
    # Addresses or CIDRs (10.0.0.0/8, 2001:db8::/32), comma-separated, allowed to send a header
    # and required to: the load balancers' or ingress controllers' addresses as the pod sees them.
    trusted: tuple[str, ...] = ()
    # Seconds a trusted peer has to send its whole header before the connection is closed.
    timeout: float = 5.0


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

    @property
    def counts(self) -> dict[str, int]:
        """The guard's counters, for ``honeypods.summary``."""
        return dict(self.guard.counts)

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

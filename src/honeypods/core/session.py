"""One connection as a decoy sees it: identity, counters, and the way to end it.

The guard (``guard.py``) creates a ``Session`` per accepted connection and emits its lifecycle
events; decoys read it, emit their events through it, and end the connection with ``close``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from honeypods.core import events

if TYPE_CHECKING:
    from honeypods.core.guard import Guard

# How long a close may wait for the peer to drain our last bytes before the socket is aborted.
# A peer that stops reading must not hold the connection (and its buffers) open.
CLOSE_GRACE: Final = 5.0


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
        "proxy",
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
        # The load balancer's (address, port) when ``peer`` came from its PROXY header.
        self.proxy: tuple[str, int] | None = None
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

"""nginx's lingering close: after a refusal, what the peer still sends is read and dropped.

nginx reads and drops a refused request's body before closing (``ngx_http_lingering_close``), so
the client sees the error page rather than a reset: it waits at most lingering_timeout for each
read and lingering_time in all. The same lingering_timeout bounds each read of a body nginx drops
after answering (``ngx_http_discard_request_body``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

LINGERING_TIMEOUT: Final = 5.0  # nginx lingering_timeout
LINGERING_TIME: Final = 30.0  # nginx lingering_time


class Lingering:
    """Drop up to ``left`` bytes (-1: until the time is up), then ``close()``.

    Args:
        loop: the running loop.
        left: bytes still declared by the refused request, or -1 when unknown (chunked).
        close: ends the connection; called once the bytes are in or a timer runs out.
    """

    __slots__ = ("close", "left", "loop", "timer", "until")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, left: int, close: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.left = left
        self.close = close
        self.until = loop.time() + LINGERING_TIME
        self.timer: asyncio.TimerHandle | None = None
        self._rearm()

    def received(self, size: int) -> None:
        """``size`` more bytes were read and dropped."""
        self.left -= size
        if self.left == 0:
            self.close()
        else:
            self._rearm()

    def cancel(self) -> None:
        """The connection is gone: no timer may fire for it."""
        if self.timer is not None:
            self.timer.cancel()

    def _rearm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        due = min(self.loop.time() + LINGERING_TIMEOUT, self.until)
        self.timer = self.loop.call_at(due, self.close)

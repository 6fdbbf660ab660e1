"""The one coroutine driver: runs a coroutine to its end without a Task.

A Task per connection or per request (made, registered, stepped a loop turn later) cost about 4%
of the user-space instructions of a connection that only reads a banner, and most of the
coroutines driven here finish in their first step: asyncio's hand-over of an accepted socket waits
once for ``connection_made``, and every web request but a login completes without waiting at all.

``Drive`` takes the first step at once, in the caller's frame; when the coroutine waits on a future
it resumes from that future's done callback, and on a bare ``yield`` on the next loop turn, as a
Task would. The coroutine must not need ``asyncio.current_task()`` (``asyncio.timeout`` does):
nothing driven here does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Done = Callable[[T | None, BaseException | None], None]


class Drive(Generic[T]):
    """Drive ``coro`` from now on; ``done(result, None)`` or ``done(None, exc)`` once it ends.

    ``done`` may run before the constructor returns, when the first step finishes the coroutine.
    """

    __slots__ = ("coro", "done", "loop", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, T], done: Done[T]) -> None:
        self.coro = coro
        self.done = done
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: asyncio.Future[Any] | None = None
        self._step()

    def cancel(self) -> None:
        """Cancel what the coroutine waits on, as ``Task.cancel`` does: the coroutine sees
        ``CancelledError`` at its ``await`` and ``done`` gets it (or whatever it ends with)."""
        waiting = self.waiting
        if waiting is not None:
            waiting.cancel()

    def _step(self) -> None:
        try:
            waiting = self.coro.send(None)
        except StopIteration as stop:
            self.done(stop.value, None)
            return
        except (KeyboardInterrupt, SystemExit):
            raise  # as a Task does: these end the loop, not one coroutine
        except BaseException as exc:  # CancelledError too: done decides
            self.done(None, exc)
            return
        if isinstance(waiting, asyncio.Future):
            self.waiting = waiting
            waiting.add_done_callback(self._wake)
        else:  # a bare yield: resume on the next turn of the loop
            loop = self.loop or asyncio.get_running_loop()
            self.loop = loop
            loop.call_soon(self._step)

    def _wake(self, _future: asyncio.Future[Any]) -> None:
        self.waiting = None
        self._step()

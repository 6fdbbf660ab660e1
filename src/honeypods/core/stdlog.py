"""Library loggers (asyncio, asyncssh, aiohttp, kubernetes_asyncio) into the event stream.

Their records become ``honeypods.log`` diagnostics, so stdout only ever holds our JSON lines.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from honeypods.core import events
from honeypods.core.clip import LONG_TEXT_CAP, clip_text


class _StdlibBridge(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = repr(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({type(record.exc_info[1]).__name__})"
        events.emit(
            "honeypods.log",
            "runner",
            {"log.logger": record.name, "message": clip_text(message, LONG_TEXT_CAP)},
            level=record.levelname.lower(),
        )


def configure_logging(stream: TextIO | None = None, library_level: int = logging.WARNING) -> None:
    """Send events to ``stream`` (stdout by default) and route library loggers into it."""
    events.set_stream(stream or sys.stdout)
    root = logging.getLogger()
    root.handlers[:] = [_StdlibBridge()]
    root.setLevel(library_level)

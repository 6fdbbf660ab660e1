"""What the reader hands out: the ``Request`` head, the one ``ProtocolError``, and nginx's limits.

Rules this module keeps: stdlib only (no asyncio, no honeypods.core); ``ProtocolError`` is the
only exception any part of the codec raises, and it carries the answer, never text for the peer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

# nginx: client_header_buffer_size 1k; large_client_header_buffers 4 8k; client_max_body_size 1m.
HEADER_BUFFER: Final = 1024
LARGE_BUFFER: Final = 8192
LARGE_BUFFERS: Final = 4
MAX_BODY: Final = 1 << 20
# nginx: keepalive_requests 1000 (since 1.19.10).
KEEPALIVE_REQUESTS: Final = 1000


class ProtocolError(Exception):
    """The request cannot be served; ``status`` is nginx's answer, 0 to close silently."""

    def __init__(self, status: int, reason: str, *, body: int = 0, http09: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        # The body the request declared (-1 chunked): nginx reads and drops it before closing.
        self.body = body
        # nginx answers an HTTP/0.9 request with the page alone, no status line or headers.
        self.http09 = http09
        # Once the request line named HEAD, even error pages go without a body; once a
        # User-Agent of MSIE or Chrome was read, they carry the padding.
        self.head_only = False
        self.padding = False


def marked(err: ProtocolError, *, head: bool = False, padding: bool = False) -> ProtocolError:
    """``err`` with what nginx knew of the request when it refused it."""
    err.head_only = head
    err.padding = padding
    return err


@dataclass
class Request:
    """One request head as nginx understood it."""

    method: str
    target: str  # origin form (latin-1): the path and query nginx works with
    path: str  # decoded and normalised, as nginx's $uri
    query: str
    version: tuple[int, int]
    version_text: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    host: str = ""
    content_length: int = -1
    chunked: bool = False
    keepalive: bool = False
    padding: bool = False  # MSIE or Chrome: error pages get nginx's padding
    expect_continue: bool = False
    head_bytes: int = 0
    dropped_headers: int = 0
    user_agent: str | None = None
    authorization: str | None = None
    raw_target: str = ""  # the request target exactly as sent (absolute form included)
    # Shared by every request parsed from the same head bytes (the reader's head cache): the
    # adapter keeps what it derives from the head alone here, to derive it once.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> Request:
        """A shallow copy (``copy.copy`` without its generic machinery)."""
        new = object.__new__(Request)
        new.__dict__.update(self.__dict__)
        return new

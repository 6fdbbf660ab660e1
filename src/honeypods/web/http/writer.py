"""Response heads and error responses written as nginx's header filter writes them.

Sans-IO: stdlib only, no asyncio, no honeypods.core; the caller passes the ``Date`` text in
(``Clock`` caches it per second, as nginx's ``ngx_cached_http_time`` does).

Rules this module keeps: the status line uses nginx's reason phrases (``status.REASONS``), and
the headers go in nginx's order: Server, Date, Content-Type, Content-Length, Last-Modified,
Location, Transfer-Encoding, Connection, then the rest in the order given. Error responses carry nginx's page and,
for MSIE and Chrome, its padding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from email.utils import formatdate
from typing import Final

from honeypods.web.http import gzip
from honeypods.web.http.status import MSIE_PADDING, REASONS, error_page, wire_status

# The headers nginx's header filter writes itself, in its order; everything else follows.
_FIRST: Final = (
    "content-type",
    "content-length",
    "last-modified",
    "location",
    "transfer-encoding",
)


class Clock:
    """nginx's cached ``Date`` string, refreshed at most once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""
        self._bytes = b""

    def http_date(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._text = formatdate(second, usegmt=True)
            self._bytes = self._text.encode("latin-1")
        return self._text

    def http_date_bytes(self, now: float) -> bytes:
        """``http_date`` as the bytes written on the wire."""
        if int(now) != self._second:
            self.http_date(now)
        return self._bytes


def http_date(timestamp: float) -> str:
    """``timestamp`` as an HTTP date (``Last-Modified``)."""
    return formatdate(int(timestamp), usegmt=True)


def make_head(
    status: int,
    headers: Iterable[tuple[str, str]],
    *,
    server: str,
    date: str,
    keepalive: bool,
) -> bytes:
    """Status line and headers as ngx_http_header_filter writes them.

    Args:
        status: the status (494/497 are written as 400).
        headers: Content-Type, Content-Length, Last-Modified, Location and any others; the
            first four are moved into nginx's order, the rest keep theirs.
        server: the persona's version, e.g. ``1.22.1``.
        date: the ``Date`` value.
        keepalive: ``Connection: keep-alive`` or ``close``.
    """
    status = wire_status(status)
    first: dict[str, str] = {}
    rest: list[str] = []
    for name, value in headers:
        low = name.lower()
        if low in _FIRST:
            first[low] = value
        elif low not in ("server", "date", "connection"):
            rest.append(f"{name}: {value}\r\n")
    out = [f"HTTP/1.1 {status} {REASONS.get(status, '')}".rstrip(" ") + "\r\n"]
    if status not in REASONS:
        out[0] = f"HTTP/1.1 {status:03d} \r\n"
    out.append(f"Server: nginx/{server}\r\nDate: {date}\r\n")
    if "content-type" in first:
        out.append(f"Content-Type: {first['content-type']}\r\n")
    if "content-length" in first:
        out.append(f"Content-Length: {first['content-length']}\r\n")
    if "last-modified" in first:
        out.append(f"Last-Modified: {first['last-modified']}\r\n")
    if "location" in first:
        out.append(f"Location: {first['location']}\r\n")
    if "transfer-encoding" in first:
        out.append(f"Transfer-Encoding: {first['transfer-encoding']}\r\n")
    out.append("Connection: keep-alive\r\n" if keepalive else "Connection: close\r\n")
    out.extend(rest)
    out.append("\r\n")
    return "".join(out).encode("latin-1")


def make_error(
    status: int,
    *,
    server: str,
    date: str,
    keepalive: bool,
    padding: bool = False,
    head_only: bool = False,
    extra: Sequence[tuple[str, str]] = (),
    http09: bool = False,
    gzip_ok: bool = False,
) -> bytes:
    """A complete nginx error response (head and page) for ``status``; compressed as nginx's
    gzip filter does when ``gzip_ok`` (the request accepts it) and the status is one it takes."""
    body = error_page(status, server)
    if padding and status >= 400:
        body += MSIE_PADDING.encode("ascii")
    if http09:
        return body
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(body))), *extra]
    if gzip_ok and gzip.response_eligible(status, "text/html", len(body)):
        headers = gzip.headers_for(headers, head_only=head_only)
        head = make_head(status, headers, server=server, date=date, keepalive=keepalive)
        return head if head_only else head + gzip.chunked(gzip.compress(body))
    head = make_head(status, headers, server=server, date=date, keepalive=keepalive)
    return head if head_only else head + body

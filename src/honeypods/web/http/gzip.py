"""nginx's gzip filter as Debian's nginx.conf sets it: ``gzip on``, every other ``gzip_*`` at its
default (the others are commented out there).

Sans-IO: stdlib only. Rules this module keeps (ngx_http_gzip_ok, ngx_http_gzip_filter_module):

* The request: HTTP/1.1 or later (``gzip_http_version 1.1``); the first Accept-Encoding names
  ``gzip`` after its start, a comma or a space, followed by its end, a comma, or a ``;q=`` that is
  not zero; no Via header (``gzip_proxied off``).
* The response: status 200, 403 or 404; type ``text/html`` (``gzip_types``' default, parameters
  aside); no Content-Encoding yet; at least ``gzip_min_length`` 20 bytes. Range requests of such a
  response get all of it, compressed: the filter drops the length before ranges are looked at.
* The head: no Content-Length, no Accept-Ranges, the ETag made weak, ``Content-Encoding: gzip``
  after the other headers, and ``Transfer-Encoding: chunked`` unless it is a HEAD (no Vary:
  ``gzip_vary`` is off).
* The body: zlib at level 1 (``gzip_comp_level``) with its gzip wrapper, the window and memory
  level shrunk while the body is smaller than the window, in one chunk, then the last chunk.
  nginx sends a body of more than 32 KiB (its ``output_buffers``) in more chunks; the decoy
  still sends one, with the same bytes inside.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Final

STATUSES: Final = frozenset({200, 403, 404})
TYPES: Final = frozenset({"text/html"})
MIN_LENGTH: Final = 20  # gzip_min_length
LEVEL: Final = 1  # gzip_comp_level
WINDOW_BITS: Final = 15  # gzip_window 32k
MEMORY_LEVEL: Final = 8  # gzip_memory 128k
_DROPPED: Final = frozenset({"content-length", "accept-ranges", "transfer-encoding"})


def _quality_nonzero(value: str) -> bool:
    # ngx_http_gzip_quantity: "0", "1", or one of them, a dot and at most three digits; q <= 1.
    if not value or value[0] not in "01":
        return False
    q = (ord(value[0]) - 48) * 100
    rest = value[1:]
    if not rest or rest[0] in ", ":
        return q > 0
    if rest[0] != ".":
        return False
    digits = 0
    for c in rest[1:]:
        if c in ", ":
            break
        if not "0" <= c <= "9":
            return False
        q += ord(c) - 48
        digits += 1
    return 0 < q <= 100 and digits <= 3


def accepts_gzip(value: str) -> bool:
    """Whether an Accept-Encoding value lets nginx send gzip (ngx_http_gzip_accept_encoding)."""
    if value.startswith("gzip,"):
        return True
    low = value.lower()
    start = 0
    while True:
        at = low.find("gzip", start)
        if at < 0:
            return False
        if at == 0 or low[at - 1] in ", ":
            break
        start = at + 4
    i = at + 4
    while i < len(value):
        c = value[i]
        i += 1
        if c == ",":
            return True
        if c == ";":
            break
        if c != " ":
            return False
    else:
        return True
    while i < len(value):
        c = value[i]
        i += 1
        if c in "qQ":
            break
        if c != " ":
            return False
    else:
        return True
    if i + 2 > len(value) or value[i] != "=":
        return False
    return _quality_nonzero(value[i + 1 :])


def request_wants(version: tuple[int, int], headers: Iterable[tuple[str, str]]) -> bool:
    """Whether nginx would compress a response to a request of ``version`` with ``headers``."""
    if version < (1, 1):
        return False
    encoding = None
    for name, value in headers:
        low = name.lower()
        if low == "via":
            return False
        if low == "accept-encoding" and encoding is None:
            encoding = value
    return encoding is not None and len(encoding) >= 4 and accepts_gzip(encoding)


def response_eligible(status: int, content_type: str, length: int) -> bool:
    """Whether a response of ``status``, ``content_type`` and ``length`` bytes is compressed."""
    kind = content_type.partition(";")[0].strip().lower()
    return status in STATUSES and kind in TYPES and length >= MIN_LENGTH


def compress(body: bytes) -> bytes:
    """``body`` as nginx's gzip filter compresses it (ngx_http_gzip_filter_memory's sizes)."""
    wbits, memlevel = WINDOW_BITS, MEMORY_LEVEL
    if body:
        # The window actually used is 262 bytes smaller than 1 << wbits.
        while len(body) < (1 << (wbits - 1)) - 262:
            wbits -= 1
            memlevel -= 1
    stream = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + wbits, max(memlevel, 1))
    return stream.compress(body) + stream.flush()


def chunked(data: bytes) -> bytes:
    """``data`` as one chunk and the last chunk, as nginx's chunked filter frames them."""
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


def headers_for(headers: Iterable[tuple[str, str]], *, head_only: bool) -> list[tuple[str, str]]:
    """A response's headers once compressed (``make_head`` puts each in nginx's order)."""
    out = []
    for name, value in headers:
        low = name.lower()
        if low in _DROPPED:
            continue
        # ngx_http_weak_etag: a strong tag gets the W/ prefix.
        weak = low == "etag" and value.startswith('"')
        out.append((name, "W/" + value if weak else value))
    if not head_only:
        out.append(("Transfer-Encoding", "chunked"))
    out.append(("Content-Encoding", "gzip"))
    return out

"""Sans-IO HTTP/1.x codec that behaves like nginx 1.22: a request reader and a response writer.

No asyncio, no logging, no clock, nothing of ``honeypods.core``: only the standard library (h11's
rule). The adapter (``web.connection``) feeds bytes in, takes request heads and bodies out, and
asks for the exact bytes nginx would send.

Modules, in the order a request meets them:

* ``line``: the request line (port of ``ngx_http_parse_request_line``) and the URI's path.
* ``headers``: header lines (port of ``ngx_http_parse_header_line``).
* ``head``: the checks of a whole head, into a ``Request``.
* ``reader``: ``RequestReader``, nginx's header buffers and the head cache; ``body``: bodies.
* ``request``: ``Request``, ``ProtocolError`` and nginx's limits.
* ``status``, ``writer``: nginx's status lines, error pages and header order.
* ``ranges``: how nginx reads Range, If-Range and entity tags.
* ``gzip``: which answers nginx's gzip filter compresses, and how (Debian's ``gzip on``).

The only exception any of them raises is ``ProtocolError``.
"""

from honeypods.web.http import gzip
from honeypods.web.http.ranges import etag_matches, parse_ranges
from honeypods.web.http.reader import RequestReader
from honeypods.web.http.request import KEEPALIVE_REQUESTS, MAX_BODY, ProtocolError, Request
from honeypods.web.http.status import (
    CLOSING_STATUSES,
    MSIE_PADDING,
    REASONS,
    error_page,
    wire_status,
)
from honeypods.web.http.writer import Clock, http_date, make_error, make_head

__all__ = [
    "CLOSING_STATUSES",
    "KEEPALIVE_REQUESTS",
    "MAX_BODY",
    "MSIE_PADDING",
    "REASONS",
    "Clock",
    "ProtocolError",
    "Request",
    "RequestReader",
    "error_page",
    "etag_matches",
    "gzip",
    "http_date",
    "make_error",
    "make_head",
    "parse_ranges",
    "wire_status",
]

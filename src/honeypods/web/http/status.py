"""Statuses as nginx 1.22 writes them: reason phrases, built-in error pages, which statuses close.

A table module: stdlib only, no asyncio, no honeypods.core. The texts are nginx's, byte for byte
(``ngx_http_header_filter_module.c`` and ``ngx_http_special_response.c``), including its quirks:
"302 Moved Temporarily", "405 Not Allowed", a 401 page titled "Authorization Required".
"""

from __future__ import annotations

from typing import Final

CRLF: Final = "\r\n"

# Status lines from ngx_http_header_filter_module.c (note "302 Moved Temporarily").
REASONS: Final = {
    200: "OK",
    201: "Created",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Not Allowed",
    406: "Not Acceptable",
    408: "Request Time-out",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Large",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    421: "Misdirected Request",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
    505: "HTTP Version Not Supported",
}

# Titles of nginx's built-in error pages (ngx_http_special_response.c); 401's page title
# differs from its status line.
_PAGE_TITLES: Final = {
    **REASONS,
    401: "Authorization Required",
}
# nginx's own codes: a 400 status line with a more precise page.
_NGINX_CODES: Final = {
    494: "Request Header Or Cookie Too Large",
    497: "The plain HTTP request was sent to HTTPS port",
}

MSIE_PADDING: Final = (
    "<!-- a padding to disable MSIE and Chrome friendly error page -->" + CRLF
) * 6


def error_page(status: int, server_version: str) -> bytes:
    """The body nginx sends for ``status`` (including its 494/497 pseudo-codes)."""
    tail = f"<hr><center>nginx/{server_version}</center>{CRLF}</body>{CRLF}</html>{CRLF}"
    if status in _NGINX_CODES:
        text = _NGINX_CODES[status]
        head = (
            f"<html>{CRLF}<head><title>400 {text}</title></head>{CRLF}<body>{CRLF}"
            f"<center><h1>400 Bad Request</h1></center>{CRLF}<center>{text}</center>{CRLF}"
        )
    else:
        title = f"{status} {_PAGE_TITLES[status]}"
        head = (
            f"<html>{CRLF}<head><title>{title}</title></head>{CRLF}<body>{CRLF}"
            f"<center><h1>{title}</h1></center>{CRLF}"
        )
    return (head + tail).encode("ascii")


def wire_status(status: int) -> int:
    """The status nginx puts on the wire for one of its internal codes."""
    return 400 if status in _NGINX_CODES else status


# Statuses after which nginx never keeps the connection (ngx_http_special_response_handler).
CLOSING_STATUSES: Final = frozenset({400, 413, 414, 494, 497, 500, 501})

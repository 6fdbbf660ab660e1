"""A request head from its parsed lines: what nginx's header handlers and ngx_http_process_request check.

Sans-IO: stdlib only, no asyncio, no honeypods.core.

Rules this module keeps:

1. The checks run in nginx's order: the request line's host, then each header line's handler in
   the order the lines came (duplicates of unique headers, Host validation), then the checks of
   the whole head (Host required in HTTP/1.1, Content-Length syntax, Transfer-Encoding, methods
   nginx refuses). The first failure is the answer.
2. A refusal carries what nginx knew when it refused (a HEAD request line, an MSIE or Chrome
   User-Agent among the header lines handled so far), since that decides the page's shape.
3. Attacker bytes become ``str`` as latin-1, one character a byte, so nothing here can fail to
   decode; the adapter re-encodes them for logging.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from honeypods.web.http.line import Line
from honeypods.web.http.request import ProtocolError, Request, marked


def latin(data: bytes) -> str:
    """Attacker bytes as ``str``, one character a byte."""
    return data.decode("latin-1")


# Headers nginx refuses to see twice (their handlers are ngx_http_process_unique_header_line).
UNIQUE: Final = frozenset(
    {
        "if-modified-since",
        "if-unmodified-since",
        "if-match",
        "if-none-match",
        "content-length",
        "content-range",
        "if-range",
        "transfer-encoding",
        "expect",
        "authorization",
    }
)


def make_request(
    line: Line,
    raw_headers: list[tuple[bytes, bytes]],
    dropped: int,
    size: int,
    *,
    strict: bool = True,
) -> Request:
    """The request of one complete head.

    Args:
        line: the parsed request line, its path already normalised.
        raw_headers: the header lines kept, as (name, value) bytes.
        dropped: header lines nginx ignored.
        size: the head's length in bytes.
        strict: nginx 1.21.2 and later (400 for Content-Length with Transfer-Encoding and for
            HTTP/1.0 with Transfer-Encoding); False is 1.18, where chunked wins.

    Raises:
        ProtocolError: nginx refuses the head; marked with what it knew at that point.
    """
    # Header lines whose handlers had run when a check failed: they decide the page's padding.
    handled = 0
    try:
        target = line.target
        path = line.path
        query = target.partition(b"?")[2] if b"?" in target else b""
        version = (line.major, line.minor)
        req = Request(
            method=latin(line.method),
            target=latin(target),
            path=latin(path),
            query=latin(query),
            version=version,
            version_text=latin(line.version),
            head_bytes=size,
            dropped_headers=dropped,
            raw_target=latin(line.raw_target or target),
        )
        headers = req.headers
        unique: set[str] = set()
        host: bytes | None = None
        if line.host:
            host = valid_host(line.host)
            if host is None:
                raise ProtocolError(400, "client sent invalid host in request line")
        has_host_header = False
        connection = ""
        agent = ""
        te: str | None = None
        cl: str | None = None
        for index, (raw_name, raw_value) in enumerate(raw_headers):
            handled = index + 1
            name, value = latin(raw_name), latin(raw_value)
            headers.append((name, value))
            low = name.lower()
            if low in UNIQUE:
                if low in unique:
                    raise ProtocolError(400, "client sent duplicate header line")
                unique.add(low)
            if low == "host":
                if has_host_header:
                    raise ProtocolError(400, "client sent duplicate host header")
                has_host_header = True
                valid = valid_host(raw_value)
                if valid is None:
                    raise ProtocolError(400, "client sent invalid host header")
                if host is None:
                    host = valid
            elif low == "connection":
                connection = value.lower()
            elif low == "user-agent":
                if req.user_agent is None:
                    agent = value
                    req.user_agent = value
            elif low == "authorization":
                req.authorization = value
            elif low == "content-length":
                cl = value
            elif low == "transfer-encoding":
                te = value
            elif low == "expect":
                req.expect_continue = value.lower() == "100-continue"
        handled = len(raw_headers)
        req.host = latin(host or b"")
        padding, msie6 = msie_chrome(agent)
        req.padding = padding and version >= (1, 0)
        if version >= (1, 1) and not has_host_header:
            raise ProtocolError(400, 'client sent HTTP/1.1 request without "Host" header')
        if cl is not None:
            if not cl.isdigit() or not cl.isascii() or len(cl) > 18:
                raise ProtocolError(400, 'client sent invalid "Content-Length" header')
            req.content_length = int(cl)
        if te is not None:
            if strict and version < (1, 1):
                raise ProtocolError(400, 'client sent HTTP/1.0 request with "Transfer-Encoding"')
            if te.lower() != "chunked":
                raise ProtocolError(501, 'client sent unknown "Transfer-Encoding"')
            if not strict:
                req.content_length = -1  # 1.18: chunked wins, Content-Length is dropped
            elif cl is not None:
                raise ProtocolError(
                    400,
                    'client sent "Content-Length" and "Transfer-Encoding"',
                    body=req.content_length,
                )
            req.chunked = True
        if req.method in ("CONNECT", "TRACE"):
            body = -1 if req.chunked else max(req.content_length, 0)
            raise ProtocolError(405, f"client sent {req.method} method", body=body)
        # ngx_http_handler: keep-alive by version and Connection header; keepalive_disable msie6
        # only matters for POST.
        if version >= (1, 1):
            req.keepalive = "close" not in connection
        else:
            req.keepalive = "close" not in connection and "keep-alive" in connection
        if msie6 and req.method == "POST":
            req.keepalive = False
    except ProtocolError as err:
        raise marked_by(err, line.method, raw_headers[:handled]) from None
    return req


def marked_by(
    err: ProtocolError, method: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> ProtocolError:
    """``err`` marked for a request line with ``method`` and these header lines read so far."""
    agent = next((v for k, v in headers if k.lower() == b"user-agent"), None)
    padding = agent is not None and msie_chrome(latin(agent))[0]
    return marked(err, head=method == b"HEAD", padding=padding)


_SIMPLE_HOST: Final = re.compile(rb"([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)\.?(?::[0-9]*)?")


def valid_host(host: bytes) -> bytes | None:
    """ngx_http_validate_host: the host lowercased without port and trailing dot, or None."""
    m = _SIMPLE_HOST.fullmatch(host)
    if m is not None:
        return m.group(1).lower()
    dot_pos = len(host)
    host_len = len(host)
    state = "usual"
    for i, ch in enumerate(host):
        if ch == 0x2E:  # .
            if dot_pos == i - 1:
                return None
            dot_pos = i
        elif ch == 0x3A:  # :
            if state == "usual":
                host_len = i
                state = "rest"
        elif ch == 0x5B:  # [
            if i == 0:
                state = "literal"
        elif ch == 0x5D:  # ]
            if state == "literal":
                host_len = i + 1
                state = "rest"
        elif ch == 0x2F or ch <= 0x20 or ch == 0x7F:  # / and controls
            return None
    if dot_pos == host_len - 1:
        host_len -= 1
    if host_len <= 0:
        return None
    return host[:host_len].lower()


def msie_chrome(agent: str) -> tuple[bool, bool]:
    """(msie or chrome, msie6) as ngx_http_process_user_agent decides them."""
    msie = False
    msie6 = False
    i = agent.find("MSIE ")
    if i >= 0 and i + 7 < len(agent):
        msie = True
        if agent[i + 6 : i + 7] == ".":
            major = agent[i + 5]
            if major in "45" or (major == "6" and "SV1" not in agent[i + 8 :]):
                msie6 = True
    if "Opera" in agent:
        return False, False
    if not msie:
        if "Gecko/" in agent:
            return False, False
        return "Chrome/" in agent, False
    return True, msie6

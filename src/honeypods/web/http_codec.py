"""Sans-IO HTTP/1.x request reader and response writer that behave like nginx 1.22.

No asyncio, no logging, no clock: the adapter (``web.py``) feeds bytes in, takes request heads and
bodies out, and asks for the exact bytes nginx would send.

Rules this module keeps:

1. The request line and header lines are accepted or refused exactly as nginx's
   ``ngx_http_parse_request_line``/``ngx_http_parse_header_line`` do, byte for byte: a fast
   regular expression takes the common well-formed lines, and a port of nginx's state machines
   decides everything else, including where in the stream an error is noticed.
2. Header buffers are simulated: a 1 KiB first buffer (``client_header_buffer_size``), then up to
   four 8 KiB buffers (``large_client_header_buffers 4 8k``) into which the line being parsed is
   copied. A request line that does not fit gives 414, a header line that does not fit (or no
   buffer left) gives nginx's 494 page with status 400, at the same stream offset nginx gives it.
3. The only exception raised is ``ProtocolError``; it carries the status to answer with (0 means
   close without an answer, as nginx does for a timeout or a body cut short).
4. Responses are written with nginx's status lines, header order (Server, Date, Content-Type,
   Content-Length, Last-Modified, Location, Connection, then the rest), error page bodies and the
   MSIE/Chrome padding nginx adds to error pages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Final

# nginx: client_header_buffer_size 1k; large_client_header_buffers 4 8k; client_max_body_size 1m.
HEADER_BUFFER: Final = 1024
LARGE_BUFFER: Final = 8192
LARGE_BUFFERS: Final = 4
MAX_BODY: Final = 1 << 20
# nginx: keepalive_requests 1000 (since 1.19.10).
KEEPALIVE_REQUESTS: Final = 1000

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


NEED_DATA: Final = None

# -- request line ---------------------------------------------------------------------------------

_CR, _LF, _SP = 13, 10, 32
_METHOD_CHARS: Final = frozenset(range(ord("A"), ord("Z") + 1)) | {ord("_"), ord("-")}
_ALPHA: Final = frozenset(range(ord("a"), ord("z") + 1))
_DIGITS: Final = frozenset(range(ord("0"), ord("9") + 1))
_IP_LITERAL: Final = _ALPHA | _DIGITS | frozenset(b":-._~!$&'()*+,;=")
_HOST_CHARS: Final = _ALPHA | _DIGITS | frozenset(b".-")

# The common well-formed request line; anything else goes through the state machine.
_FAST_LINE: Final = re.compile(
    rb"([A-Z_-]+) (/[\x21-\x22\x24-\x7e\x80-\xff]*) HTTP/1\.([0-9]{1,3})\r?\n"
)
_FAST_HEADER: Final = re.compile(rb"([A-Za-z0-9-]+): *([^\x00\r\n]*?) *\r?\n")
_FAST_HEAD: Final = re.compile(
    rb"([A-Z_-]+) (/[\x21-\x22\x24-\x7e\x80-\xff]*) HTTP/1\.([0-9]{1,3})\r\n"
    rb"((?:[A-Za-z0-9-]+:[^\x00\r\n]*\r\n)*)\r\n"
)

_LINE_OK, _LINE_AGAIN, _LINE_BAD, _LINE_VERSION, _LINE_BAD_09 = range(5)


@dataclass
class _Line:
    method: bytes = b""
    target: bytes = b""
    host: bytes = b""
    major: int = 0
    minor: int = 0
    version: bytes = b""
    end: int = 0
    raw_target: bytes = b""
    path: bytes = b""


def _scan_request_line(buf: bytes | bytearray, start: int, stop: int) -> tuple[int, int, _Line]:
    """Port of ngx_http_parse_request_line over buf[start:stop] from its initial state.

    Returns:
        (result, position, fields): position is where an error was seen, or the end of the line.
    """
    line = _Line()
    state = "method"
    method_end = uri_start = host_start = host_end = schema_end = 0
    uri_end = -1
    proto_start = -1
    p = start
    while p < stop:
        ch = buf[p]
        if state == "method":
            if ch == _SP and p > start:
                method_end = p
                state = "spaces_before_uri"
            elif ch not in _METHOD_CHARS:
                return _LINE_BAD, p, line
        elif state == "spaces_before_uri":
            if ch == ord("/"):
                uri_start = p
                state = "uri"
            elif (ch | 0x20) in _ALPHA:
                state = "schema"
            elif ch != _SP:
                return _LINE_BAD, p, line
        elif state == "schema":
            if (ch | 0x20) in _ALPHA or ch in _DIGITS or ch in b"+-.":
                pass
            elif ch == ord(":"):
                schema_end = p
                state = "schema_slash"
            else:
                return _LINE_BAD, p, line
        elif state == "schema_slash":
            if ch != ord("/"):
                return _LINE_BAD, p, line
            state = "schema_slash_slash"
        elif state == "schema_slash_slash":
            if ch != ord("/"):
                return _LINE_BAD, p, line
            state = "host_start"
        elif state in ("host_start", "host", "host_end", "port"):
            if state == "host_start":
                host_start = p
                if ch == ord("["):
                    state = "host_ip_literal"
                    p += 1
                    continue
                state = "host"
            if state == "host" and ((ch | 0x20) in _ALPHA or ch in _DIGITS or ch in b".-"):
                p += 1
                continue
            if state == "port" and ch in _DIGITS:
                p += 1
                continue
            if state in ("host", "host_end"):
                host_end = p
            if state != "port" and ch == ord(":"):
                state = "port"
            elif ch == ord("/") or ch == ord("?"):
                uri_start = p
                state = "uri"
            elif ch == _SP:
                uri_start, uri_end = schema_end + 1, schema_end + 2
                state = "http_09"
            else:
                return _LINE_BAD, p, line
        elif state == "host_ip_literal":
            if ch in _IP_LITERAL:
                pass
            elif ch == ord("]"):
                state = "host_end"
            else:
                return _LINE_BAD, p, line
        elif state == "uri":
            if ch == _SP:
                uri_end = p
                state = "http_09"
            elif ch in (_CR, _LF):
                uri_end = p
                line.minor = 9
                if ch == _LF:
                    return _done(
                        line,
                        buf,
                        (start, method_end, uri_start, uri_end, p, -1, host_start, host_end, -1),
                    )
                state = "almost_done"
            elif ch < 0x20 or ch == 0x7F:
                return _LINE_BAD, p, line
        elif state == "http_09":
            if ch == _SP:
                pass
            elif ch in (_CR, _LF):
                line.minor = 9
                if ch == _LF:
                    return _done(
                        line,
                        buf,
                        (start, method_end, uri_start, uri_end, p, -1, host_start, host_end, -1),
                    )
                state = "almost_done"
            elif ch == ord("H"):
                proto_start = p
                state = "H"
            else:
                return _LINE_BAD, p, line
        elif state in ("H", "HT", "HTT", "HTTP"):
            want = {"H": "T", "HT": "T", "HTT": "P", "HTTP": "/"}[state]
            if ch != ord(want):
                return _LINE_BAD, p, line
            state = "first_major" if state == "HTTP" else state + want
        elif state == "first_major":
            if ch < ord("1") or ch > ord("9"):
                return _LINE_BAD, p, line
            line.major = ch - 48
            if line.major > 1:
                return _LINE_VERSION, p, line
            state = "major"
        elif state == "major":
            if ch == ord("."):
                state = "first_minor"
            elif ch not in _DIGITS:
                return _LINE_BAD, p, line
            else:
                line.major = line.major * 10 + ch - 48
                if line.major > 1:
                    return _LINE_VERSION, p, line
        elif state == "first_minor":
            if ch not in _DIGITS:
                return _LINE_BAD, p, line
            line.minor = ch - 48
            state = "minor"
        elif state == "minor":
            if ch == _CR:
                state = "almost_done"
                proto_end = p
            elif ch == _LF:
                return _done(
                    line,
                    buf,
                    (
                        start,
                        method_end,
                        uri_start,
                        uri_end,
                        p,
                        proto_start,
                        host_start,
                        host_end,
                        p,
                    ),
                )
            elif ch == _SP:
                proto_end = p
                state = "spaces_after_digit"
            elif ch not in _DIGITS or line.minor > 99:
                return _LINE_BAD, p, line
            else:
                line.minor = line.minor * 10 + ch - 48
        elif state == "spaces_after_digit":
            if ch == _SP:
                pass
            elif ch == _CR:
                state = "almost_done"
            elif ch == _LF:
                return _done(
                    line,
                    buf,
                    (
                        start,
                        method_end,
                        uri_start,
                        uri_end,
                        p,
                        proto_start,
                        host_start,
                        host_end,
                        proto_end,
                    ),
                )
            else:
                return _LINE_BAD, p, line
        elif state == "almost_done":
            if ch != _LF:
                return _LINE_BAD, p, line
            end = proto_end if proto_start >= 0 else -1
            return _done(
                line,
                buf,
                (start, method_end, uri_start, uri_end, p, proto_start, host_start, host_end, end),
            )
        p += 1
    return _LINE_AGAIN, p, line


def _done(
    line: _Line,
    buf: bytes | bytearray,
    marks: tuple[int, int, int, int, int, int, int, int, int],
) -> tuple[int, int, _Line]:
    start, method_end, uri_start, uri_end, lf, proto_start, host_start, host_end, proto_end = marks
    line.method = bytes(buf[start:method_end])
    line.raw_target = bytes(buf[method_end:lf]).lstrip(b" ").split(b" ", 1)[0].rstrip(b"\r")
    if uri_start and uri_end > uri_start and buf[uri_start] in b"/?":
        line.target = bytes(buf[uri_start:uri_end])
        if buf[uri_start] == ord("?"):
            line.target = b"/" + line.target
    else:
        line.target = b"/"
    if host_end > host_start:
        line.host = bytes(buf[host_start:host_end])
    if proto_start >= 0 and proto_end > proto_start:
        line.version = bytes(buf[proto_start:proto_end])
    if proto_start < 0:
        line.major, line.minor = 0, 9
    line.end = lf + 1
    if line.major == 0 and line.method != b"GET":
        # ngx: NGX_HTTP_PARSE_INVALID_09_METHOD
        return _LINE_BAD_09, lf, line
    return _LINE_OK, lf, line


# -- header lines ---------------------------------------------------------------------------------

_HDR_OK, _HDR_AGAIN, _HDR_BAD, _HDR_DONE = range(4)
_NAME_CHARS: Final = _ALPHA | _DIGITS | frozenset(range(ord("A"), ord("Z") + 1)) | {ord("-")}


def _scan_header_line(
    buf: bytes | bytearray, start: int, stop: int
) -> tuple[int, int, bytes, bytes, bool]:
    """Port of ngx_http_parse_header_line for one line from buf[start].

    Returns:
        (result, position, name, value, invalid): ``invalid`` marks a line nginx ignores
        (underscores or odd characters in the name).
    """
    state = "start"
    invalid = False
    name_end = value_start = value_end = -1
    p = start
    while p < stop:
        ch = buf[p]
        if state == "start":
            if ch == _CR:
                state = "header_almost_done"
            elif ch == _LF:
                return _HDR_DONE, p, b"", b"", False
            else:
                state = "name"
                if ch in _NAME_CHARS:
                    pass
                elif ch <= 0x20 or ch == 0x7F or ch == ord(":"):
                    return _HDR_BAD, p, b"", b"", False
                else:
                    invalid = True
        elif state == "name":
            if ch in _NAME_CHARS:
                pass
            elif ch == ord(":"):
                name_end = p
                state = "space_before_value"
            elif ch in (_CR, _LF):
                name_end = value_start = value_end = p
                if ch == _LF:
                    break
                state = "almost_done"
            elif ch <= 0x20 or ch == 0x7F:
                return _HDR_BAD, p, b"", b"", False
            else:
                invalid = True
        elif state == "space_before_value":
            if ch == _SP:
                pass
            elif ch in (_CR, _LF):
                value_start = value_end = p
                if ch == _LF:
                    break
                state = "almost_done"
            elif ch == 0:
                return _HDR_BAD, p, b"", b"", False
            else:
                value_start = p
                state = "value"
        elif state == "value":
            if ch == _SP:
                value_end = p
                state = "space_after_value"
            elif ch in (_CR, _LF):
                value_end = p
                if ch == _LF:
                    break
                state = "almost_done"
            elif ch == 0:
                return _HDR_BAD, p, b"", b"", False
        elif state == "space_after_value":
            if ch == _SP:
                pass
            elif ch in (_CR, _LF):
                if ch == _LF:
                    break
                state = "almost_done"
            elif ch == 0:
                return _HDR_BAD, p, b"", b"", False
            else:
                state = "value"
        elif state == "almost_done":
            if ch == _LF:
                break
            if ch != _CR:
                return _HDR_BAD, p, b"", b"", False
        elif state == "header_almost_done":
            if ch == _LF:
                return _HDR_DONE, p, b"", b"", False
            return _HDR_BAD, p, b"", b"", False
        p += 1
    else:
        return _HDR_AGAIN, p, b"", b"", False
    name = bytes(buf[start:name_end])
    value = bytes(buf[value_start:value_end]) if value_end > value_start else b""
    return _HDR_OK, p, name, value, invalid


# Prefixes of well-formed lines still waiting for their end: no need to scan them byte by byte.
_PARTIAL_LINE: Final = re.compile(
    rb"[A-Z_-]+(?: +(?:/[^\x00-\x20\x7f]*"
    rb"(?: +(?:H(?:T(?:T(?:P(?:/(?:1(?:\.(?:[0-9]{1,3}(?: *\r?)?)?)?)?)?)?)?)?)?)?)?)?"
)
_PARTIAL_HEADER: Final = re.compile(rb"[A-Za-z0-9-]+(?::[^\x00\r\n]*\r?)?")


@dataclass
class _Progress:
    """A request head read up to ``p``: its request line and the header lines so far."""

    line: _Line
    p: int
    bend: int
    nbusy: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    dropped: int = 0


# -- the request ----------------------------------------------------------------------------------


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
    # Shared by every request parsed from the same head bytes (see _HEADS): the adapter keeps
    # what it derives from the head alone here, to derive it once.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> Request:
        """A shallow copy (``copy.copy`` without its generic machinery)."""
        new = object.__new__(Request)
        new.__dict__.update(self.__dict__)
        return new

    def header(self, name: str) -> str | None:
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None


def _latin(data: bytes) -> str:
    return data.decode("latin-1")


_UNIQUE: Final = frozenset(
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

_HEX: Final = frozenset(b"0123456789abcdefABCDEF")


def normalize_path(raw: bytes) -> bytes | None:
    """nginx's ngx_http_parse_complex_uri, closely enough: decode %XX, merge slashes, resolve
    dot segments. Returns None where nginx answers 400."""
    path, _, _ = raw.partition(b"?")
    path = path.split(b"#", 1)[0]
    if b"%" in path:
        out = bytearray()
        i = 0
        while i < len(path):
            ch = path[i]
            if ch == ord("%"):
                pair = path[i + 1 : i + 3]
                if len(pair) < 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                    return None
                value = int(pair, 16)
                if value == 0:
                    return None
                out.append(value)
                i += 3
            else:
                out.append(ch)
                i += 1
        path = bytes(out)
    segments: list[bytes] = []
    for seg in path.split(b"/")[1:]:
        if seg in (b"", b"."):
            continue
        if seg == b"..":
            if not segments:
                return None
            segments.pop()
            continue
        segments.append(seg)
    trailing = path.endswith((b"/", b"/.", b"/.."))
    result = b"/" + b"/".join(segments)
    if trailing and segments:
        result += b"/"
    return result


def _msie_chrome(agent: str) -> tuple[bool, bool]:
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


# Parsed heads by their exact bytes: scanners and clients send the same few heads again and
# again, and a head's parse depends on its bytes alone. Bounded in entries, head size and header
# count (a full cache holds about 2 MiB at worst); requests handed out are copies, so no
# connection sees another's changes.
_HEADS: dict[bytes, Request] = {}
_HEADS_MAX: Final = 128
_HEAD_MAX_BYTES: Final = HEADER_BUFFER
_HEAD_MAX_HEADERS: Final = 24


class RequestReader:
    """Turns bytes into ``Request`` heads and bodies, as nginx reads them.

    Usage: ``receive_data(data)``; then ``next_request()`` returns a ``Request`` or ``None`` (need
    data); after a request with a body, ``read_body()`` returns the body or ``None``.

    Args:
        tls: the connection is TLS (only changes nothing here; kept for the adapter).
        max_body: nginx's client_max_body_size.
    """

    def __init__(self, *, max_body: int = MAX_BODY) -> None:
        self.buf = bytearray()
        self.max_body = max_body
        # Where the current nginx header buffer ends, relative to self.buf; and large ones used.
        self._bend = HEADER_BUFFER
        self._nbusy = 0
        self._body_left = 0
        self._body = bytearray()
        self._body_size = 0
        self._sha = hashlib.sha256()  # replaced per request that has a body
        self._chunk_state = ""
        self._chunk_left = 0
        self._progress: _Progress | None = None
        self._failed_at = -1
        self.consumed_head = b""

    def receive_data(self, data: bytes) -> None:
        self.buf += data

    # -- heads ---------------------------------------------------------------------------------

    def next_request(self) -> Request | None:
        """Parse one request head.

        Work already done on complete lines is kept between calls, and a partial line is checked
        with a prefix expression before the byte-by-byte scanner, so a client sending one byte at
        a time costs linear, not quadratic, time.

        Raises:
            ProtocolError: nginx would refuse it; ``status`` says how.
        """
        buf = self.buf
        self.consumed_head = b""
        if not buf:
            return None
        progress = self._progress
        if progress is None:
            # The usual request: a whole, plain head inside the current buffer.
            m = _FAST_HEAD.match(buf)
            if m is not None and m.end() <= self._bend:
                fast = self._fast(m)
                if fast is not None:
                    return fast
        if progress is None:
            progress = self._request_line()
            if progress is None:
                return None
            if progress.line.major == 0:
                # HTTP/0.9: no headers, no body.
                req = self._make(progress.line, [], 0, progress.line.end)
                self._consume(progress.line.end, progress.bend, progress.nbusy)
                return req
            self._progress = progress
        return self._header_lines(progress)

    def _fast(self, m: re.Match[bytes]) -> Request | None:
        buf = self.buf
        end = m.end()
        head = bytes(buf[:end])
        known = _HEADS.get(head)
        if known is not None:
            self.consumed_head = head
            self._failed_at = -1
            self._consume(end, self._bend, self._nbusy)
            return known.copy()
        line = _Line(
            method=bytes(m.group(1)),
            target=bytes(m.group(2)),
            major=1,
            minor=int(m.group(3)),
            version=b"HTTP/1." + m.group(3),
            end=m.start(4),
        )
        line.raw_target = line.target
        path = normalize_path(line.target)
        if path is None:
            return None  # the slow path gives this error exactly as nginx does
        line.path = path
        headers: list[tuple[bytes, bytes]] = []
        for raw in bytes(m.group(4)).split(b"\r\n")[:-1]:
            name, _, value = raw.partition(b":")
            headers.append((name, value.strip(b" ")))
        self.consumed_head = head
        try:
            req = self._make(line, headers, 0, end)
        except ProtocolError:
            del self.buf[:end]
            raise
        self._consume(end, self._bend, self._nbusy)
        if end <= _HEAD_MAX_BYTES and len(req.headers) <= _HEAD_MAX_HEADERS:
            if len(_HEADS) >= _HEADS_MAX:
                _HEADS.clear()
            _HEADS[head] = req.copy()
        return req

    def _request_line(self) -> _Progress | None:
        buf = self.buf
        # Leading CR/LF before a request line are skipped (ngx sw_start); a buffer holding only
        # those starts over (ngx_http_alloc_large_header_buffer, "fills up the buffer with CRLF").
        s0 = 0
        n = len(buf)
        while s0 < n and buf[s0] in (_CR, _LF):
            s0 += 1
        bend = self._bend
        while s0 >= bend:
            bend += HEADER_BUFFER
        if s0 == n:
            return None
        nbusy = self._nbusy
        lf = buf.find(b"\n", s0)
        line: _Line | None = None
        if lf >= 0:
            m = _FAST_LINE.fullmatch(buf, s0, lf + 1)
            if m is not None:
                line = _Line(
                    method=bytes(m.group(1)),
                    target=bytes(m.group(2)),
                    major=1,
                    minor=int(m.group(3)),
                    version=bytes(buf[m.start(3) - 7 : m.end(3)]),
                    end=lf + 1,
                )
                line.raw_target = line.target
                result, pos = _LINE_OK, lf
        elif _PARTIAL_LINE.fullmatch(buf, s0, n):
            line, result, pos = _Line(), _LINE_AGAIN, n
        if line is None:
            result, pos, line = _scan_request_line(buf, s0, n if lf < 0 else lf + 1)
        # Each time parsing reaches the end of the current buffer, nginx moves the partial
        # request line into a new 8 KiB buffer, or gives up with 414.
        trigger = n if result == _LINE_AGAIN else pos
        head = buf.startswith(b"HEAD ", s0)
        while bend <= trigger:
            if bend - s0 >= LARGE_BUFFER or nbusy >= LARGE_BUFFERS:
                raise _marked(ProtocolError(414, "client sent too long URI"), head=head)
            nbusy += 1
            bend = s0 + LARGE_BUFFER
        if result == _LINE_AGAIN:
            return None
        if result == _LINE_BAD:
            raise _marked(ProtocolError(400, "client sent invalid request"), head=head)
        if result == _LINE_VERSION:
            raise _marked(ProtocolError(505, "client sent invalid HTTP version"), head=head)
        if result == _LINE_BAD_09:
            raise ProtocolError(400, "client sent invalid method in HTTP/0.9 request", http09=True)
        # ngx_http_process_request_uri and the request line's host are checked before any header
        # is read: a bad one is answered at once.
        path = normalize_path(line.target)
        if path is None:
            raise _marked(
                ProtocolError(400, "client sent invalid request", http09=line.major == 0),
                head=head,
            )
        line.path = path
        if line.host and _valid_host(line.host) is None:
            raise _marked(ProtocolError(400, "client sent invalid host in request line"), head=head)
        return _Progress(line, line.end, bend, nbusy)

    def _header_lines(self, progress: _Progress) -> Request | None:
        buf = self.buf
        n = len(buf)
        p, bend, nbusy = progress.p, progress.bend, progress.nbusy
        headers = progress.headers
        while True:
            lf = buf.find(b"\n", p)
            if lf >= 0:
                m = _FAST_HEADER.fullmatch(buf, p, lf + 1)
                if m is not None:
                    hresult, pos, name, value, invalid = _HDR_OK, lf, m.group(1), m.group(2), False
                else:
                    hresult, pos, name, value, invalid = _scan_header_line(buf, p, lf + 1)
            elif p == n or _PARTIAL_HEADER.fullmatch(buf, p, n):
                hresult, pos, name, value, invalid = _HDR_AGAIN, n, b"", b"", False
            else:
                hresult, pos, name, value, invalid = _scan_header_line(buf, p, n)
            trigger = n if hresult == _HDR_AGAIN else pos
            while bend <= trigger:
                # At a line boundary nginx just switches buffers; inside a line it copies the
                # partial line, which must fit in 8 KiB.
                if (bend != p and bend - p >= LARGE_BUFFER) or nbusy >= LARGE_BUFFERS:
                    self._progress = None
                    raise _marked_by(
                        ProtocolError(494, "client sent too long header line"), progress
                    )
                nbusy += 1
                bend = p + LARGE_BUFFER
            if hresult == _HDR_AGAIN:
                progress.p, progress.bend, progress.nbusy = p, bend, nbusy
                return None
            if hresult == _HDR_BAD:
                self._progress = None
                raise _marked_by(ProtocolError(400, "client sent invalid header line"), progress)
            if hresult == _HDR_DONE:
                p = pos + 1
                break
            if invalid:
                progress.dropped += 1
            else:
                headers.append((bytes(name), bytes(value)))
            p = pos + 1
        self._progress = None
        self.consumed_head = bytes(buf[:p])
        try:
            req = self._make(progress.line, headers, progress.dropped, p)
        except ProtocolError:
            del self.buf[:p]
            raise
        self._consume(p, bend, nbusy)
        return req

    def _consume(self, end: int, bend: int, nbusy: int) -> None:
        del self.buf[:end]
        # A pipelined request continues in the buffer the previous one ended in
        # (ngx_http_set_keepalive); otherwise the next request starts in a fresh 1 KiB buffer.
        if self.buf and bend - end > 0:
            self._bend = bend - end
            self._nbusy = 1 if nbusy else 0
        else:
            self._bend = HEADER_BUFFER
            self._nbusy = 0

    def reset_buffers(self) -> None:
        """After a body: the next request starts in a fresh buffer."""
        self._bend = HEADER_BUFFER
        self._nbusy = 0

    def _make(
        self, line: _Line, raw_headers: list[tuple[bytes, bytes]], dropped: int, size: int
    ) -> Request:
        try:
            return self._make_request(line, raw_headers, dropped, size)
        except ProtocolError as err:
            # The header handlers ran in order up to the failing line, as nginx's do.
            seen = raw_headers[: self._failed_at] if self._failed_at >= 0 else raw_headers
            raise _marked_by(err, _Progress(line, 0, 0, 0, list(seen))) from None

    def _make_request(
        self, line: _Line, raw_headers: list[tuple[bytes, bytes]], dropped: int, size: int
    ) -> Request:
        # How many header lines nginx had processed when an error is raised (-1: all).
        self._failed_at = 0
        target = line.target
        path = line.path
        query = target.partition(b"?")[2] if b"?" in target else b""
        version = (line.major, line.minor)
        req = Request(
            method=_latin(line.method),
            target=_latin(target),
            path=_latin(path),
            query=_latin(query),
            version=version,
            version_text=_latin(line.version),
            head_bytes=size,
            dropped_headers=dropped,
            raw_target=_latin(line.raw_target or target),
        )
        headers = req.headers
        seen: set[str] = set()
        host: bytes | None = None
        if line.host:
            host = _valid_host(line.host)
            if host is None:
                raise ProtocolError(400, "client sent invalid host in request line")
        has_host_header = False
        connection = ""
        agent = ""
        te: str | None = None
        cl: str | None = None
        self._failed_at = -1
        for index, (raw_name, raw_value) in enumerate(raw_headers):
            self._failed_at = index + 1
            name, value = _latin(raw_name), _latin(raw_value)
            headers.append((name, value))
            low = name.lower()
            if low in _UNIQUE:
                if low in seen:
                    raise ProtocolError(400, "client sent duplicate header line")
                seen.add(low)
            if low == "host":
                if has_host_header:
                    raise ProtocolError(400, "client sent duplicate host header")
                has_host_header = True
                valid = _valid_host(raw_value)
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
        self._failed_at = -1
        req.host = _latin(host or b"")
        padding, msie6 = _msie_chrome(agent)
        req.padding = padding and version >= (1, 0)
        if version >= (1, 1) and not has_host_header:
            raise ProtocolError(400, 'client sent HTTP/1.1 request without "Host" header')
        if cl is not None:
            if not cl.isdigit() or not cl.isascii() or len(cl) > 18:
                raise ProtocolError(400, 'client sent invalid "Content-Length" header')
            req.content_length = int(cl)
        if te is not None:
            if version < (1, 1):
                raise ProtocolError(400, 'client sent HTTP/1.0 request with "Transfer-Encoding"')
            if te.lower() != "chunked":
                raise ProtocolError(501, 'client sent unknown "Transfer-Encoding"')
            if cl is not None:
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
        return req

    # -- bodies --------------------------------------------------------------------------------

    def start_body(self, req: Request) -> None:
        """Prepare to read the body of ``req`` (call before ``read_body``)."""
        self._body_size = 0
        if req.chunked or req.content_length > 0:
            self._body = bytearray()
            self._sha = hashlib.sha256()
        if req.chunked:
            self._chunk_state = "size"
            self._body_left = -1
        else:
            self._chunk_state = ""
            self._body_left = max(req.content_length, 0)

    def read_body(self, keep: int) -> tuple[bytes, int] | None:
        """Consume the body; return (first ``keep`` bytes, total size) or None for more data.

        Raises:
            ProtocolError: 413 over client_max_body_size, 400 for bad chunked framing.
        """
        if not self._chunk_state:
            take = min(self._body_left, len(self.buf))
            if take:
                self._store(self.buf[:take], keep)
                del self.buf[:take]
                self._body_left -= take
            if self._body_left:
                return None
            if not self._body_size:
                return b"", 0
            return bytes(self._body), self._body_size
        while True:
            if self._chunk_state == "size":
                lf = self.buf.find(b"\n")
                if lf < 0:
                    if len(self.buf) > 4096:
                        raise ProtocolError(400, "client sent invalid chunked body")
                    return None
                line = bytes(self.buf[:lf]).rstrip(b"\r")
                size_text = line.split(b";", 1)[0].strip()
                if not size_text or any(c not in _HEX for c in size_text) or len(size_text) > 15:
                    raise ProtocolError(400, "client sent invalid chunked body")
                size = int(size_text, 16)
                del self.buf[: lf + 1]
                if self._body_size + size > self.max_body:
                    raise ProtocolError(413, "client intended to send too large chunked body")
                if size == 0:
                    self._chunk_state = "trailer"
                else:
                    self._chunk_left = size
                    self._chunk_state = "data"
            elif self._chunk_state == "data":
                take = min(self._chunk_left, len(self.buf))
                if not take:
                    return None
                self._store(self.buf[:take], keep)
                del self.buf[:take]
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._chunk_state = "data_end"
            elif self._chunk_state == "data_end":
                if len(self.buf) < 2 and self.buf[:1] != b"\n":
                    return None
                if self.buf[:1] == b"\n":
                    del self.buf[:1]
                elif self.buf[:2] == b"\r\n":
                    del self.buf[:2]
                else:
                    raise ProtocolError(400, "client sent invalid chunked body")
                self._chunk_state = "size"
            else:  # trailer: lines until an empty one
                lf = self.buf.find(b"\n")
                if lf < 0:
                    if len(self.buf) > 4096:
                        raise ProtocolError(400, "client sent invalid chunked body")
                    return None
                empty = lf == 0 or (lf == 1 and self.buf[0] == _CR)
                del self.buf[: lf + 1]
                if empty:
                    self._chunk_state = ""
                    self._body_left = 0
                    return bytes(self._body), self._body_size

    def _store(self, data: bytes | bytearray, keep: int) -> None:
        room = keep - len(self._body)
        if room > 0:
            self._body += data[:room]
        self._body_size += len(data)
        self._sha.update(data)

    def body_sha256(self) -> str:
        return self._sha.hexdigest()


_SIMPLE_HOST: Final = re.compile(rb"([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)\.?(?::[0-9]*)?")


def _marked(err: ProtocolError, *, head: bool = False, padding: bool = False) -> ProtocolError:
    err.head_only = head
    err.padding = padding
    return err


def _marked_by(err: ProtocolError, progress: _Progress) -> ProtocolError:
    agent = next((v for k, v in progress.headers if k.lower() == b"user-agent"), None)
    padding = agent is not None and _msie_chrome(_latin(agent))[0]
    return _marked(err, head=progress.line.method == b"HEAD", padding=padding)


def _valid_host(host: bytes) -> bytes | None:
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


# -- responses ------------------------------------------------------------------------------------

# The headers nginx's header filter writes itself, in its order; everything else follows.
_FIRST: Final = ("content-type", "content-length", "last-modified", "location")


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
) -> bytes:
    """A complete nginx error response (head and page) for ``status``."""
    body = error_page(status, server)
    if padding and status >= 400:
        body += MSIE_PADDING.encode("ascii")
    if http09:
        return body
    head = make_head(
        status,
        [("Content-Type", "text/html"), ("Content-Length", str(len(body))), *extra],
        server=server,
        date=date,
        keepalive=keepalive,
    )
    return head if head_only else head + body


# Statuses after which nginx never keeps the connection (ngx_http_special_response_handler).
CLOSING_STATUSES: Final = frozenset({400, 413, 414, 494, 497, 500, 501})

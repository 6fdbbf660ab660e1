"""The request line: a port of nginx's ``ngx_http_parse_request_line``, and the URI's path.

Sans-IO: stdlib only, no asyncio, no honeypods.core.

Rules this module keeps:

1. A line is accepted or refused exactly where nginx's state machine accepts or refuses it, byte
   for byte; the scanner returns the position of the refusing byte, which the reader needs to
   tell 400 from 414 the way nginx's buffer handling does.
2. ``FAST_LINE`` takes the common well-formed line without the state machine; ``PARTIAL_LINE``
   recognises an unfinished well-formed line, so a line sent byte by byte is not rescanned from
   its start each time. Both accept only what the state machine accepts.
3. The scanner consumes a byte per step and stops at ``stop``: it cannot spin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

CR, LF, SP = 13, 10, 32
_METHOD_CHARS: Final = frozenset(range(ord("A"), ord("Z") + 1)) | {ord("_"), ord("-")}
_ALPHA: Final = frozenset(range(ord("a"), ord("z") + 1))
_DIGITS: Final = frozenset(range(ord("0"), ord("9") + 1))
_IP_LITERAL: Final = _ALPHA | _DIGITS | frozenset(b":-._~!$&'()*+,;=")

# The common well-formed request line; anything else goes through the state machine.
FAST_LINE: Final = re.compile(
    rb"([A-Z_-]+) (/[\x21-\x22\x24-\x7e\x80-\xff]*) HTTP/1\.([0-9]{1,3})\r?\n"
)
# Prefixes of well-formed lines still waiting for their end: no need to scan them byte by byte.
PARTIAL_LINE: Final = re.compile(
    rb"[A-Z_-]+(?: +(?:/[^\x00-\x20\x7f]*"
    rb"(?: +(?:H(?:T(?:T(?:P(?:/(?:1(?:\.(?:[0-9]{1,3}(?: *\r?)?)?)?)?)?)?)?)?)?)?)?)?"
)

LINE_OK, LINE_AGAIN, LINE_BAD, LINE_VERSION, LINE_BAD_09 = range(5)


@dataclass
class Line:
    """The parts of one request line, as bytes."""

    method: bytes = b""
    target: bytes = b""
    host: bytes = b""
    major: int = 0
    minor: int = 0
    version: bytes = b""
    end: int = 0
    raw_target: bytes = b""
    path: bytes = b""


def scan_request_line(buf: bytes | bytearray, start: int, stop: int) -> tuple[int, int, Line]:
    """Port of ngx_http_parse_request_line over buf[start:stop] from its initial state.

    Returns:
        (result, position, fields): position is where an error was seen, or the end of the line.
    """
    line = Line()
    state = "method"
    method_end = uri_start = host_start = host_end = schema_end = 0
    uri_end = proto_start = proto_end = -1
    p = start
    while p < stop:
        ch = buf[p]
        if state == "method":
            if ch == SP and p > start:
                method_end = p
                state = "spaces_before_uri"
            elif ch not in _METHOD_CHARS:
                return LINE_BAD, p, line
        elif state == "spaces_before_uri":
            if ch == ord("/"):
                uri_start = p
                state = "uri"
            elif (ch | 0x20) in _ALPHA:
                state = "schema"
            elif ch != SP:
                return LINE_BAD, p, line
        elif state == "schema":
            if (ch | 0x20) in _ALPHA or ch in _DIGITS or ch in b"+-.":
                pass
            elif ch == ord(":"):
                schema_end = p
                state = "schema_slash"
            else:
                return LINE_BAD, p, line
        elif state == "schema_slash":
            if ch != ord("/"):
                return LINE_BAD, p, line
            state = "schema_slash_slash"
        elif state == "schema_slash_slash":
            if ch != ord("/"):
                return LINE_BAD, p, line
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
            elif ch == SP:
                uri_start, uri_end = schema_end + 1, schema_end + 2
                state = "http_09"
            else:
                return LINE_BAD, p, line
        elif state == "host_ip_literal":
            if ch in _IP_LITERAL:
                pass
            elif ch == ord("]"):
                state = "host_end"
            else:
                return LINE_BAD, p, line
        elif state == "uri":
            if ch == SP:
                uri_end = p
                state = "http_09"
            elif ch in (CR, LF):
                uri_end = p
                line.minor = 9
                if ch == LF:
                    break
                state = "almost_done"
            elif ch < 0x20 or ch == 0x7F:
                return LINE_BAD, p, line
        elif state == "http_09":
            if ch == SP:
                pass
            elif ch in (CR, LF):
                line.minor = 9
                if ch == LF:
                    break
                state = "almost_done"
            elif ch == ord("H"):
                proto_start = p
                state = "H"
            else:
                return LINE_BAD, p, line
        elif state in ("H", "HT", "HTT", "HTTP"):
            want = {"H": "T", "HT": "T", "HTT": "P", "HTTP": "/"}[state]
            if ch != ord(want):
                return LINE_BAD, p, line
            state = "first_major" if state == "HTTP" else state + want
        elif state == "first_major":
            if ch < ord("1") or ch > ord("9"):
                return LINE_BAD, p, line
            line.major = ch - 48
            if line.major > 1:
                return LINE_VERSION, p, line
            state = "major"
        elif state == "major":
            if ch == ord("."):
                state = "first_minor"
            elif ch not in _DIGITS:
                return LINE_BAD, p, line
            else:
                line.major = line.major * 10 + ch - 48
                if line.major > 1:
                    return LINE_VERSION, p, line
        elif state == "first_minor":
            if ch not in _DIGITS:
                return LINE_BAD, p, line
            line.minor = ch - 48
            state = "minor"
        elif state == "minor":
            if ch == CR:
                state = "almost_done"
                proto_end = p
            elif ch == LF:
                proto_end = p
                break
            elif ch == SP:
                proto_end = p
                state = "spaces_after_digit"
            elif ch not in _DIGITS or line.minor > 99:
                return LINE_BAD, p, line
            else:
                line.minor = line.minor * 10 + ch - 48
        elif state == "spaces_after_digit":
            if ch == SP:
                pass
            elif ch == CR:
                state = "almost_done"
            elif ch == LF:
                break
            else:
                return LINE_BAD, p, line
        elif state == "almost_done":
            if ch != LF:
                return LINE_BAD, p, line
            break
        p += 1
    else:
        return LINE_AGAIN, p, line
    # p is the line's LF.
    marks = (start, method_end, uri_start, uri_end, p, proto_start, host_start, host_end, proto_end)
    return _done(line, buf, marks)


def _done(
    line: Line,
    buf: bytes | bytearray,
    marks: tuple[int, int, int, int, int, int, int, int, int],
) -> tuple[int, int, Line]:
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
        return LINE_BAD_09, lf, line
    return LINE_OK, lf, line


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

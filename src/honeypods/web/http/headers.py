"""Header lines: a port of nginx's ``ngx_http_parse_header_line``, one line at a time.

Sans-IO: stdlib only, no asyncio, no honeypods.core.

Rules this module keeps:

1. A line is accepted, ignored (``invalid``: underscores or odd bytes in the name, which nginx
   drops with ``ignore_invalid_headers on``) or refused exactly as nginx decides, and the scanner
   reports the position of the refusing byte.
2. ``FAST_HEADER`` takes the common well-formed line; ``PARTIAL_HEADER`` recognises an unfinished
   one. Both accept only what the state machine accepts.
3. The scanner consumes a byte per step and stops at ``stop``: it cannot spin.
"""

from __future__ import annotations

import re
from typing import Final

from honeypods.web.http.line import CR, LF, SP

HDR_OK, HDR_AGAIN, HDR_BAD, HDR_DONE = range(4)
_NAME_CHARS: Final = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")

FAST_HEADER: Final = re.compile(rb"([A-Za-z0-9-]+): *([^\x00\r\n]*?) *\r?\n")
PARTIAL_HEADER: Final = re.compile(rb"[A-Za-z0-9-]+(?::[^\x00\r\n]*\r?)?")


def scan_header_line(
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
            if ch == CR:
                state = "header_almost_done"
            elif ch == LF:
                return HDR_DONE, p, b"", b"", False
            else:
                state = "name"
                if ch in _NAME_CHARS:
                    pass
                elif ch <= 0x20 or ch == 0x7F or ch == ord(":"):
                    return HDR_BAD, p, b"", b"", False
                else:
                    invalid = True
        elif state == "name":
            if ch in _NAME_CHARS:
                pass
            elif ch == ord(":"):
                name_end = p
                state = "space_before_value"
            elif ch in (CR, LF):
                name_end = value_start = value_end = p
                if ch == LF:
                    break
                state = "almost_done"
            elif ch <= 0x20 or ch == 0x7F:
                return HDR_BAD, p, b"", b"", False
            else:
                invalid = True
        elif state == "space_before_value":
            if ch == SP:
                pass
            elif ch in (CR, LF):
                value_start = value_end = p
                if ch == LF:
                    break
                state = "almost_done"
            elif ch == 0:
                return HDR_BAD, p, b"", b"", False
            else:
                value_start = p
                state = "value"
        elif state == "value":
            if ch == SP:
                value_end = p
                state = "space_after_value"
            elif ch in (CR, LF):
                value_end = p
                if ch == LF:
                    break
                state = "almost_done"
            elif ch == 0:
                return HDR_BAD, p, b"", b"", False
        elif state == "space_after_value":
            if ch == SP:
                pass
            elif ch in (CR, LF):
                if ch == LF:
                    break
                state = "almost_done"
            elif ch == 0:
                return HDR_BAD, p, b"", b"", False
            else:
                state = "value"
        elif state == "almost_done":
            if ch == LF:
                break
            if ch != CR:
                return HDR_BAD, p, b"", b"", False
        elif state == "header_almost_done":
            if ch == LF:
                return HDR_DONE, p, b"", b"", False
            return HDR_BAD, p, b"", b"", False
        p += 1
    else:
        return HDR_AGAIN, p, b"", b"", False
    name = bytes(buf[start:name_end])
    value = bytes(buf[value_start:value_end]) if value_end > value_start else b""
    return HDR_OK, p, name, value, invalid

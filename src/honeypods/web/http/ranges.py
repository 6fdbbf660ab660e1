"""Conditional and range requests: the parsing parts of nginx's not_modified and range filters.

Sans-IO: stdlib only, no asyncio, no honeypods.core. Which status to answer with is the site's
decision (``web.app``); this module only reads the headers the way nginx reads them.
"""

from __future__ import annotations


def parse_ranges(spec: str, length: int) -> list[tuple[int, int]] | None:
    """ngx_http_range_parse: the ranges, [] when not satisfiable, None to ignore the header."""
    spans: list[tuple[int, int]] = []
    total = 0
    i, n = 0, len(spec)

    def digits(at: int) -> tuple[int, int]:
        end = at
        while end < n and spec[end] in "0123456789":
            end += 1
        return (int(spec[at:end]) if end > at else -1), end

    def spaces(at: int) -> int:
        while at < n and spec[at] == " ":
            at += 1
        return at

    while True:
        i = spaces(i)
        suffix = i < n and spec[i] == "-"
        if suffix:
            i += 1
            start = 0
        else:
            start, i = digits(i)
            if start < 0:
                return []
            i = spaces(i)
            if i >= n or spec[i] != "-":
                return []
            i += 1
            i = spaces(i)
        if not suffix and (i >= n or spec[i] == ","):
            end = length
        else:
            end, i = digits(i)
            if end < 0:
                return []
            i = spaces(i)
            if i < n and spec[i] != ",":
                return []
            if suffix:
                start = length - end if end < length else 0
                end = length - 1
            end = length if end >= length else end + 1
        if start < end:
            spans.append((start, end))
            total += end - start
        elif start == 0:
            return None
        if i >= n or spec[i] != ",":
            break
        i += 1
    if not spans:
        return []
    if total > length:
        return None
    return spans


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match or If-None-Match value names ``etag`` (weak tags compare equal)."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))

"""Attacker text made safe to log: valid UTF-8, bounded, with a flag when it was cut.

Attacker data only ever lands in event field values after one of these, never in a message or a
format string; the caps here and the line cap bound every event line.
"""

from __future__ import annotations

from typing import Final

# Caps on attacker-controlled text. A line is bounded by these and by MAX_LINE_BYTES below.
TEXT_CAP: Final = 1024  # one header value, one username, one query line
LONG_TEXT_CAP: Final = 8192  # request bodies, SQL queries, first bytes of a connection
MAX_LINE_BYTES: Final = 65536  # Fluent Bit's and Loki's default line limits are 32-256 KiB


def clip(text: str | bytes | None, cap: int = TEXT_CAP) -> tuple[str, bool]:
    """Make attacker text safe to log: valid UTF-8, bounded, no lone surrogates.

    Returns:
        The text (bytes decoded with backslash escapes) and whether it was cut.
    """
    if text is None:
        return "", False
    if isinstance(text, bytes):
        cut = len(text) > cap
        return text[:cap].decode("utf-8", "backslashreplace"), cut
    cut = len(text) > cap
    text = text[:cap]
    if not text.isascii():
        # Lone surrogates (from surrogateescape decoding in libraries) are not valid JSON text.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text, cut


def clip_text(text: str | bytes | None, cap: int = TEXT_CAP) -> str:
    """``clip`` without the flag, for fields whose cut is not worth reporting."""
    return clip(text, cap)[0]


def to_hex(data: bytes, cap: int = LONG_TEXT_CAP) -> str:
    return data[:cap].hex()

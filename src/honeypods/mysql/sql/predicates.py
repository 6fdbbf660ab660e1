"""MySQL's IN, LIKE and REGEXP over evaluated values, each bounded in time by its text's size.

LIKE is matched segment by segment between its ``%`` wildcards, the leftmost fit of each segment
being as good as any later one, so no regular expression is built from an attacker's pattern and
nothing backtracks. REGEXP runs Python's engine only on patterns with at most
``_MAX_QUANTIFIERS`` quantifiers and no quantified group; anything else gets the error MySQL
gives when its own ``regexp_time_limit`` runs out.
"""

from __future__ import annotations

import re
from typing import Final

from honeypods.mysql.sql.values import Fault, V, boolean, collation_key, compare, text

# Quantifiers a REGEXP pattern may hold before MySQL's regexp_time_limit is assumed to be hit.
_MAX_QUANTIFIERS: Final = 2
_QUANTIFIER: Final = re.compile(r"[*+?]|\{\d")
_ERR_REGEXP_TIMEOUT: Final = Fault(3699, "HY000", "Timeout exceeded in regular expression match.")


def in_list(value: V, options: list[V], negated: bool) -> V:
    if value.v is None:
        return boolean(None)
    unknown = False
    for option in options:
        order = compare(value, option)
        if order == 0:
            return boolean(not negated)
        unknown = unknown or order is None
    return boolean(None if unknown else negated)


def like(value: V, pattern: V, escape: str) -> bool | None:
    """``value LIKE pattern``: % and _ wildcards, matched without backtracking."""
    if value.v is None or pattern.v is None:
        return None
    binary = "bin" in (value.t, pattern.t)
    subject = text(value) or ""
    pat = text(pattern) or ""
    if not binary:
        subject, pat = collation_key(subject), collation_key(pat)
    segments: list[list[str | None]] = [[]]  # None is "any one character"
    chars = iter(pat)
    for ch in chars:
        if ch == escape:
            segments[-1].append(next(chars, escape))
        elif ch == "%":
            segments.append([])
        else:
            segments[-1].append(None if ch == "_" else ch)
    return _segments_match(subject, segments)


def _fits(subject: str, at: int, segment: list[str | None]) -> bool:
    if at + len(segment) > len(subject):
        return False
    return all(c is None or subject[at + i] == c for i, c in enumerate(segment))


def _segments_match(subject: str, segments: list[list[str | None]]) -> bool:
    first, last = segments[0], segments[-1]
    if len(segments) == 1:
        return len(subject) == len(first) and _fits(subject, 0, first)
    if not _fits(subject, 0, first):
        return False
    pos, end = len(first), len(subject) - len(last)
    if end < pos or not _fits(subject, end, last):
        return False
    for segment in segments[1:-1]:
        # The leftmost place each middle segment fits is as good as any later one.
        while pos + len(segment) <= end and not _fits(subject, pos, segment):
            pos += 1
        if pos + len(segment) > end:
            return False
        pos += len(segment)
    return True


def regexp(value: V, pattern: V, negated: bool) -> V:
    subject, pat = text(value), text(pattern)
    if subject is None or pat is None:
        return boolean(None)
    if len(_QUANTIFIER.findall(pat)) > _MAX_QUANTIFIERS or re.search(r"\)[*+?{]", pat):
        raise _ERR_REGEXP_TIMEOUT
    try:
        found = re.search(pat, subject, re.I | re.S) is not None
    except re.error:
        raise Fault(3692, "HY000", "Mismatched parenthesis in regular expression.") from None
    return boolean(found != negated)

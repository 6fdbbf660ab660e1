"""How the persona reads statement text: comments, quotes, names, statement and list splitting.

Rules this module keeps: nothing here backtracks on attacker text. ``normalise`` reads only the
first ``MAX_ANALYSED`` characters and collapses whitespace runs before any pattern runs, and every
scan is one pass (``outside_quotes``), so each statement costs time linear in that head.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Final

# Characters of a statement the patterns look at; MySQL would read it all, a decoy need not.
MAX_ANALYSED: Final = 4096
# A version comment /*!NNNNN body */ runs its body on a server of version NNNNN or later, and
# /*! body */ on any; every other comment, optimizer hints /*+ ... */ too, is ignored.
COMMENT: Final = re.compile(r"/\*!(\d{5})?(.*?)\*/|/\*.*?\*/|(?:--\s|#)[^\n]*", re.S)
VERB: Final = re.compile(r"[A-Za-z_]+")
NAME: Final = r"`[^`]+`|[A-Za-z0-9_$]+"
QUALIFIED: Final = re.compile(rf"\s*({NAME})(?:\s*\.\s*({NAME}))?")
_LIKE: Final = re.compile(r"""\s+like\s+(['"])(.*?)\1\s*$""", re.I | re.S)


@functools.lru_cache(maxsize=8)
def version_id(server_version: str) -> int:
    """MySQL's MYSQL_VERSION_ID of a version string: 8.0.36 is 80036."""
    parts = [int(p) for p in re.findall(r"\d+", server_version)[:3]] + [0, 0, 0]
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


def normalise(query: str, version: int = 80036) -> str:
    """The statement as the patterns see it: comments out, whitespace runs as one space.

    ``version`` is the server's MYSQL_VERSION_ID, which decides which version comments run.
    """

    def comment(m: re.Match[str]) -> str:
        if not m.group(0).startswith("/*!"):
            return " "
        return f" {m.group(2)} " if not m.group(1) or int(m.group(1)) <= version else " "

    # 20,000 spaces before a character once took a pattern a minute; collapsed, they take none.
    return " ".join(COMMENT.sub(comment, query[:MAX_ANALYSED]).split()).rstrip(";").strip()


def unquote(name: str) -> str:
    """A name without its backticks."""
    return name[1:-1] if name[:1] == "`" and name[-1:] == "`" and len(name) > 1 else name


def outside_quotes(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of each character outside '...', "..." and `...` quotes."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        else:
            yield i, ch


def unquoted(text: str, char: str) -> int:
    """Index of the first ``char`` outside quotes, or -1."""
    if char not in text:
        return -1
    for i, ch in outside_quotes(text):
        if ch == char:
            return i
    return -1


def nesting(text: str, end: int) -> int:
    """How many parentheses are open, outside quotes, before ``text[end]``."""
    depth = 0
    for i, ch in outside_quotes(text):
        if i >= end:
            break
        depth += (ch == "(") - (ch == ")")
    return depth


def count_placeholders(query: str) -> int:
    """The ``?`` parameters of a prepared statement: placeholders outside quotes."""
    if "?" not in query:
        return 0
    return min(sum(ch == "?" for _i, ch in outside_quotes(query)), 0xFFFF)


def split_statements(query: str) -> list[str]:
    """The statements of a multi-statement query, split at semicolons outside quotes."""
    out = []
    rest = query
    while True:
        i = unquoted(rest, ";")
        if i < 0:
            break
        out.append(rest[:i])
        rest = rest[i + 1 :]
    out.append(rest)
    statements = [x for x in out if x.strip()]
    return statements or [query]


def split_top(text: str) -> list[str]:
    """Split a select list on commas outside parentheses and quotes."""
    if "," not in text:
        return [text.strip()]
    parts, depth, start = [], 0, 0
    for i, ch in outside_quotes(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def like(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern as a regular expression (``%``, ``_`` and backslash escapes)."""
    out = []
    escape = False
    for ch in pattern:
        if escape:
            out.append(re.escape(ch))
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S | re.I)


def filter_like(rows: list[tuple[str, ...]], rest: str) -> list[tuple[str, ...]]:
    """The rows whose first column matches the statement's trailing ``LIKE '...'``, if any."""
    m = _LIKE.search(" " + rest)
    if not m:
        return rows
    pattern = like(m.group(2))
    return [r for r in rows if pattern.fullmatch(r[0])]

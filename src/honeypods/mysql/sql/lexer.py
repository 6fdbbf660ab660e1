"""MySQL statement text into tokens: ``tokenize`` and the literal rules it knows.

One regular-expression pass, anchored at each position, so the cost is linear in the text: numbers
(``1``, ``1.5``, ``1e3``), hex and bit literals (``0x41``, ``X'41'``, ``0b1``, ``b'1'``), strings in
single or double quotes with doubled quotes and backslash escapes, ``@@system`` and ``@user``
variables, names (plain or in backticks) and operators.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

_TOKEN: Final = re.compile(
    r"""\s*(?:
    (?P<hex>0x[0-9a-fA-F]+\b|[xX]'[0-9a-fA-F]*')
    |(?P<bits>0b[01]+\b|[bB]'[01]*')
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_$]))
    |(?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    |(?P<sys>@@(?:(?:global|session|local)\.)?[A-Za-z0-9_$.]+)
    |(?P<user>@(?:[A-Za-z0-9_$.]+|'[^']*'|`[^`]*`))
    |(?P<name>[A-Za-z0-9_$]+|`(?:[^`]|``)*`)
    |(?P<op><=>|<=|>=|<>|!=|:=|\|\||&&|<<|>>|[-+*/%^&|~!=<>(),.])
    )""",
    re.X | re.S,
)
_ESCAPES: Final = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_ESCAPE: Final = re.compile(r"\\(.)", re.S)

# Words that end an expression rather than name a column or an alias.
RESERVED: Final = frozenset(
    [
        "and",
        "or",
        "xor",
        "not",
        "is",
        "in",
        "like",
        "regexp",
        "rlike",
        "between",
        "escape",
        "from",
        "where",
        "limit",
        "as",
        "case",
        "when",
        "then",
        "else",
        "end",
        "union",
        "into",
        "for",
        "using",
        "order",
        "group",
        "having",
        "div",
        "mod",
        "collate",
        "offset",
        "select",
    ]
)
# Functions MySQL also knows without parentheses.
BARE_CALLS: Final = frozenset(
    (
        "current_user",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtime",
        "localtimestamp",
        "utc_date",
        "utc_timestamp",
        "utc_time",
    )
)
COMPARISONS: Final = frozenset(("=", "<=>", "<", "<=", ">", ">=", "<>", "!="))


class SyntaxFault(Exception):
    """The statement is not MySQL; ``pos`` is where MySQL's 1064 message starts quoting."""

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


class Tok(NamedTuple):
    kind: str
    text: str
    pos: int
    end: int


def unescape(body: str, quote: str) -> str:
    body = body.replace(quote * 2, quote)
    if "\\" not in body:
        return body
    # \% and \_ keep their backslash, so LIKE still sees them escaped.
    return _ESCAPE.sub(
        lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1) if m.group(1) in "%_" else m.group(1)),
        body,
    )


def tokenize(text: str) -> list[Tok]:
    """The tokens of ``text``, ending with an ``end`` token.

    Raises:
        SyntaxFault: a character no token starts with (an unclosed quote, say).
    """
    out: list[Tok] = []
    pos, size = 0, len(text)
    match = _TOKEN.match
    while True:
        m = match(text, pos)
        if m is None or m.lastgroup is None:
            rest = len(text) - len(text[pos:].lstrip())
            if rest >= size:
                out.append(Tok("end", "", size, size))
                return out
            raise SyntaxFault(rest)
        out.append(Tok(m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup), m.end()))
        pos = m.end()

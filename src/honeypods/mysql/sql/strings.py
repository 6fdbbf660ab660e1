"""MySQL's string functions over evaluated values (the ``FUNCTIONS`` entries that make strings).

Each takes (session, arguments, extra) like every entry of ``functions.FUNCTIONS``: NULL in is
NULL out unless MySQL says otherwise (CONCAT_WS and CHAR skip NULLs), a binary argument makes a
binary result where MySQL's does, and no result grows past ``values.MAX_STRING``.
"""

from __future__ import annotations

from collections.abc import Callable

from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.values import MAX_STRING, V, compare, data, integer, string, text

Function = Callable[[SqlSession, list[V], str], V]


def strings(f: Callable[..., str | bytes | None], binary_in: bool = False) -> Function:
    """A string function of string arguments: NULL in, NULL out; binary in, binary out."""

    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        if any(a.v is None for a in args):
            return V(None, "str", True)
        binary = args[0].t == "bin"
        values = [data(a) if binary and binary_in else text(a) for a in args]
        return string(f(*values), binary and binary_in, any(a.null for a in args))

    return call


def substring(_s: SqlSession, args: list[V], _extra: str) -> V:
    if any(a.v is None for a in args):
        return V(None, "str", True)
    binary = args[0].t == "bin"
    whole = data(args[0]) if binary else text(args[0])
    assert whole is not None  # noqa: S101 - checked above
    pos = integer(args[1]) or 0
    size = integer(args[2]) if len(args) > 2 else len(whole)
    if pos == 0 or size is None or size <= 0 or abs(pos) > len(whole):
        part = whole[:0]
    else:
        start = pos - 1 if pos > 0 else len(whole) + pos
        part = whole[start : start + size]
    return string(part, binary, any(a.null for a in args))


def ord_code(x: V) -> int:
    raw = data(x) or b""
    if not raw:
        return 0
    if x.t == "bin" or raw[0] < 0x80:
        return raw[0]
    first = (text(x) or "\0")[0].encode("utf-8")
    return int.from_bytes(first, "big")


def char_bytes(_s: SqlSession, args: list[V], extra: str) -> V:
    out = bytearray()
    for a in args:
        n = integer(a)
        if n is None:
            continue  # CHAR skips NULLs
        n &= 0xFFFFFFFF
        out += n.to_bytes(max((n.bit_length() + 7) // 8, 1), "big")
    if extra:
        return string(bytes(out).decode("utf-8", "replace"))
    return string(bytes(out), binary=True)


def hex_string(_s: SqlSession, args: list[V], _extra: str) -> V:
    x = args[0]
    if x.v is None:
        return V(None, "str", True)
    if x.t in ("int", "dec", "real"):
        n = integer(x) or 0
        return string(format(n & 0xFFFFFFFFFFFFFFFF, "X"), maybe_null=x.null)
    return string((data(x) or b"").hex().upper(), maybe_null=x.null)


def unhex(_s: SqlSession, args: list[V], _extra: str) -> V:
    digits = text(args[0])
    if digits is None:
        return V(None, "bin", True)
    try:
        return V(bytes.fromhex(("0" if len(digits) % 2 else "") + digits), "bin", True)
    except ValueError:
        return V(None, "bin", True)


def concat(_s: SqlSession, args: list[V], _extra: str) -> V:
    if any(a.v is None for a in args):
        return V(None, "str", True)
    if any(a.t == "bin" for a in args):
        return string(b"".join(data(a) or b"" for a in args), True, any(a.null for a in args))
    return string("".join(text(a) or "" for a in args), False, any(a.null for a in args))


def concat_ws(s: SqlSession, args: list[V], extra: str) -> V:
    sep, rest = args[0], [a for a in args[1:] if a.v is not None]
    if sep.v is None:
        return V(None, "str", True)
    joined: list[V] = []
    for a in rest:
        joined += [sep, a] if joined else [a]
    result = concat(s, joined, extra) if joined else string("")
    result.null = sep.null
    return result


def strcmp(_s: SqlSession, args: list[V], _extra: str) -> V:
    order = compare(args[0], args[1])
    return V(order, "int", order is None, 2)


def repeat(_s: SqlSession, args: list[V], _extra: str) -> V:
    s, n = text(args[0]), integer(args[1])
    if s is None or n is None:
        return V(None, "str", True)
    if n <= 0:
        return string("")
    if len(s) * n > MAX_STRING:
        return V(None, "str", True)
    return string(s * n, args[0].t == "bin")


def pad(left: bool) -> Function:
    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        s, n, pad = text(args[0]), integer(args[1]), text(args[2])
        if s is None or n is None or pad is None or n < 0 or n > MAX_STRING:
            return V(None, "str", True)
        if n <= len(s) or not pad:
            return string(s[:n] if n <= len(s) else None)
        fill = (pad * (n // len(pad) + 1))[: n - len(s)]
        return string(fill + s if left else s + fill)

    return call


def trim(_s: SqlSession, args: list[V], extra: str) -> V:
    s = text(args[0])
    chars = text(args[1]) if len(args) > 1 else " "
    if s is None or chars is None:
        return V(None, "str", True)
    if chars:
        if extra in ("both", "leading", "ltrim"):
            while s.startswith(chars):
                s = s[len(chars) :]
        if extra in ("both", "trailing", "rtrim"):
            while s.endswith(chars):
                s = s[: -len(chars)]
    return string(s, maybe_null=args[0].null)


def side(which: str) -> Function:
    return lambda s, args, _extra: trim(s, args, which)


def locate(_s: SqlSession, args: list[V], _extra: str) -> V:
    needle, hay = text(args[0]), text(args[1])
    start = integer(args[2]) if len(args) > 2 else 1
    if needle is None or hay is None or start is None:
        return V(None, "int", True, 11)
    if start < 1:
        return V(0, "int", False, 11)
    return V(hay.lower().find(needle.lower(), start - 1) + 1, "int", False, 11)


def elt(_s: SqlSession, args: list[V], _extra: str) -> V:
    n = integer(args[0])
    if n is None or not 1 <= n < len(args):
        return V(None, "str", True)
    chosen = args[n]
    return string(text(chosen), maybe_null=True) if chosen.v is not None else V(None, "str", True)

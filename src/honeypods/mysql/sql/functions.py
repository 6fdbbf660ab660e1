"""MySQL 8.0's built-in functions over constants: the table ``FUNCTIONS`` the evaluator calls.

Each entry is (function, fewest arguments, most arguments); a call outside that range is 1582, as
on MySQL, and a name not here is 1305 (or 1046 without a current database), which is what MySQL
says of a function it lacks, so a probe for another DBMS's function fails as it would on MySQL.
Arguments arrive evaluated, except for IF, IFNULL, COALESCE and NULLIF, which the evaluator
short-circuits. SLEEP and BENCHMARK cost no CPU here: they add to the session's ``sleep``, which
the adapter turns into a bounded delay of the reply.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import math
import random
from collections.abc import Callable
from typing import Final

from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.strings import (
    char_bytes,
    concat,
    concat_ws,
    elt,
    hex_string,
    locate,
    ord_code,
    pad,
    repeat,
    side,
    strcmp,
    strings,
    substring,
    trim,
    unhex,
)
from honeypods.mysql.sql.values import (
    DECIMALS,
    DIV_PRECISION,
    Fault,
    V,
    boolean,
    compare,
    data,
    integer,
    now,
    number,
    string,
    text,
)

# What one BENCHMARK() iteration of a cheap expression costs MySQL 8.0 on a server core, roughly:
# BENCHMARK(5000000, MD5('x')) takes about a second and a half.
BENCHMARK_ITERATION: Final = 3e-7

Function = Callable[[SqlSession, list[V], str], V]


def _ints(f: Callable[..., int | None], length: int = 0) -> Function:
    """An integer function: NULL in, NULL out."""

    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        if any(a.v is None for a in args):
            return V(None, "int", True, length)
        n = f(*args)
        return V(n, "int", n is None or any(a.null for a in args), length)

    return call


def _constant(value: object, t: str, length: int = 0, maybe_null: bool = False) -> Function:
    return lambda _s, _args, _extra: V(value, t, maybe_null, length)


def _session_text(pick: Callable[[SqlSession], str | None], width: int) -> Function:
    def call(s: SqlSession, _args: list[V], _extra: str) -> V:
        value = pick(s)
        return V(value, "str", value is None, width * 4)

    return call


def _digest(name: str, width: int) -> Function:
    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        raw = data(args[0])
        if raw is None:
            return V(None, "str", True, width * 4)
        digest = hashlib.new(name, raw, usedforsecurity=False).hexdigest()
        return V(digest, "str", args[0].null, width * 4)

    return call


def _sha2(_s: SqlSession, args: list[V], _extra: str) -> V:
    raw, bits = data(args[0]), integer(args[1])
    name = {0: "sha256", 224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512"}.get(bits or -1)
    if raw is None or name is None:
        return V(None, "str", True, 512)
    return V(hashlib.new(name, raw).hexdigest(), "str", True, 512)


def _date_part(part: Callable[[datetime.date], int]) -> Function:
    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        when = _date(args[0])
        return V(None if when is None else part(when), "int", True, 2)

    return call


def _date(x: V) -> datetime.datetime | None:
    """A DATETIME or DATE value, or a string or number that reads as one; else None (NULL)."""
    if x.v is None:
        return None
    if x.t == "datetime":
        return x.v  # type: ignore[no-any-return]
    if x.t == "date":
        return datetime.datetime.combine(x.v, datetime.time())
    raw = (text(x) or "").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y%m%d%H%M%S", "%Y%m%d", "%y%m%d"):
        try:
            return datetime.datetime.strptime(raw[: len(raw)], fmt)
        except ValueError:
            continue
    return None


def _sleep(s: SqlSession, args: list[V], _extra: str) -> V:
    seconds = number(args[0])
    if seconds is None or float(seconds) < 0:
        raise Fault(1210, "HY000", "Incorrect arguments to sleep")
    s.sleep += float(seconds)
    return V(0, "int", False, 1)


def _benchmark(s: SqlSession, args: list[V], _extra: str) -> V:
    count = integer(args[0])
    if count is None or count < 0:
        return V(None, "int", True, 1)
    s.sleep += count * BENCHMARK_ITERATION
    return V(0, "int", False, 1)


def _round(kind: str) -> Function:
    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        n = number(args[0])
        if n is None:
            return V(None, args[0].t, True)
        if kind == "abs":
            return V(abs(n), args[0].t if args[0].t != "str" else "real", args[0].null)
        if isinstance(n, int):
            return V(n, "int", args[0].null)
        f = {"floor": math.floor, "ceil": math.ceil}.get(kind)
        if f is not None:
            return V(int(f(n)), "int", args[0].null)
        places = integer(args[1]) if len(args) > 1 else 0
        if isinstance(n, float):
            return V(round(n, places or 0), "real", args[0].null)
        quantum = DECIMALS.create_decimal(1).scaleb(-(places or 0))
        return V(n.quantize(quantum, rounding="ROUND_HALF_UP"), "dec", args[0].null)

    return call


def _extreme(pick: Callable[[int], bool]) -> Function:
    def call(_s: SqlSession, args: list[V], _extra: str) -> V:
        if any(a.v is None for a in args):
            return V(None, args[0].t, True)
        best = args[0]
        for a in args[1:]:
            if pick(compare(a, best) or 0):
                best = a
        return best

    return call


def _timestampadd(_s: SqlSession, args: list[V], unit: str) -> V:
    amount, when = args
    n, start = integer(amount), _date(when)
    if n is None or start is None:
        return V(None, "datetime", True)
    unit = unit.lower().removesuffix("s")
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}.get(unit)
    if seconds is None:
        return V(None, "datetime", True)
    try:
        return V(start + datetime.timedelta(seconds=n * seconds), "datetime", True)
    except OverflowError:
        return V(None, "datetime", True)


def _date_add(sign: int) -> Function:
    def call(s: SqlSession, args: list[V], unit: str) -> V:
        amount = integer(args[1])
        return _timestampadd(
            s, [V(None if amount is None else sign * amount, "int"), args[0]], unit
        )

    return call


def _json_quote(_s: SqlSession, args: list[V], _extra: str) -> V:
    s = text(args[0])
    if s is None:
        return V(None, "str", True)
    escaped = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return string(f'"{escaped}"')


def _from_base64(_s: SqlSession, args: list[V], _extra: str) -> V:
    s = text(args[0])
    try:
        return V(None if s is None else base64.b64decode(s, validate=True), "bin", True)
    except (binascii.Error, ValueError):
        return V(None, "bin", True)


def _count(_s: SqlSession, args: list[V], _extra: str) -> V:
    return V(int(args[0].v is not None), "int", False, 21)


def _rand(_s: SqlSession, args: list[V], _extra: str) -> V:
    seed = integer(args[0]) if args else None
    gen = random.Random(seed) if seed is not None else random  # noqa: S311 - SQL's RAND()
    return V(gen.random(), "real", False)


def _avg(_s: SqlSession, args: list[V], _extra: str) -> V:
    n = number(args[0])
    if n is None:
        return V(None, "dec", True)
    # AVG is a division by the row count: the scale grows by div_precision_increment.
    return V(
        DECIMALS.create_decimal(n).scaleb(0)
        + DECIMALS.create_decimal(1).scaleb(-DIV_PRECISION) * 0,
        "dec",
        True,
    )


def _user(s: SqlSession) -> str:
    return f"{s.user}@{s.host}"


FUNCTIONS: Final[dict[str, tuple[Function, int, int]]] = {
    "version": (_constant(None, "str"), 0, 0),  # the evaluator fills in the session's
    "database": (_session_text(lambda s: s.database, 64), 0, 0),
    "schema": (_session_text(lambda s: s.database, 64), 0, 0),
    "user": (_session_text(_user, 288), 0, 0),
    "session_user": (_session_text(_user, 288), 0, 0),
    "system_user": (_session_text(_user, 288), 0, 0),
    "current_user": (_session_text(lambda s: f"{s.user}@%", 288), 0, 0),
    "connection_id": (lambda s, _a, _e: V(s.connection_id, "int", False, 10, True), 0, 0),
    "last_insert_id": (_constant(0, "int", 21, False), 0, 1),
    "found_rows": (_constant(0, "int", 21), 0, 0),
    "row_count": (_constant(-1, "int", 21), 0, 0),
    "concat": (concat, 1, 1 << 16),
    "concat_ws": (concat_ws, 2, 1 << 16),
    "length": (_ints(lambda x: len(data(x) or b""), 10), 1, 1),
    "octet_length": (_ints(lambda x: len(data(x) or b""), 10), 1, 1),
    "char_length": (_ints(lambda x: len((data(x) if x.t == "bin" else text(x)) or ""), 10), 1, 1),
    "character_length": (_ints(lambda x: len(text(x) or ""), 10), 1, 1),
    "substring": (substring, 2, 3),
    "substr": (substring, 2, 3),
    "mid": (substring, 3, 3),
    "left": (strings(lambda s, n: s[: max(int(float(n or 0)), 0)]), 2, 2),
    "right": (
        strings(lambda s, n: s[len(s) - max(int(float(n or 0)), 0) :] if float(n or 0) > 0 else ""),
        2,
        2,
    ),
    "ascii": (_ints(lambda x: (data(x) or b"\0")[0] if data(x) else 0, 3), 1, 1),
    "ord": (_ints(ord_code, 21), 1, 1),
    "char": (char_bytes, 1, 1 << 16),
    "hex": (hex_string, 1, 1),
    "unhex": (unhex, 1, 1),
    "md5": (_digest("md5", 32), 1, 1),
    "sha1": (_digest("sha1", 40), 1, 1),
    "sha": (_digest("sha1", 40), 1, 1),
    "sha2": (_sha2, 2, 2),
    "lower": (strings(str.lower, True), 1, 1),
    "lcase": (strings(str.lower, True), 1, 1),
    "upper": (strings(str.upper, True), 1, 1),
    "ucase": (strings(str.upper, True), 1, 1),
    "reverse": (strings(lambda s: s[::-1], True), 1, 1),
    "replace": (strings(lambda s, a, b: s.replace(a, b) if a else s), 3, 3),
    "repeat": (repeat, 2, 2),
    "space": (lambda s, a, e: repeat(s, [string(" "), a[0]], e), 1, 1),
    "lpad": (pad(True), 3, 3),
    "rpad": (pad(False), 3, 3),
    "trim": (trim, 1, 2),
    "ltrim": (side("leading"), 1, 1),
    "rtrim": (side("trailing"), 1, 1),
    "locate": (locate, 2, 3),
    "instr": (lambda s, a, e: locate(s, [a[1], a[0]], e), 2, 2),
    "elt": (elt, 2, 1 << 16),
    "strcmp": (strcmp, 2, 2),
    "quarter": (_date_part(lambda d: (d.month - 1) // 3 + 1), 1, 1),
    "month": (_date_part(lambda d: d.month), 1, 1),
    "year": (_date_part(lambda d: d.year), 1, 1),
    "day": (_date_part(lambda d: d.day), 1, 1),
    "dayofmonth": (_date_part(lambda d: d.day), 1, 1),
    "to_seconds": (_date_part(lambda d: d.toordinal() * 86400 + 86400 * 365), 1, 1),
    "now": (lambda _s, _a, _e: V(now(), "datetime"), 0, 1),
    "current_timestamp": (lambda _s, _a, _e: V(now(), "datetime"), 0, 1),
    "localtime": (lambda _s, _a, _e: V(now(), "datetime"), 0, 1),
    "localtimestamp": (lambda _s, _a, _e: V(now(), "datetime"), 0, 1),
    "sysdate": (lambda _s, _a, _e: V(now(), "datetime"), 0, 1),
    "utc_timestamp": (lambda _s, _a, _e: V(now(), "datetime"), 0, 1),
    "curdate": (lambda _s, _a, _e: V(now().date(), "date"), 0, 0),
    "current_date": (lambda _s, _a, _e: V(now().date(), "date"), 0, 0),
    "utc_date": (lambda _s, _a, _e: V(now().date(), "date"), 0, 0),
    "unix_timestamp": (lambda _s, _a, _e: V(int(now().timestamp()), "int", False, 11), 0, 1),
    "timestampadd": (_timestampadd, 2, 2),
    "date_add": (_date_add(1), 2, 2),
    "adddate": (_date_add(1), 2, 2),
    "date_sub": (_date_add(-1), 2, 2),
    "subdate": (_date_add(-1), 2, 2),
    "sleep": (_sleep, 1, 1),
    "benchmark": (_benchmark, 2, 2),
    "isnull": (lambda _s, a, _e: boolean(a[0].v is None), 1, 1),
    "charset": (lambda _s, a, _e: string("binary" if a[0].t != "str" else "utf8mb4"), 1, 1),
    "collation": (
        lambda _s, a, _e: string("binary" if a[0].t != "str" else "utf8mb4_0900_ai_ci"),
        1,
        1,
    ),
    "coercibility": (lambda _s, a, _e: V(4 if a[0].t == "str" else 5, "int", False, 1), 1, 1),
    "json_storage_free": (_ints(lambda _x: 0, 21), 1, 1),
    "json_storage_size": (_ints(lambda x: len(data(x) or b"") + 2, 21), 1, 1),
    "json_quote": (_json_quote, 1, 1),
    "load_file": (_constant(None, "bin", 0, True), 1, 1),
    "to_base64": (strings(lambda s: base64.b64encode(s.encode()).decode()), 1, 1),
    "from_base64": (_from_base64, 1, 1),
    "abs": (_round("abs"), 1, 1),
    "floor": (_round("floor"), 1, 1),
    "ceil": (_round("ceil"), 1, 1),
    "ceiling": (_round("ceil"), 1, 1),
    "round": (_round("round"), 1, 2),
    "greatest": (_extreme(lambda order: order > 0), 2, 1 << 16),
    "least": (_extreme(lambda order: order < 0), 2, 1 << 16),
    "rand": (_rand, 0, 1),
    "pi": (_constant(math.pi, "real", 8), 0, 0),
    "count": (_count, 1, 1),
    "min": (lambda _s, a, _e: a[0], 1, 1),
    "max": (lambda _s, a, _e: a[0], 1, 1),
    "sum": (lambda _s, a, _e: V(DECIMALS.create_decimal(number(a[0]) or 0), "dec", True), 1, 1),
    "avg": (_avg, 1, 1),
    "group_concat": (concat, 1, 1 << 16),
}

"""MySQL's values as the evaluator holds them: ``V``, the conversions between types, comparison
under the connection's collation, and the result column MySQL 8.0 describes each value with.

Rules this module keeps (MySQL 8.0's, as its manual's "Type Conversion in Expression Evaluation"
states them): NULL stays NULL through every operator but the NULL-aware ones; a string in a number's
place is read as its leading number (``'3abc'`` is 3, ``'abc'`` 0) and the arithmetic is then
double; two nonbinary strings compare under ``utf8mb4_0900_ai_ci`` (case and accents ignored,
trailing spaces significant), a binary one makes it a byte comparison; integers are 64 bits and
leaving that range is error 1690. Strings longer than ``MAX_STRING`` become NULL, as MySQL's do past
``max_allowed_packet``, so no expression can make the process big.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from honeypods.mysql.codec.constants import (
    COLLATION_BINARY,
    FieldFlag,
    FieldType,
)
from honeypods.mysql.codec.packets import Column

# Longest string result, in characters; MySQL's bound is max_allowed_packet (64 MiB here).
MAX_STRING: Final = 1 << 16
INT_MIN: Final = -(1 << 63)
INT_MAX: Final = (1 << 63) - 1
UINT_MAX: Final = (1 << 64) - 1
# DECIMAL's 65 digits, and a bounded exponent so no literal makes a huge number.
DECIMALS: Final = decimal.Context(prec=65, Emax=99, Emin=-99, traps=[decimal.InvalidOperation])
# div_precision_increment: digits a division adds to its dividend's scale.
DIV_PRECISION: Final = 4
_NUMBER_PREFIX: Final = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# MySQL's NOT_FIXED_DEC: the decimals of strings and doubles.
NOT_FIXED_DEC: Final = 31
_NUMERIC: Final = frozenset(("int", "dec", "real"))


class Fault(Exception):
    """A statement MySQL refuses while evaluating it; carries the error to answer."""

    def __init__(self, code: int, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.code, self.sqlstate, self.message = code, sqlstate, message


def out_of_range(what: str) -> Fault:
    return Fault(1690, "22003", f"BIGINT value is out of range in '{what[:64]}'")


@dataclass(slots=True)
class V:
    """One value and its SQL type: ``int dec real str bin null datetime date``.

    ``null`` is whether the expression may be NULL (the metadata's NOT_NULL flag is its opposite),
    ``length`` the column length MySQL reports when it is not the value's own.
    """

    v: Any
    t: str
    null: bool = False
    length: int = 0
    unsigned: bool = False


NULL: Final = V(None, "null", True)


def is_null(x: V) -> bool:
    return x.v is None


def number(x: V) -> int | decimal.Decimal | float | None:
    """The value in a number's place."""
    v = x.v
    if v is None or x.t in _NUMERIC:
        return v  # type: ignore[no-any-return]
    if x.t in ("datetime", "date"):
        return int(v.strftime("%Y%m%d%H%M%S" if x.t == "datetime" else "%Y%m%d"))
    text = v.decode("latin-1") if isinstance(v, bytes) else v
    m = _NUMBER_PREFIX.match(text)
    return float(m.group(0)) if m else 0.0


def integer(x: V) -> int | None:
    """The value where MySQL wants an integer (a position, a count): rounded half away from 0."""
    n = number(x)
    if n is None:
        return None
    if isinstance(n, int):
        return n
    if math.isnan(n) or math.isinf(n):
        return 0
    rounded = decimal.Decimal(n).to_integral_value(decimal.ROUND_HALF_UP)
    return max(INT_MIN, min(int(rounded), UINT_MAX))


def text(x: V) -> str | None:
    """The value as a string (binary strings read as UTF-8)."""
    v = x.v
    if v is None:
        return None
    t = x.t
    if t == "str":
        return v  # type: ignore[no-any-return]
    if t == "bin":
        return v.decode("utf-8", "replace")  # type: ignore[no-any-return]
    if t == "int":
        return str(v)
    if t == "dec":
        return format(v, "f")
    if t == "real":
        return real_text(v)
    if t == "date":
        return v.strftime("%Y-%m-%d")  # type: ignore[no-any-return]
    return v.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[no-any-return]


def data(x: V) -> bytes | None:
    """The value as bytes, for binary results and byte functions (HEX, MD5, LENGTH)."""
    if x.t == "bin":
        return x.v  # type: ignore[no-any-return]
    s = text(x)
    return None if s is None else s.encode("utf-8")


def real_text(f: float) -> str:
    """A double as MySQL prints it: the shortest round-trip digits, ``1e20`` not ``1e+20``."""
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    out = repr(f).replace("e+", "e")
    return re.sub(r"e(-?)0+(\d)", r"e\1\2", out)


def truth(x: V) -> bool | None:
    n = number(x)
    return None if n is None else n != 0


def boolean(b: bool | None, maybe_null: bool = False) -> V:
    """A comparison's or a predicate's result: 1, 0 or NULL, a one-digit LONGLONG."""
    return V(None if b is None else int(b), "int", maybe_null or b is None, 1)


def string(s: str | bytes | None, binary: bool = False, maybe_null: bool = False) -> V:
    """A string result; past ``MAX_STRING`` NULL."""
    if s is None or len(s) > MAX_STRING:
        return V(None, "bin" if binary else "str", True)
    if binary:
        return V(s if isinstance(s, bytes) else s.encode("utf-8"), "bin", maybe_null)
    return V(s if isinstance(s, str) else s.decode("utf-8", "replace"), "str", maybe_null)


def checked(n: int, what: str) -> int:
    if not INT_MIN <= n <= UINT_MAX:
        raise out_of_range(what)
    return n


def collation_key(s: str) -> str:
    """utf8mb4_0900_ai_ci's view of a string: case and accents do not count."""
    if s.isascii():
        return s.lower()
    folded = unicodedata.normalize("NFKD", s.casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def compare(a: V, b: V) -> int | None:
    """-1, 0 or 1 as MySQL orders ``a`` and ``b``; None when either is NULL."""
    if a.v is None or b.v is None:
        return None
    ta, tb = a.t, b.t
    x: Any
    y: Any
    if ta in ("str", "bin", "datetime", "date") and tb in ("str", "bin", "datetime", "date"):
        if "bin" in (ta, tb):
            x, y = data(a), data(b)
        else:
            x, y = collation_key(text(a) or ""), collation_key(text(b) or "")
    elif ta in ("int", "dec") and tb in ("int", "dec"):
        x, y = a.v, b.v
    else:
        x, y = float(number(a) or 0), float(number(b) or 0)
    return int(x > y) - int(x < y)


def aggregate(values: list[V]) -> str:
    """The type of CASE, IF, IFNULL and COALESCE: what their branches have in common."""
    kinds = {x.t for x in values} - {"null"}
    if not kinds:
        return "null"
    if len(kinds) == 1:
        return kinds.pop()
    if "bin" in kinds:
        return "bin"
    if kinds & {"str", "datetime", "date"}:
        return "str"
    if "real" in kinds:
        return "real"
    return "dec"


def coerce(x: V, t: str) -> Any:
    """``x``'s value as type ``t`` (a branch of CASE taking the aggregated type)."""
    if x.v is None or t in (x.t, "null"):
        return x.v
    if t == "str":
        return text(x)
    if t == "bin":
        return data(x)
    if t == "real":
        return float(number(x) or 0)
    if t == "dec":
        n = number(x)
        return n if isinstance(n, decimal.Decimal) else DECIMALS.create_decimal(n or 0)
    return x.v


def decimal_of(n: int | decimal.Decimal | float | str) -> decimal.Decimal:
    try:
        return DECIMALS.create_decimal(n)
    except (decimal.InvalidOperation, ValueError):
        raise Fault(
            1367, "22007", f"Illegal double '{str(n)[:64]}' value found during parsing"
        ) from None


def column(name: str, x: V) -> tuple[Column, str | None]:
    """The ColumnDefinition MySQL 8.0 sends for a result, and the value as the text protocol has it."""
    not_null = FieldFlag.NOT_NULL_FLAG if not x.null and x.v is not None else 0
    numeric = not_null | FieldFlag.BINARY_FLAG | FieldFlag.NUM_FLAG
    t, v = x.t, x.v
    shown = text(x)
    if t == "int":
        if x.unsigned:
            numeric |= FieldFlag.UNSIGNED_FLAG
        width = x.length or max(len(shown or ""), 1)
        kind = FieldType.MYSQL_TYPE_LONGLONG
        return Column(name, kind, width, numeric, 0, collation=COLLATION_BINARY), shown
    if t == "dec":
        exponent = v.as_tuple().exponent if v is not None else 0
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        width = x.length or max(len(shown or "") + (0 if (shown or "").startswith("-") else 1), 1)
        kind = FieldType.MYSQL_TYPE_NEWDECIMAL
        return Column(name, kind, width, numeric, scale, collation=COLLATION_BINARY), shown
    if t == "real":
        kind = FieldType.MYSQL_TYPE_DOUBLE
        return Column(
            name, kind, x.length or 23, numeric, NOT_FIXED_DEC, collation=COLLATION_BINARY
        ), shown
    if t == "null":
        kind = FieldType.MYSQL_TYPE_NULL
        return Column(name, kind, 0, FieldFlag.BINARY_FLAG, 0, collation=COLLATION_BINARY), None
    if t in ("datetime", "date"):
        flags = not_null | FieldFlag.BINARY_FLAG
        kind = FieldType.MYSQL_TYPE_DATETIME if t == "datetime" else FieldType.MYSQL_TYPE_DATE
        width = 19 if t == "datetime" else 10
        return Column(name, kind, width, flags, 0, collation=COLLATION_BINARY), shown
    if t == "bin":
        width = x.length or len(v or b"")
        flags = not_null | FieldFlag.BINARY_FLAG
        kind = FieldType.MYSQL_TYPE_VAR_STRING
        raw = v.decode("utf-8", "surrogateescape") if v is not None else None
        return Column(name, kind, width, flags, NOT_FIXED_DEC, collation=COLLATION_BINARY), raw
    width = x.length or len(v or "") * 4
    return Column(name, FieldType.MYSQL_TYPE_VAR_STRING, width, not_null, NOT_FIXED_DEC), shown


def now() -> datetime.datetime:
    # system_time_zone is UTC; NOW() has no fraction unless asked for one.
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0, tzinfo=None)

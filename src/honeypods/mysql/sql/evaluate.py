"""The table-less SELECT evaluated: ``select_constants`` from statement text to rows or MySQL's error.

Rules this module keeps: operators follow MySQL 8.0's NULL and type rules (``values``); AND, OR,
CASE, IF, IFNULL and COALESCE evaluate only the branch they take, so ``IF(1=2, SLEEP(5), 0)`` does
not sleep, but the branches not taken are still evaluated for their type with their side effects
undone, as MySQL types a CASE from all its branches; a select list under a false WHERE is
evaluated the same way (types, no effects, no rows). LIKE is matched segment by segment (no
regular expression built from the pattern), and REGEXP refuses patterns that could backtrack for
long, with MySQL's own timeout error, so no statement costs more than linear time in its text.
"""

from __future__ import annotations

import decimal
from typing import Any, Final

from honeypods.mysql.codec.packets import Column, ResultSet
from honeypods.mysql.errors import Err, er_1054_bad_field, er_1064_parse, er_1193_unknown_variable
from honeypods.mysql.sql.expr import Query, parse_query
from honeypods.mysql.sql.functions import FUNCTIONS
from honeypods.mysql.sql.lexer import SyntaxFault
from honeypods.mysql.sql.predicates import in_list, like, regexp
from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.values import (
    DECIMALS,
    DIV_PRECISION,
    INT_MAX,
    INT_MIN,
    Fault,
    V,
    aggregate,
    boolean,
    checked,
    coerce,
    column,
    compare,
    data,
    decimal_of,
    integer,
    number,
    out_of_range,
    text,
    truth,
)
from honeypods.mysql.sql.variables import session_variables

_MASK: Final = (1 << 64) - 1


def select_constants(rest: str, s: SqlSession) -> ResultSet | Err:
    """A SELECT without tables (or FROM DUAL, or FROM a derived table), after its SELECT word."""
    try:
        query = parse_query(rest)
    except SyntaxFault as fault:
        return er_1064_parse(rest[fault.pos :])
    try:
        columns, rows = _run(query, s, "field list")
    except Fault as fault:
        return Err(fault.code, fault.sqlstate, fault.message)
    return ResultSet(columns, rows)


def _rows(q: Query, s: SqlSession, where: str) -> tuple[list[V], int]:
    """The select list's values and whether its one row is selected (1) or not (0)."""
    rows = 1
    if q.source is not None:
        _values, rows = _rows(q.source, s, where)
    if q.where is not None and rows:
        rows = int(bool(truth(_eval(q.where, s, "where clause"))))
    limit = 1 if q.limit is None else q.limit
    rows = 1 if rows and q.offset < 1 <= limit else 0
    before = s.sleep
    values = [_eval(item.node, s, where) for item in q.items]
    if not rows:
        s.sleep = before  # nothing was selected, so nothing ran
    return values, rows


def _run(
    q: Query, s: SqlSession, where: str
) -> tuple[tuple[Column, ...], tuple[tuple[str | None, ...], ...]]:
    values, rows = _rows(q, s, where)
    described = [column(item.name, v) for item, v in zip(q.items, values, strict=True)]
    row = tuple(shown for _col, shown in described)
    return tuple(col for col, _shown in described), ((row,) if rows else ())


def _dry(node: tuple[Any, ...], s: SqlSession) -> V:
    """A branch not taken: its type, without its effects."""
    before = s.sleep
    try:
        return _eval(node, s, "field list")
    finally:
        s.sleep = before


def _eval(node: tuple[Any, ...], s: SqlSession, where: str) -> V:
    kind = node[0]
    if kind == "lit":
        _, value, t, _name = node
        if t == "dec":
            value = decimal_of(value)
        return V(value, t, value is None)
    if kind == "call":
        return _call(node, s, where)
    if kind == "cmp":
        a, b = _eval(node[2], s, where), _eval(node[3], s, where)
        if node[1] == "<=>":
            order = compare(a, b)
            return boolean(order == 0 if order is not None else a.v is None and b.v is None)
        order = compare(a, b)
        if order is None:
            return boolean(None)
        op = node[1]
        result: bool | None = {
            "=": order == 0,
            "<": order < 0,
            "<=": order <= 0,
            ">": order > 0,
            ">=": order >= 0,
        }.get(op, order != 0)
        return boolean(result, a.null or b.null)
    if kind in ("and", "or"):
        left = truth(_eval(node[1], s, where))
        if left is (kind == "or"):
            _dry(node[2], s)
            return boolean(left)
        right = truth(_eval(node[2], s, where))
        both: bool | None
        if kind == "and":
            both = False if right is False else (None if None in (left, right) else True)
        else:
            both = True if right else (None if None in (left, right) else False)
        return boolean(both)
    if kind == "xor":
        p, q = truth(_eval(node[1], s, where)), truth(_eval(node[2], s, where))
        return boolean(None if p is None or q is None else p != q)
    if kind == "not":
        p = truth(_eval(node[1], s, where))
        return boolean(None if p is None else not p)
    if kind == "is":
        value = _eval(node[1], s, where)
        what = node[2]
        if what in ("null", "unknown"):
            result = value.v is None if what == "null" else truth(value) is None
        else:
            result = truth(value) is (what == "true")
        return boolean(result != node[3])
    if kind == "op":
        return _arithmetic(node[1], _eval(node[2], s, where), _eval(node[3], s, where), node)
    if kind == "unary":
        return _unary(node[1], _eval(node[2], s, where))
    if kind == "like":
        value, pattern = _eval(node[1], s, where), _eval(node[2], s, where)
        escape = text(_eval(node[3], s, where)) if node[3] is not None else "\\"
        found = like(value, pattern, escape or "\\")
        return boolean(None if found is None else found != node[4], value.null or pattern.null)
    if kind == "regexp":
        return regexp(_eval(node[1], s, where), _eval(node[2], s, where), node[3])
    if kind == "in":
        return in_list(_eval(node[1], s, where), [_eval(n, s, where) for n in node[2]], node[3])
    if kind == "between":
        value, low, high = (_eval(n, s, where) for n in node[1:4])
        above, below = compare(value, low), compare(value, high)
        hit: bool | None
        if above is None or below is None:
            outside = (above is not None and above < 0) or (below is not None and below > 0)
            hit = False if outside else None
        else:
            hit = above >= 0 and below <= 0
        return boolean(None if hit is None else hit != node[4])
    if kind == "case":
        return _case(node, s, where)
    if kind == "sysvar":
        variables = session_variables(s)
        name = node[1]
        if name not in variables:
            raise _err(er_1193_unknown_variable(name))
        value = variables[name]
        if isinstance(value, bool | int):
            return V(int(value), "int", False, 21)
        return V(value, "str", False, 1024)
    if kind == "uservar":
        return V(None, "null", True)  # SET @x is not kept, so every user variable is unset
    if kind == "subquery":
        values, rows = _rows(node[1], s, where)
        if len(values) != 1:
            raise Fault(1241, "21000", "Operand should contain 1 column(s)")
        inner = values[0]
        return V(inner.v if rows else None, inner.t, True, inner.length)
    if kind == "exists":
        _values, rows = _rows(node[1], s, where)
        return boolean(bool(rows))
    if kind == "column":
        raise _err(er_1054_bad_field(node[1]), where)
    raise SyntaxError(kind)  # pragma: no cover - the parser makes no other node


def _err(err: Err, where: str = "field list") -> Fault:
    message = err.message.replace("'field list'", f"'{where}'")
    return Fault(err.code, err.sqlstate, message)


def _case(node: tuple[Any, ...], s: SqlSession, where: str) -> V:
    _, base, whens, default = node
    subject = _eval(base, s, where) if base is not None else None
    chosen = None
    for cond, result in whens:
        if chosen is not None:
            _dry(cond, s)
            continue
        test = _eval(cond, s, where)
        hit = compare(subject, test) == 0 if subject is not None else truth(test)
        if hit:
            chosen = result
    branches = [r for _c, r in whens] + ([default] if default is not None else [])
    return _pick(chosen if chosen is not None else default, branches, s, where, default is None)


def _pick(
    chosen: tuple[Any, ...] | None,
    branches: list[tuple[Any, ...]],
    s: SqlSession,
    where: str,
    maybe_null: bool,
) -> V:
    """The value of the branch taken, in the type all branches share."""
    values = [_eval(b, s, where) if b is chosen else _dry(b, s) for b in branches]
    t = aggregate(values)
    if chosen is None:
        return V(None, t, True)
    value = values[branches.index(chosen)]
    nullable = maybe_null or any(v.null for v in values)
    length = max(v.length or len(text(v) or "") * (4 if t == "str" else 1) for v in values)
    return V(coerce(value, t), t, nullable, length if t in ("str", "bin") else 0)


def _call(node: tuple[Any, ...], s: SqlSession, where: str) -> V:
    _, name, args, extra, written = node
    if name == "if" and len(args) == 3:
        taken = args[1] if truth(_eval(args[0], s, where)) else args[2]
        return _pick(taken, list(args[1:]), s, where, False)
    if name in ("ifnull", "coalesce") and (len(args) == 2 or (name == "coalesce" and args)):
        values: list[V] = []
        for arg in args:
            values.append(
                _eval(arg, s, where) if not values or values[-1].v is None else _dry(arg, s)
            )
        chosen = next((a for a, v in zip(args, values, strict=True) if v.v is not None), None)
        return _pick(chosen, list(args), s, where, all(v.null for v in values[-1:]))
    if name == "nullif" and len(args) == 2:
        a, b = _eval(args[0], s, where), _eval(args[1], s, where)
        return V(None if compare(a, b) == 0 else a.v, a.t, True, a.length)
    if name in ("cast", "convert"):
        return _cast(_eval(args[0], s, where), extra)
    if name == "version":
        return V(s.server_version, "str", False, 80)
    entry = FUNCTIONS.get(name)
    if entry is None:
        if s.database is None:
            raise Fault(1046, "3D000", "No database selected")
        raise Fault(1305, "42000", f"FUNCTION {s.database}.{written[:64]} does not exist")
    function, fewest, most = entry
    if not fewest <= len(args) <= most:
        raise Fault(
            1582,
            "42000",
            f"Incorrect parameter count in the call to native function '{written[:64]}'",
        )
    return function(s, [_eval(a, s, where) for a in args], extra)


def _cast(x: V, to: str) -> V:
    kind, *size = to.split()
    if kind in ("char", "nchar", "varchar", "json"):
        value = text(x)
        if value is not None and size and size[0].isdigit():
            value = value[: int(size[0])]
        return V(value, "str", x.null or x.v is None)
    if kind == "binary":
        return V(data(x), "bin", x.null or x.v is None)
    if kind in ("signed", "unsigned", "integer", "int"):
        whole = integer(x)
        if whole is not None:
            big = whole > (1 << 63) - 1
            whole = whole & _MASK if kind == "unsigned" else (whole - (1 << 64) if big else whole)
        return V(whole, "int", x.null or whole is None, 21, kind == "unsigned")
    n = number(x)
    if kind == "decimal":
        places = int(size[1]) if len(size) > 1 else 0
        if n is None:
            return V(None, "dec", True)
        return V(decimal_of(n).quantize(decimal.Decimal(1).scaleb(-places)), "dec", x.null)
    if kind in ("double", "float", "real"):
        return V(None if n is None else float(n), "real", x.null or n is None)
    if kind in ("date", "datetime"):
        value = text(x)
        return V(value, "str", True)
    raise Fault(1064, "42000", er_1064_parse(to).message)


def _arithmetic(op: str, a: V, b: V, node: tuple[Any, ...]) -> V:
    if op in ("|", "&", "<<", ">>", "^"):
        if a.v is None or b.v is None:
            return V(None, "int", True, 21, True)
        p, q = (integer(a) or 0) & _MASK, (integer(b) or 0) & _MASK
        bits = {
            "|": p | q,
            "&": p & q,
            "^": p ^ q,
            "<<": (p << q) & _MASK if q < 64 else 0,
            ">>": p >> q if q < 64 else 0,
        }[op]
        return V(bits, "int", a.null or b.null, 21, True)
    x: Any = number(a)
    y: Any = number(b)
    kinds = {a.t, b.t}
    t = "int" if kinds <= {"int"} else ("dec" if kinds <= {"int", "dec"} else "real")
    if op in ("/", "div") and t == "int" and op == "/":
        t = "dec"
    if x is None or y is None:
        return V(None, "int" if op == "div" else t, True)
    nullable = a.null or b.null
    if op in ("/", "div", "%") and not y:
        return V(None, "int" if op == "div" else t, True)
    if t == "real":
        x, y = float(x), float(y)
        if op == "div":
            return V(checked(int(x / y), "div"), "int", nullable)
        value: Any = {"+": x + y, "-": x - y, "*": x * y, "/": x / y if op == "/" else 0}.get(op)
        if op == "%":
            value = abs(x) % abs(y) * (1 if x >= 0 else -1)
        return V(value, "real", nullable)
    if t == "int":
        assert isinstance(x, int)  # noqa: S101 - an integer operand
        assert isinstance(y, int)  # noqa: S101 - an integer operand
        if op in ("div", "%"):
            q = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
            return V(q if op == "div" else x - y * q, "int", nullable)
        value = {"+": x + y, "-": x - y, "*": x * y}[op]
        # Signed arithmetic unless an operand is past the signed range (an unsigned literal).
        if max(x, y) <= INT_MAX and not INT_MIN <= value <= INT_MAX:
            raise out_of_range(_written(node))
        return V(checked(value, _written(node)), "int", nullable)
    dx, dy = decimal_of(x), decimal_of(y)
    try:
        if op == "/":
            scale = -min(dx.as_tuple().exponent, 0) + DIV_PRECISION  # type: ignore[operator]
            quotient = DECIMALS.divide(dx, dy).quantize(
                decimal.Decimal(1).scaleb(-scale), context=DECIMALS
            )
            return V(quotient, "dec", True)
        if op == "div":
            return V(int(DECIMALS.divide_int(dx, dy)), "int", True)
        value = {"+": dx + dy, "-": dx - dy, "*": dx * dy, "%": DECIMALS.remainder(dx, dy)}[op]
    except decimal.InvalidOperation:
        raise Fault(1690, "22003", f"DECIMAL value is out of range in '{_written(node)}'") from None
    return V(value, "dec", nullable)


def _written(node: tuple[Any, ...]) -> str:
    def show(n: tuple[Any, ...]) -> str:
        return str(n[1]) if n[0] == "lit" else "..."

    return f"({show(node[2])} {node[1]} {show(node[3])})"


def _unary(op: str, x: V) -> V:
    if op == "!":
        t = truth(x)
        return boolean(None if t is None else not t)
    if op == "binary":
        return V(data(x), "bin", x.null or x.v is None)
    if x.v is None:
        return V(None, "int" if op == "~" else x.t, True)
    if op == "~":
        return V(~(integer(x) or 0) & _MASK, "int", x.null, 21, True)
    n = number(x)
    if isinstance(n, int):
        return V(checked(-n, f"-({n})"), "int", x.null)
    if isinstance(n, decimal.Decimal):
        return V(-n, "dec", x.null)
    return V(-(n or 0.0), "real", x.null)

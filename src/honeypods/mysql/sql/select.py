"""SELECT: expressions without a table, information_schema, and the tables of the schemas (empty
but for the rows the session was given, ``SqlSession.rows``).

There is no engine: a select list is split at top-level commas and each item is a literal, a
system variable, one of a few functions clients and attackers call (VERSION(), USER(), NOW(),
...), or a column of the named table. Reading a file (INTO OUTFILE, LOAD_FILE) gets what an
account without the FILE privilege gets.
"""

from __future__ import annotations

import re

from honeypods.mysql.codec.packets import Column, ResultSet
from honeypods.mysql.errors import (
    ER_1222_WRONG_NUMBER_OF_COLUMNS,
    Err,
    er_1045_access_denied,
    er_1054_bad_field,
)
from honeypods.mysql.sql.evaluate import select_constants
from honeypods.mysql.sql.infoschema import VIEWS, view_columns, view_rows
from honeypods.mysql.sql.schema import INT, NUMERIC_FLAGS, column_of, text_column
from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.show import table_of
from honeypods.mysql.sql.text import NAME, QUALIFIED, nesting, split_top, unquote

_FROM = re.compile(rf"\s+from\s+((?:{NAME})(?:\s*\.\s*(?:{NAME}))?)(.*)$", re.I | re.S)
_WHERE_EQ = re.compile(r"""(\w+)\s*=\s*(?:(['"])(.*?)\2|(database\s*\(\s*\)))""", re.S | re.I)
_INTO_FILE = re.compile(r"\binto\s+(outfile|dumpfile)\b", re.I)
_UNION = re.compile(r"\s+union(?:\s+all|\s+distinct)?\s+select\s+", re.I)
_LIMIT = re.compile(r"\s+limit\s+(\d+)\s*$", re.I)
# Expressions that carry no alias even when they end in a word.
_UNALIASED = re.compile(r"@@[\w.]+|\w+\s*\(.*\)|'.*'|\".*\"|-?\d+", re.S)
_INTEGER = re.compile(r"-?\d+")
_SYSTEM_VARIABLE = re.compile(r"@@(?:(session|global|local)\.)?([a-z_0-9]+)")
_CALL = re.compile(r"([a-z_]+)\s*\((.*)\)", re.S)
_USER_VARIABLE = re.compile(r"@[a-z_0-9]+")
# Select options before the list (a dump's /*!40001 SQL_NO_CACHE */ among them): no effect here.
_OPTIONS = re.compile(
    r"(?:(?:all|distinct|distinctrow|high_priority|straight_join|sql_small_result|sql_big_result"
    r"|sql_buffer_result|sql_no_cache|sql_cache|sql_calc_found_rows)\s+)+",
    re.I,
)


def select(rest: str, s: SqlSession, text: str) -> ResultSet | Err:
    """SELECT ..., with UNION of table-less selects."""
    options = _OPTIONS.match(rest)
    if options:
        rest = rest[options.end() :]
    if _INTO_FILE.search(rest):
        # Without the FILE privilege MySQL answers INTO OUTFILE with an access-denied error.
        return er_1045_access_denied(s.user, "%", True)
    parts = _UNION.split(rest)
    if len(parts) > 1 and not _FROM.search(" " + rest):
        results = [select(part, s, text) for part in parts]
        for result in results:
            if isinstance(result, Err):
                return result
        sets = [r for r in results if isinstance(r, ResultSet)]
        if len({len(r.columns) for r in sets}) > 1:
            return ER_1222_WRONG_NUMBER_OF_COLUMNS
        return ResultSet(sets[0].columns, tuple(row for r in sets for row in r.rows))
    m = _FROM.search(" " + rest)
    if m and nesting(" " + rest, m.start()):
        m = None  # SUBSTRING(x FROM 2), (SELECT ... FROM t): not this statement's table
    if m and m.group(1).lower() != "dual":
        return _select_from(rest[: m.start()].strip(), m.group(1), m.group(2), s)
    # Everything without a table is evaluated as MySQL would (sql.evaluate).
    return select_constants(rest, s)


_ALIAS = re.compile(rf"(.+?)\s+(?:as\s+)?('[^']*'|\"[^\"]*\"|{NAME})$", re.I | re.S)


def _select_from(exprs: str, ref: str, tail: str, s: SqlSession) -> ResultSet | Err:
    m = QUALIFIED.match(ref)
    assert m is not None  # noqa: S101 - _FROM matched a name
    db = unquote(m.group(1)) if m.group(2) else (s.database or "")
    table = unquote(m.group(2) or m.group(1))
    if db.lower() == "information_schema" and table.upper() in VIEWS:
        names = tuple(c[0] for c in VIEWS[table.upper()])
        rows = view_rows(table.upper(), s.schemas, s.visible_databases)
        for col, _q, value, current in _WHERE_EQ.findall(tail):
            if col.upper() in names:
                i = names.index(col.upper())
                wanted = s.database if current else value
                rows = [r for r in rows if r[i] == wanted]
        all_cols = list(view_columns(table.upper()))
    else:
        found = table_of(ref, s)
        if isinstance(found, Err):
            return found
        fdb, ftable, cols = found
        names = tuple(c[0] for c in cols)
        rows = list(s.rows.get((fdb, ftable), ()))
        for col, _q, value, current in _WHERE_EQ.findall(tail):
            if col.lower() in names:
                i = names.index(col.lower())
                wanted = s.database if current else value
                rows = [r for r in rows if r[i] == wanted]
        all_cols = [column_of(c, fdb, ftable) for c in cols]
    concat = re.fullmatch(r"group_concat\s*\(\s*(\w+)\s*\)", exprs, re.I)
    if concat:
        lower = [n.lower() for n in names]
        if concat.group(1).lower() not in lower:
            return er_1054_bad_field(concat.group(1))
        i = lower.index(concat.group(1).lower())
        joined = ",".join(str(r[i]) for r in rows) if rows else None
        return ResultSet((text_column(exprs, 1024),), ((joined,),))
    if re.fullmatch(r"count\s*\(.*\)(?:\s+(?:as\s+)?\w+)?", exprs, re.I | re.S):
        label = _ALIAS.match(exprs)
        name = label.group(2) if label and not exprs.rstrip().endswith(")") else exprs
        return ResultSet((Column(name, INT, 21, NUMERIC_FLAGS),), ((str(len(rows)),),))
    if exprs.strip() == "*":
        return ResultSet(tuple(all_cols), tuple(rows))
    chosen: list[int] = []
    for item in split_top(exprs):
        if _CALL.fullmatch(item.lower()):
            # A function of the columns (a dump's JSON_EXTRACT(HISTOGRAM, ...)): its value per row
            # is not computed; it matters only where there are no rows.
            names += (item,)
            all_cols.append(text_column(item, 1024))
            rows = [(*r, None) for r in rows]
            chosen.append(len(names) - 1)
            continue
        name = unquote(item.split(".")[-1].strip())
        lower = [n.lower() for n in names]
        if name.lower() not in lower:
            return er_1054_bad_field(name)
        chosen.append(lower.index(name.lower()))
    return ResultSet(
        tuple(all_cols[i] for i in chosen), tuple(tuple(r[i] for i in chosen) for r in rows)
    )

"""Statements that would change something: acknowledged as a real server would, never kept.

Rules this module keeps:

* The account is an application's: SHOW GRANTS gives it SELECT, INSERT, UPDATE, DELETE, CREATE,
  DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, SHOW VIEW and TRIGGER on the
  application schemas, RELOAD and PROCESS globally, so a dump (LOCK TABLES, FLUSH) can be taken
  and loaded back (DROP TABLE IF EXISTS, CREATE TABLE, INSERT) without an error.
* A write in an application schema gets the OK packet MySQL sends (INSERT counts its rows), and
  changes nothing: every connection, the writer's own too, sees the same empty schemas, so nothing
  an attacker sends changes what the next one sees. The adapter logs each statement as sent.
* Everything outside the grants is refused with the error and privilege MySQL names: system
  schemas (1142), other databases (1044), accounts (1227), views and routines (not granted),
  server files (FILE is not granted, 1045) and LOAD DATA LOCAL (local_infile is OFF, 3948).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from honeypods.mysql.codec.packets import Ok
from honeypods.mysql.errors import (
    ER_1046_NO_DB,
    ER_3948_LOCAL_INFILE_DISABLED,
    Err,
    er_1007_db_exists,
    er_1044_db_access_denied,
    er_1045_access_denied,
    er_1064_parse,
    er_1142_table_denied,
    er_1227_privilege,
)
from honeypods.mysql.sql.session import Handler, SqlSession
from honeypods.mysql.sql.text import NAME, QUALIFIED, outside_quotes, split_top, unquote

# The grants the rules above describe, in the order SHOW GRANTS lists privileges.
GLOBAL_PRIVILEGES: Final = "RELOAD, PROCESS"
SCHEMA_PRIVILEGES: Final = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, "
    "LOCK TABLES, SHOW VIEW, TRIGGER"
)
# A table reference, db.table or table.
_REF: Final = rf"(?:{NAME})(?:\s*\.\s*(?:{NAME}))?"
_MODIFIERS: Final = r"(?:(?:low_priority|delayed|high_priority|quick|ignore)\s+)*"
_TARGET: Final = {
    "INSERT": re.compile(rf"{_MODIFIERS}(?:into\s+)?({_REF})", re.I),
    "UPDATE": re.compile(rf"{_MODIFIERS}({_REF})", re.I),
    "DELETE": re.compile(rf"{_MODIFIERS}from\s+({_REF})", re.I),
}
_DATABASE: Final = re.compile(
    rf"(?:database|schema)\s+(?:if\s+(not\s+)?exists\s+)?((?:{NAME}))", re.I
)
_CREATE_TABLE: Final = re.compile(
    rf"(?:temporary\s+)?table\s+(?:if\s+not\s+exists\s+)?({_REF})", re.I
)
_DROP_TABLE: Final = re.compile(r"(?:temporary\s+)?tables?\s+(?:if\s+exists\s+)?(.*)", re.I | re.S)
_ON_TABLE: Final = re.compile(rf"\son\s+({_REF})", re.I)
_DEFINER: Final = re.compile(
    r"(?:or\s+replace\s+|algorithm\s*=\s*\w+\s+|definer\s*=\s*\S+\s+|sql\s+security\s+\w+\s+)*",
    re.I,
)


def _table(ref: str, s: SqlSession, verb: str) -> tuple[str, str] | Err:
    """The (schema, table) a write names, or MySQL's refusal: grants are checked before names."""
    m = QUALIFIED.match(ref)
    if not m:
        return er_1064_parse(ref)
    db = unquote(m.group(1)) if m.group(2) else (s.database or "")
    table = unquote(m.group(2) or m.group(1))
    if not db:
        return ER_1046_NO_DB
    if db in s.schemas:
        return db, table
    if db.lower() == "information_schema":
        return er_1044_db_access_denied(s.user, "information_schema")
    return er_1142_table_denied(s.user, s.host, verb, table)


def _rows_inserted(rest: str) -> int:
    """The rows of INSERT ... VALUES (...), (...): top-level groups after VALUES; 1 for SET."""
    m = re.search(r"\b(values?|set|select)\b", rest, re.I)
    if not m:
        return 0
    word = m.group(1).lower()
    if word not in ("values", "value"):
        return 1 if word == "set" else 0
    depth = groups = 0
    for _i, ch in outside_quotes(rest[m.end() :]):
        if ch == "(":
            depth += 1
            groups += depth == 1
        elif ch == ")":
            depth -= 1
    return groups


def _insert(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    m = _TARGET["INSERT"].match(rest)
    found = _table(m.group(1), s, "INSERT") if m else er_1064_parse(rest)
    if isinstance(found, Err):
        return found
    rows = _rows_inserted(rest[m.end() :] if m else rest)
    info = f"Records: {rows}  Duplicates: 0  Warnings: 0".encode() if rows > 1 else b""
    return Ok(affected_rows=rows, info=info)


def _dml(verb: str) -> Handler:
    def handler(rest: str, s: SqlSession, _text: str) -> Ok | Err:
        m = _TARGET[verb].match(rest)
        found = _table(m.group(1), s, verb) if m else er_1064_parse(rest)
        if isinstance(found, Err):
            return found
        # Every table is empty: nothing matches.
        info = b"Rows matched: 0  Changed: 0  Warnings: 0" if verb == "UPDATE" else b""
        return Ok(info=info)

    return handler


def _database(rest: str, s: SqlSession, verb: str) -> Ok | Err:
    m = _DATABASE.match(rest)
    if not m:
        return er_1064_parse(rest)
    db = unquote(m.group(2))
    if db not in s.schemas:
        return er_1044_db_access_denied(s.user, db)
    if verb == "CREATE" and not m.group(1):
        return er_1007_db_exists(db)
    return Ok(affected_rows=len(s.schemas[db]) if verb == "DROP" else 0)


def _tables(refs: list[str], s: SqlSession, verb: str) -> Ok | Err:
    for ref in refs:
        found = _table(ref, s, verb)
        if isinstance(found, Err):
            return found
    return Ok()


def _create(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    low = rest.lower()
    if re.match(r"(database|schema)\b", low):
        return _database(rest, s, "CREATE")
    if re.match(r"(user|role)\b", low):
        return er_1227_privilege("CREATE USER")
    m = _CREATE_TABLE.match(rest)
    if m:
        return _tables([m.group(1)], s, "CREATE")
    body = rest[_DEFINER.match(rest).end() :]  # type: ignore[union-attr]
    kind = body.split(maxsplit=1)[0].lower() if body else ""
    if kind == "view":
        return er_1142_table_denied(s.user, s.host, "CREATE VIEW", _name_after(body))
    if kind in ("procedure", "function", "event"):
        return er_1044_db_access_denied(s.user, s.database or "")
    on = _ON_TABLE.search(body)
    if on:  # INDEX ... ON t, TRIGGER ... ON t
        return _tables([on.group(1)], s, "INDEX" if "index" in low.split()[:3] else "TRIGGER")
    return er_1064_parse(rest)


def _name_after(body: str) -> str:
    words = body.split()
    return unquote(words[1].split(".")[-1]) if len(words) > 1 else ""


def _drop(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    low = rest.lower()
    if re.match(r"(database|schema)\b", low):
        return _database(rest, s, "DROP")
    if re.match(r"(user|role)\b", low):
        return er_1227_privilege("CREATE USER")
    m = _DROP_TABLE.match(rest)
    if m:
        refs = [r.split()[0] for r in split_top(re.sub(r"\s+(restrict|cascade)$", "", m.group(1)))]
        return _tables([r for r in refs if r], s, "DROP")
    if re.match(r"(view|trigger|index)\b", low):
        on = _ON_TABLE.search(rest)
        if on:
            return _tables([on.group(1)], s, "DROP")
        return _tables([_name_after(re.sub(r"\bif\s+exists\b", "", rest, flags=re.I))], s, "DROP")
    if re.match(r"(procedure|function|event)\b", low):
        return er_1044_db_access_denied(s.user, s.database or "")
    return er_1064_parse(rest)


def _alter(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    low = rest.lower()
    if re.match(r"(database|schema)\b", low):
        return _database(rest, s, "ALTER")
    m = re.match(rf"(?:online\s+|ignore\s+)*table\s+({_REF})", rest, re.I)
    if m:
        return _tables([m.group(1)], s, "ALTER")
    if re.match(r"(user|role)\b", low):
        return er_1227_privilege("CREATE USER")
    if re.match(r"instance\b", low):
        return er_1227_privilege("SYSTEM_VARIABLES_ADMIN")
    return er_1227_privilege("SUPER")


def _truncate(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    ref = re.sub(r"^table\s+", "", rest, flags=re.I)
    return _tables([ref.split()[0]] if ref else [""], s, "DROP")


def _rename(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    if re.match(r"user\b", rest, re.I):
        return er_1227_privilege("CREATE USER")
    pairs = re.sub(r"^tables?\s+", "", rest, flags=re.I)
    refs = [w for item in split_top(pairs) for w in re.split(r"\s+to\s+", item, flags=re.I)]
    return _tables([r.strip() for r in refs if r.strip()], s, "ALTER")


def _lock(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    """LOCK TABLES t READ [LOCAL], u WRITE; LOCK INSTANCE FOR BACKUP needs BACKUP_ADMIN."""
    m = re.match(r"tables?\s+(.+)", rest, re.I | re.S)
    if not m:
        if re.match(r"instance\b", rest, re.I):
            return er_1227_privilege("BACKUP_ADMIN")
        return er_1064_parse(rest)
    refs = [item.split()[0] for item in split_top(m.group(1)) if item]
    return _tables(refs, s, "LOCK TABLES")


def _load(rest: str, s: SqlSession, _text: str) -> Err:
    if re.search(r"\blocal\s+infile\b", rest, re.I):
        return ER_3948_LOCAL_INFILE_DISABLED
    # Reading a server file needs FILE, which the account lacks: MySQL answers with 1045.
    return er_1045_access_denied(s.user, "%", True)


def _ok(_rest: str, _s: SqlSession, _text: str) -> Ok:
    return Ok()


HANDLERS: Final[Mapping[str, Handler]] = {
    "insert": _insert,
    "replace": _insert,
    "update": _dml("UPDATE"),
    "delete": _dml("DELETE"),
    "create": _create,
    "drop": _drop,
    "alter": _alter,
    "truncate": _truncate,
    "rename": _rename,
    "lock": _lock,
    "unlock": _ok,
    # FLUSH TABLES [WITH READ LOCK], LOGS, PRIVILEGES: RELOAD is granted.
    "flush": _ok,
    "load": _load,
}

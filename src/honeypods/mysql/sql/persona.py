"""The persona's entry point: one statement in, one reply out (``answer``), by its first word.

There is no SQL engine: a handful of statement shapes are recognised by pattern, the ones clients
send on connect and the ones attackers send to look around; anything else gets the error MySQL
would give (1064 syntax, 1146 no such table, 1142 command denied). Every write is refused as an
account with SELECT only is refused, so nothing an attacker sends changes what the next one sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from honeypods.mysql.codec.builders import lenenc_str
from honeypods.mysql.codec.packets import Ok, ResultSet
from honeypods.mysql.errors import (
    ER_1065_EMPTY_QUERY,
    Err,
    er_1044_db_access_denied,
    er_1049_bad_db,
    er_1064_parse,
    er_1094_no_such_thread,
    er_1142_table_denied,
    er_1227_privilege,
)
from honeypods.mysql.sql.schema import SCHEMAS, SYSTEM_DATABASES
from honeypods.mysql.sql.select import select
from honeypods.mysql.sql.session import Handler, SqlSession
from honeypods.mysql.sql.show import describe, show
from honeypods.mysql.sql.text import NAME, VERB, normalise, unquote, unquoted
from honeypods.mysql.sql.variables import set_statement

# Databases USE may choose besides the application schemas.
_ALSO_USABLE: Final = ("information_schema", "performance_schema")
_WRITE_TARGET: Final = re.compile(
    rf"(?:into|from|table|tables|ignore|low_priority|quick|\A)\s*({NAME})(?:\s*\.\s*({NAME}))?",
    re.I,
)


def answer(query: str, s: SqlSession) -> Ok | Err | ResultSet:
    """The reply to one COM_QUERY statement."""
    text = normalise(query)
    if not text:
        return ER_1065_EMPTY_QUERY
    semicolon = unquoted(text, ";")
    if semicolon >= 0:
        # A second statement: only clients that enable multi-statements may send one.
        return er_1064_parse(text[semicolon + 1 :].strip())
    verb, _, rest = text.partition(" ")
    if not VERB.fullmatch(verb):
        m = VERB.match(verb)
        if m:
            verb, rest = m.group(0), text[m.end() :]
    handler = _HANDLERS.get(verb.lower())
    if handler is None:
        return er_1064_parse(text)
    return handler(rest.strip(), s, text)


def database_named(name: str, user: str) -> str | Err:
    """The database a USE, COM_INIT_DB or login names, or the error MySQL refuses it with."""
    db = unquote(name.strip())
    if db in SCHEMAS or db in _ALSO_USABLE:
        return db
    if db in SYSTEM_DATABASES:
        return er_1044_db_access_denied(user, db)
    return er_1049_bad_db(db)


def use_database(name: str, s: SqlSession) -> Ok | Err:
    """USE and COM_INIT_DB."""
    db = database_named(name, s.user)
    if isinstance(db, Err):
        return db
    s.database = db
    # Session tracking: SESSION_TRACK_SCHEMA (1) with the new schema name.
    return Ok(session_state=b"\x01" + lenenc_str(lenenc_str(db.encode())))


def _use(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    if not rest:
        return er_1064_parse("")
    return use_database(rest.split(maxsplit=1)[0], s)


def _ok(_rest: str, _s: SqlSession, _text: str) -> Ok:
    return Ok()


def _begin(_rest: str, s: SqlSession, _text: str) -> Ok:
    s.in_transaction = True
    return Ok()


def _end(_rest: str, s: SqlSession, _text: str) -> Ok:
    s.in_transaction = False
    return Ok()


def _write(verb: str) -> Handler:
    """A statement that would change something, refused as SHOW GRANTS says it must be."""

    def handler(rest: str, s: SqlSession, _text: str) -> Err:
        low = rest.lower()
        if re.match(r"(database|schema)\b", low):
            name = rest.split()[1] if len(rest.split()) > 1 else ""
            if not name or name.lower() == "if":
                name = rest.rsplit(maxsplit=1)[-1]
            return er_1044_db_access_denied(s.user, unquote(name))
        if re.match(r"user\b", low) or verb in ("GRANT", "REVOKE"):
            return er_1227_privilege("CREATE USER")
        m = _WRITE_TARGET.search(rest)
        table = unquote(m.group(2) or m.group(1)) if m else ""
        return er_1142_table_denied(s.user, s.host, verb, table)

    return handler


def _kill(rest: str, _s: SqlSession, _text: str) -> Err:
    return er_1094_no_such_thread(rest.rsplit(maxsplit=1)[-1] if rest else "")


def _needs(privilege: str) -> Handler:
    return lambda _rest, _s, _text: er_1227_privilege(privilege)


_HANDLERS: Final[Mapping[str, Handler]] = {
    "select": select,
    "show": show,
    "use": _use,
    "set": set_statement,
    "describe": describe,
    "desc": describe,
    "explain": describe,
    "begin": _begin,
    "start": _begin,
    "commit": _end,
    "rollback": _end,
    "unlock": _ok,
    "do": _ok,
    "insert": _write("INSERT"),
    "replace": _write("INSERT"),
    "update": _write("UPDATE"),
    "delete": _write("DELETE"),
    "truncate": _write("DROP"),
    "drop": _write("DROP"),
    "alter": _write("ALTER"),
    "create": _write("CREATE"),
    "rename": _write("ALTER"),
    "load": _write("INSERT"),
    "lock": _write("LOCK TABLES"),
    "grant": _write("GRANT"),
    "revoke": _write("REVOKE"),
    "flush": _needs("RELOAD"),
    "kill": _kill,
    "shutdown": _needs("SHUTDOWN"),
}

"""The persona's entry point: one statement in, one reply out (``answer``), by its first word.

There is no SQL engine: a handful of statement shapes are recognised by pattern, the ones clients
send on connect and the ones attackers send to look around; anything else gets the error MySQL
would give (1064 syntax, 1146 no such table, 1142 command denied). Every write is answered as an
application's account may, acknowledged and never kept (``write``), so nothing an attacker sends
changes what the next one sees.
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
    er_1227_privilege,
)
from honeypods.mysql.sql.schema import SCHEMAS, SYSTEM_DATABASES, Schemas
from honeypods.mysql.sql.select import select
from honeypods.mysql.sql.session import Handler, SqlSession
from honeypods.mysql.sql.show import describe, show
from honeypods.mysql.sql.text import VERB, normalise, unquote, unquoted, version_id
from honeypods.mysql.sql.variables import set_statement
from honeypods.mysql.sql.write import HANDLERS as WRITES

# Databases USE may choose besides the application schemas.
_ALSO_USABLE: Final = ("information_schema", "performance_schema")


def answer(query: str, s: SqlSession) -> Ok | Err | ResultSet:
    """The reply to one COM_QUERY statement."""
    text = normalise(query, version_id(s.server_version))
    if not text:
        return ER_1065_EMPTY_QUERY
    semicolon = unquoted(text, ";")
    if semicolon >= 0:
        # A second statement: only clients that enable multi-statements may send one.
        return er_1064_parse(text[semicolon + 1 :].strip())
    verb, _, rest = text.partition(" ")
    if any(re.match(p, text, re.I) for p in s.removed_syntax):
        # A statement this build dropped: the parser stops at the word after the verb.
        return er_1064_parse(rest.strip())
    if not VERB.fullmatch(verb):
        m = VERB.match(verb)
        if m:
            verb, rest = m.group(0), text[m.end() :]
    handler = _HANDLERS.get(verb.lower())
    if handler is None:
        return er_1064_parse(text)
    return handler(rest.strip(), s, text)


def database_named(name: str, user: str, schemas: Schemas = SCHEMAS) -> str | Err:
    """The database a USE, COM_INIT_DB or login names, or the error MySQL refuses it with."""
    db = unquote(name.strip())
    if db in schemas or db in _ALSO_USABLE:
        return db
    if db in SYSTEM_DATABASES:
        return er_1044_db_access_denied(user, db)
    return er_1049_bad_db(db)


def use_database(name: str, s: SqlSession) -> Ok | Err:
    """USE and COM_INIT_DB."""
    db = database_named(name, s.user, s.schemas)
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


def _kill(rest: str, _s: SqlSession, _text: str) -> Err:
    return er_1094_no_such_thread(rest.rsplit(maxsplit=1)[-1] if rest else "")


def _needs(privilege: str) -> Handler:
    return lambda _rest, _s, _text: er_1227_privilege(privilege)


def _rollback(rest: str, s: SqlSession, text: str) -> Ok:
    # ROLLBACK TO [SAVEPOINT] x keeps the transaction open.
    return Ok() if rest[:2].lower() == "to" else _end(rest, s, text)


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
    "rollback": _rollback,
    "do": _ok,
    "savepoint": _ok,
    "release": _ok,
    "grant": _needs("CREATE USER"),
    "revoke": _needs("CREATE USER"),
    **WRITES,
    "kill": _kill,
    "shutdown": _needs("SHUTDOWN"),
}

"""What a logged-in MySQL connection answers, command by command.

Rules this module keeps:

* COM_QUERY goes to the SQL persona; with multi-statements on, each statement gets its own
  result, all but the last flagged SERVER_MORE_RESULTS_EXISTS, and the first error ends the query,
  as MySQL stops there.
* Prepared statements are remembered per connection (at most ``MAX_STATEMENTS``) and executed
  through the persona with binary rows; an unknown handle gets 1243 as from a real server.
* Commands the account lacks the privilege for are refused naming that privilege, as SHOW GRANTS
  would predict; anything unknown is 1047.
* Sans-IO: no asyncio, nothing of ``honeypods.core``. The adapter sends the replies and writes
  the ``mysql.command`` event from ``Answer``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from honeypods.mysql.codec.constants import CLIENT_MULTI_STATEMENTS, Com
from honeypods.mysql.codec.packets import (
    Command,
    Eof,
    FieldList,
    Ok,
    PrepareOk,
    Reply,
    ResultSet,
    Text,
)
from honeypods.mysql.errors import (
    ER_1047_UNKNOWN_COMMAND,
    ER_1461_MAX_PREPARED_STMT,
    Err,
    er_1094_no_such_thread,
    er_1227_privilege,
    er_1243_unknown_statement,
)
from honeypods.mysql.sql import SqlSession, answer, field_list, split_statements, use_database
from honeypods.mysql.sql.text import count_placeholders

# Prepared statements one connection may hold (MySQL's max_prepared_stmt_count is per server;
# this bounds one connection's memory).
MAX_STATEMENTS: Final = 64
# The names events record; an unknown code is written COM_0x.. by the adapter.
COMMAND_NAMES: Final = {int(c): c.name for c in Com}
# Commands this account lacks the privilege for, as SHOW GRANTS says; the error names it.
_PRIVILEGED: Final[dict[int, str]] = {
    Com.COM_SHUTDOWN: "SHUTDOWN",
    Com.COM_DEBUG: "SUPER",
    Com.COM_BINLOG_DUMP: "REPLICATION SLAVE",
    Com.COM_BINLOG_DUMP_GTID: "REPLICATION SLAVE",
    Com.COM_REGISTER_SLAVE: "REPLICATION SLAVE",
    Com.COM_CLONE: "BACKUP_ADMIN",
}
# COM_SET_OPTION's argument: MYSQL_OPTION_MULTI_STATEMENTS_ON (0) or _OFF (1), two bytes.
_MULTI_STATEMENTS_ON: Final = b"\0\0"
_MULTI_STATEMENTS_OFF: Final = b"\1\0"


@dataclass(slots=True)
class Answer:
    """The answer to one command, and what its ``mysql.command`` event records.

    Args:
        reply: the last (or only) reply; None when the protocol has none (COM_QUIT, COM_STMT_CLOSE).
        logged: the query text or argument, before the event's cap.
        earlier: results sent before ``reply`` (multi-statements), each with its server status.
        quit: the client said goodbye; close after this.
    """

    reply: Reply | None
    logged: str | bytes
    earlier: list[tuple[Reply, int]] | None = None
    quit: bool = False


# The usual goodbye, argument-less; shared, as nothing changes an Answer once made.
_QUIT: Final = Answer(None, b"", None, True)


class Commands:
    """The command phase of one connection.

    Args:
        sql: the session the login opened.
        capabilities: the client's capability flags (CLIENT_MULTI_STATEMENTS).
    """

    __slots__ = ("multi_statements", "next_statement", "sql", "statements")

    def __init__(self, sql: SqlSession, capabilities: int) -> None:
        self.statements: dict[int, str] = {}
        self.next_statement = 0
        self.sql = sql
        self.multi_statements = bool(capabilities & CLIENT_MULTI_STATEMENTS)

    def restart(self, sql: SqlSession, capabilities: int) -> None:
        """A COM_CHANGE_USER was accepted: a fresh session, without the old one's statements."""
        self.statements.clear()
        self.sql = sql
        self.multi_statements = bool(capabilities & CLIENT_MULTI_STATEMENTS)

    def answer(self, cmd: Command) -> Answer:
        """The reply to one command."""
        sql = self.sql
        code = cmd.command
        # COM_FIELD_LIST's table name ends in a NUL; keep the log readable.
        logged: str | bytes = cmd.argument.rstrip(b"\0")
        reply: Reply | None
        if code == Com.COM_QUERY:
            return self._query(cmd.argument.decode("utf-8", "replace"), logged)
        if code == Com.COM_QUIT:
            return _QUIT if not logged else Answer(None, logged, None, True)
        if code == Com.COM_INIT_DB:
            reply = use_database(cmd.argument.decode("utf-8", "replace"), sql)
        elif code in (Com.COM_PING, Com.COM_REFRESH):
            reply = Ok()  # COM_REFRESH is FLUSH, and the account has RELOAD
        elif code == Com.COM_RESET_CONNECTION:
            sql.autocommit, sql.in_transaction = True, False
            self.statements.clear()
            reply = Ok()
        elif code == Com.COM_FIELD_LIST:
            table = cmd.argument.split(b"\0", 1)[0].decode("utf-8", "replace")
            found = field_list(table, sql)
            reply = found if isinstance(found, Err) else FieldList(found)
        elif code == Com.COM_STATISTICS:
            reply = _statistics(sql)
        elif code == Com.COM_SET_OPTION and cmd.argument in (
            _MULTI_STATEMENTS_ON,
            _MULTI_STATEMENTS_OFF,
        ):
            self.multi_statements = cmd.argument == _MULTI_STATEMENTS_ON
            reply = Eof()
        elif code == Com.COM_STMT_PREPARE:
            reply = self._prepare(cmd.argument.decode("utf-8", "replace"))
        elif code == Com.COM_STMT_EXECUTE:
            reply = self._execute(cmd.argument)
            logged = self._statement(cmd.argument) or ""
        elif code == Com.COM_STMT_RESET:
            found_statement = self._statement(cmd.argument) is not None
            reply = Ok() if found_statement else _unknown_statement(cmd.argument, "reset")
        elif code == Com.COM_STMT_CLOSE:
            self.statements.pop(int.from_bytes(cmd.argument[:4], "little"), None)
            reply = None  # no answer, by protocol
        elif code == Com.COM_STMT_SEND_LONG_DATA:
            reply = None  # no answer, by protocol
        elif code == Com.COM_PROCESS_INFO:
            reply = answer("SHOW PROCESSLIST", sql)
        elif code == Com.COM_PROCESS_KILL and len(cmd.argument) == 4:
            reply = er_1094_no_such_thread(int.from_bytes(cmd.argument, "little"))
        elif code in _PRIVILEGED:
            reply = er_1227_privilege(_PRIVILEGED[code])
        else:
            reply = ER_1047_UNKNOWN_COMMAND
        return Answer(reply, logged)

    def _query(self, query: str, logged: str | bytes) -> Answer:
        sql = self.sql
        if not self.multi_statements:
            return Answer(answer(query, sql), logged)
        *first, last = split_statements(query)
        earlier: list[tuple[Reply, int]] = []
        for statement in first:
            reply = answer(statement, sql)
            if isinstance(reply, Err):
                return Answer(reply, logged, earlier)
            earlier.append((reply, sql.status))
        return Answer(answer(last, sql), logged, earlier)

    def _prepare(self, query: str) -> Reply:
        result = answer(query, self.sql)
        if isinstance(result, Err):
            return result
        if len(self.statements) >= MAX_STATEMENTS:
            return ER_1461_MAX_PREPARED_STMT
        self.next_statement += 1
        self.statements[self.next_statement] = query
        columns = result.columns if isinstance(result, ResultSet) else ()
        return PrepareOk(self.next_statement, count_placeholders(query), columns)

    def _statement(self, argument: bytes) -> str | None:
        if len(argument) < 4:
            return None
        return self.statements.get(int.from_bytes(argument[:4], "little"))

    def _execute(self, argument: bytes) -> Reply:
        query = self._statement(argument)
        if query is None:
            return _unknown_statement(argument, "execute")
        result = answer(query, self.sql)
        if isinstance(result, ResultSet):
            return ResultSet(result.columns, result.rows, binary=True)
        return result


def _unknown_statement(argument: bytes, command: str) -> Err:
    return er_1243_unknown_statement(int.from_bytes(argument[:4], "little"), command)


def _statistics(sql: SqlSession) -> Text:
    uptime = int(time.monotonic() - sql.started)
    questions = 40 + uptime // 7
    return Text(
        (
            f"Uptime: {uptime}  Threads: 2  Questions: {questions}  Slow queries: 0  "
            f"Opens: 187  Flush tables: 3  Open tables: 106  "
            f"Queries per second avg: {questions / max(uptime, 1):.3f}"
        ).encode()
    )

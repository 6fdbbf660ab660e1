"""Every error the MySQL decoy sends: the ERR packet, the codec's one exception and the catalogue.

Rules this module keeps:

* Each error is named after its code (``ER_1045_ACCESS_DENIED``-style, the number taken from
  MySQL's ``mysqld_error.h``): a constant when its text is fixed, an ``er_NNNN_*`` builder when the
  text names a user, a table or a value. A unit test checks that every name matches its code and
  that no other module of the decoy writes an error code of its own.
* Texts are MySQL 8.0's, byte for byte, and cut where its format strings cut them (``%-.48s`` for
  a user, ``%-.64s`` for a host, table or variable, ``%-.192s`` for a database or column).
* ``ProtocolError`` is the only exception the codec raises. It carries the ERR a real server
  answers that input with, as h11's ``error_status_hint`` does. ``LocalProtocolError`` is one of
  our own replies that the protocol does not allow at that point: a bug, never input.
* Standard library only: the codec, the persona, the auth policy and the adapter all import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Err:
    """ERR_Packet: the error number, its SQLSTATE and the text."""

    code: int
    sqlstate: str
    message: str


class ProtocolError(Exception):
    """Malformed or unexpected input. Carries the reply a real server would send before closing.

    Args:
        reply: the ERR to answer with (1043 bad handshake, 1153 packet too large, ...).
        hello: the login packet refused, when it could still be read (a pre-4.1 response), so the
            attempt is logged with the user it named.
    """

    def __init__(self, reply: Err, hello: object | None = None) -> None:
        super().__init__(f"{reply.code} ({reply.sqlstate}): {reply.message}")
        self.reply = reply
        self.hello = hello
        self.code = reply.code
        self.sqlstate = reply.sqlstate
        self.message = reply.message


class LocalProtocolError(ProtocolError, RuntimeError):
    """Our side asked for a step the protocol does not allow in this state: a programming error.

    It is a ``RuntimeError`` too, because no input can cause it; the guard logs it as a server
    error and the peer gets nothing.

    Args:
        what: the step that was refused, for the traceback.
    """

    def __init__(self, what: str) -> None:
        super().__init__(ER_1105_UNKNOWN_ERROR)
        self.args = (what,)


# -- connection and handshake: sent once, then the connection closes --------------------------------

ER_1043_BAD_HANDSHAKE: Final = Err(1043, "08S01", "Bad handshake")


def er_1045_access_denied(user: str, host: str, password_used: bool) -> Err:
    used = "YES" if password_used else "NO"
    message = f"Access denied for user '{user[:48]}'@'{host[:64]}' (using password: {used})"
    return Err(1045, "28000", message)


ER_1047_UNKNOWN_COMMAND: Final = Err(1047, "08S01", "Unknown command")
# ER_UNKNOWN_ERROR: what LocalProtocolError carries; it is never sent.
ER_1105_UNKNOWN_ERROR: Final = Err(1105, "HY000", "Unknown error")
ER_1153_PACKET_TOO_LARGE: Final = Err(
    1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"
)
ER_1156_PACKETS_OUT_OF_ORDER: Final = Err(1156, "08S01", "Got packets out of order")
ER_1157_UNCOMPRESS_ERROR: Final = Err(1157, "08S01", "Couldn't uncompress communication packet")
ER_1251_NOT_SUPPORTED_AUTH_MODE: Final = Err(
    1251,
    "08004",
    "Client does not support authentication protocol requested by server; consider upgrading "
    "MySQL client",
)
ER_1835_MALFORMED_PACKET: Final = Err(1835, "HY000", "Malformed communication packet.")

# -- commands and statements: the connection goes on ------------------------------------------------


def er_1044_db_access_denied(user: str, db: str) -> Err:
    return Err(1044, "42000", f"Access denied for user '{user[:48]}'@'%' to database '{db[:192]}'")


def er_1007_db_exists(db: str) -> Err:
    return Err(1007, "HY000", f"Can't create database '{db[:192]}'; database exists")


ER_1046_NO_DB: Final = Err(1046, "3D000", "No database selected")


def er_1049_bad_db(db: str) -> Err:
    return Err(1049, "42000", f"Unknown database '{db[:192]}'")


def er_1054_bad_field(name: str) -> Err:
    return Err(1054, "42S22", f"Unknown column '{name[:192]}' in 'field list'")


def er_1064_parse(near: str) -> Err:
    return Err(
        1064,
        "42000",
        "You have an error in your SQL syntax; check the manual that corresponds to your MySQL "
        f"server version for the right syntax to use near '{near[:80]}' at line 1",
    )


ER_1065_EMPTY_QUERY: Final = Err(1065, "42000", "Query was empty")


def er_1094_no_such_thread(thread: int | str) -> Err:
    return Err(1094, "HY000", f"Unknown thread id: {thread}")


def er_1142_table_denied(user: str, host: str, verb: str, table: str) -> Err:
    return Err(
        1142,
        "42000",
        f"{verb} command denied to user '{user[:48]}'@'{host[:64]}' for table '{table[:64]}'",
    )


def er_1146_no_table(db: str, table: str) -> Err:
    return Err(1146, "42S02", f"Table '{db[:64]}.{table[:64]}' doesn't exist")


def er_1193_unknown_variable(name: str) -> Err:
    return Err(1193, "HY000", f"Unknown system variable '{name[:64]}'")


ER_1222_WRONG_NUMBER_OF_COLUMNS: Final = Err(
    1222, "21000", "The used SELECT statements have a different number of columns"
)


def er_1227_privilege(privileges: str) -> Err:
    return Err(
        1227,
        "42000",
        f"Access denied; you need (at least one of) the {privileges} privilege(s) for this "
        "operation",
    )


def er_1243_unknown_statement(statement: int, command: str) -> Err:
    return Err(
        1243,
        "HY000",
        f"Unknown prepared statement handler ({statement}) given to mysqld_stmt_{command}",
    )


ER_1461_MAX_PREPARED_STMT: Final = Err(
    1461,
    "42000",
    "Can't create more than max_prepared_stmt_count statements (current value: 16382)",
)
ER_3948_LOCAL_INFILE_DISABLED: Final = Err(
    3948,
    "42000",
    "Loading local data is disabled; this must be enabled on both the client and server sides",
)

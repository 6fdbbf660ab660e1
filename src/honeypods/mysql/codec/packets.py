"""The codec's vocabulary: events (client to server) and replies (server to client).

Frozen dataclasses named after the spec's packets, as h11 and wsproto name theirs. Events are what
``Connection.next_event()`` returns; replies are what ``Connection.send()`` takes. ``Err`` lives in
``mysql.errors`` with the catalogue of every error the decoy sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from honeypods.mysql.codec.constants import (
    CACHING_SHA2,
    COLLATION_UTF8MB4_0900_AI_CI,
    SERVER_CAPABILITIES,
    SERVER_STATUS_AUTOCOMMIT,
    FieldType,
)
from honeypods.mysql.errors import Err


class NeedData:
    """The type of ``NEED_DATA``."""

    def __repr__(self) -> str:
        return "NEED_DATA"


# What next_event() returns while a packet is incomplete.
NEED_DATA: Final = NeedData()


# -- events (client to server) ----------------------------------------------------------------------


@dataclass(frozen=True)
class HandshakeResponse:
    capabilities: int
    max_packet_size: int
    collation: int
    user: bytes
    auth_response: bytes
    database: bytes | None
    plugin: str
    attrs: tuple[tuple[str, str], ...] = ()
    # Sent as COM_CHANGE_USER after a login rather than as the handshake's response.
    change_user: bool = False


@dataclass(frozen=True)
class SSLRequest:
    capabilities: int
    collation: int


@dataclass(frozen=True)
class AuthData:
    data: bytes


@dataclass(frozen=True)
class Command:
    command: int
    argument: bytes
    # Query attributes (name, raw binary value) sent before a COM_QUERY's text.
    attributes: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class ConnectionClosed:
    pass


Event = HandshakeResponse | SSLRequest | AuthData | Command | ConnectionClosed


# -- replies (server to client) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Greeting:
    server_version: str
    connection_id: int
    salt: bytes  # 20 bytes
    plugin: str = CACHING_SHA2
    capabilities: int = SERVER_CAPABILITIES
    collation: int = COLLATION_UTF8MB4_0900_AI_CI
    status: int = SERVER_STATUS_AUTOCOMMIT


@dataclass(frozen=True)
class AuthSwitch:
    plugin: str
    data: bytes


@dataclass(frozen=True)
class AuthMoreData:
    data: bytes


@dataclass(frozen=True)
class Ok:
    affected_rows: int = 0
    last_insert_id: int = 0
    warnings: int = 0
    info: bytes = b""
    # Session-state-change data (session tracking), sent only to clients that asked for it.
    session_state: bytes = b""


@dataclass(frozen=True)
class Eof:
    warnings: int = 0


@dataclass(frozen=True)
class Text:
    """A bare string packet: the answer to COM_STATISTICS."""

    data: bytes


@dataclass(frozen=True)
class Column:
    name: str
    type: int = FieldType.MYSQL_TYPE_VAR_STRING
    length: int = 256
    flags: int = 0
    decimals: int = 0
    table: str = ""
    org_table: str = ""
    schema: str = ""
    org_name: str = ""
    # None: the connection's collation (character_set_results); numbers use binary.
    collation: int | None = None
    default: str | None = None


@dataclass(frozen=True)
class ResultSet:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str | None, ...], ...] = ()
    # Binary protocol rows, the answer to COM_STMT_EXECUTE.
    binary: bool = False


@dataclass(frozen=True)
class FieldList:
    """The answer to COM_FIELD_LIST: column definitions with defaults, then EOF."""

    columns: tuple[Column, ...]


@dataclass(frozen=True)
class PrepareOk:
    statement_id: int
    params: int
    columns: tuple[Column, ...] = ()


Reply = AuthSwitch | AuthMoreData | Ok | Err | Eof | Text | ResultSet | FieldList | PrepareOk

"""Sans-IO codec for the server side of the MySQL client/server protocol.

No sockets, no asyncio, no clock, no logging: bytes in, events out; replies in, bytes out. The API
follows h11 and wsproto:

* ``Connection.greet(greeting)`` returns the HandshakeV10 bytes to send first.
* ``receive_data(data)`` buffers what the peer sent; ``b""`` means the peer closed (EOF).
* ``next_event()`` returns one event (``HandshakeResponse``, ``SSLRequest``, ``AuthData``,
  ``Command``, ``ConnectionClosed``) or ``NEED_DATA``.
* ``send(reply)`` turns one reply (``AuthSwitch``, ``AuthMoreData``, ``Ok``, ``Err``,
  ``ResultSet``, ``FieldList``, ``Eof``, ``Text``, ``PrepareOk``) into the packets to write.

States and their rules (one transition table, ``_TRANSITIONS``):

* Rule 1. ``GREETING -> HANDSHAKE`` when the greeting is sent. In ``HANDSHAKE`` the next packet is
  parsed as a HandshakeResponse41, then the state is ``AUTH``. An SSLRequest (only if the greeting
  offered CLIENT_SSL, and only once) keeps ``HANDSHAKE``: the adapter runs TLS and feeds the
  decrypted bytes back, and ``take_buffered()`` hands it what arrived after the request.
* Rule 2. In ``AUTH`` every client packet is opaque ``AuthData`` for the auth plugin; the server
  answers with ``AuthSwitch``/``AuthMoreData`` (stay), ``Ok`` (to ``COMMAND``) or ``Err`` (to
  ``CLOSED``).
* Rule 3. In ``COMMAND`` every packet is a ``Command`` with sequence id 0; replies keep the state.
* Rule 4. Sequence ids are checked: a wrong one is ``ProtocolError`` 1156, as a real server says.
* Rule 5. Any malformed input raises ``ProtocolError`` carrying the error code and SQLSTATE a real
  server would answer with, and nothing else ever escapes. Every read is bounds-checked; a packet
  is consumed only when it is complete (transactional reads), so short input is ``NEED_DATA`` and
  never a loop. A packet over ``max_packet_size`` is refused from its header alone.

zlib compression is the codec's (it frames bytes); TLS is the adapter's.
"""

from __future__ import annotations

import enum
import functools
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

# -- wire constants (names as in the MySQL source, include/mysql_com.h) -------------------------------


class Capability(enum.IntFlag):
    CLIENT_LONG_PASSWORD = 1
    CLIENT_FOUND_ROWS = 1 << 1
    CLIENT_LONG_FLAG = 1 << 2
    CLIENT_CONNECT_WITH_DB = 1 << 3
    CLIENT_NO_SCHEMA = 1 << 4
    CLIENT_COMPRESS = 1 << 5
    CLIENT_ODBC = 1 << 6
    CLIENT_LOCAL_FILES = 1 << 7
    CLIENT_IGNORE_SPACE = 1 << 8
    CLIENT_PROTOCOL_41 = 1 << 9
    CLIENT_INTERACTIVE = 1 << 10
    CLIENT_SSL = 1 << 11
    CLIENT_IGNORE_SIGPIPE = 1 << 12
    CLIENT_TRANSACTIONS = 1 << 13
    CLIENT_RESERVED = 1 << 14
    CLIENT_SECURE_CONNECTION = 1 << 15
    CLIENT_MULTI_STATEMENTS = 1 << 16
    CLIENT_MULTI_RESULTS = 1 << 17
    CLIENT_PS_MULTI_RESULTS = 1 << 18
    CLIENT_PLUGIN_AUTH = 1 << 19
    CLIENT_CONNECT_ATTRS = 1 << 20
    CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
    CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22
    CLIENT_SESSION_TRACK = 1 << 23
    CLIENT_DEPRECATE_EOF = 1 << 24
    CLIENT_OPTIONAL_RESULTSET_METADATA = 1 << 25
    CLIENT_ZSTD_COMPRESSION_ALGORITHM = 1 << 26
    CLIENT_QUERY_ATTRIBUTES = 1 << 27
    MULTI_FACTOR_AUTHENTICATION = 1 << 28
    CLIENT_CAPABILITY_EXTENSION = 1 << 29
    CLIENT_SSL_VERIFY_SERVER_CERT = 1 << 30
    CLIENT_REMEMBER_OPTIONS = 1 << 31


# What MySQL 8.0 advertises (0xdfffffff with TLS) minus what we do not implement: TLS and zstd
# compression (zlib compression is implemented).
SERVER_CAPABILITIES: Final = int(
    0xDFFFFFFF & ~Capability.CLIENT_SSL & ~Capability.CLIENT_ZSTD_COMPRESSION_ALGORITHM
)
# Payloads shorter than this are sent uncompressed even when compression is on (MIN_COMPRESS_LENGTH).
MIN_COMPRESS_LENGTH: Final = 50


class Status(enum.IntFlag):
    SERVER_STATUS_IN_TRANS = 1
    SERVER_STATUS_AUTOCOMMIT = 2
    SERVER_MORE_RESULTS_EXISTS = 8
    SERVER_STATUS_NO_INDEX_USED = 32
    SERVER_SESSION_STATE_CHANGED = 1 << 14


class Com(enum.IntEnum):
    COM_SLEEP = 0x00
    COM_QUIT = 0x01
    COM_INIT_DB = 0x02
    COM_QUERY = 0x03
    COM_FIELD_LIST = 0x04
    COM_CREATE_DB = 0x05
    COM_DROP_DB = 0x06
    COM_REFRESH = 0x07
    COM_SHUTDOWN = 0x08
    COM_STATISTICS = 0x09
    COM_PROCESS_INFO = 0x0A
    COM_CONNECT = 0x0B
    COM_PROCESS_KILL = 0x0C
    COM_DEBUG = 0x0D
    COM_PING = 0x0E
    COM_TIME = 0x0F
    COM_DELAYED_INSERT = 0x10
    COM_CHANGE_USER = 0x11
    COM_BINLOG_DUMP = 0x12
    COM_TABLE_DUMP = 0x13
    COM_CONNECT_OUT = 0x14
    COM_REGISTER_SLAVE = 0x15
    COM_STMT_PREPARE = 0x16
    COM_STMT_EXECUTE = 0x17
    COM_STMT_SEND_LONG_DATA = 0x18
    COM_STMT_CLOSE = 0x19
    COM_STMT_RESET = 0x1A
    COM_SET_OPTION = 0x1B
    COM_STMT_FETCH = 0x1C
    COM_DAEMON = 0x1D
    COM_BINLOG_DUMP_GTID = 0x1E
    COM_RESET_CONNECTION = 0x1F
    COM_CLONE = 0x20


class FieldType(enum.IntEnum):
    MYSQL_TYPE_LONG = 0x03
    MYSQL_TYPE_LONGLONG = 0x08
    MYSQL_TYPE_DATETIME = 0x0C
    MYSQL_TYPE_VARCHAR = 0x0F
    MYSQL_TYPE_JSON = 0xF5
    MYSQL_TYPE_BLOB = 0xFC
    MYSQL_TYPE_VAR_STRING = 0xFD
    MYSQL_TYPE_STRING = 0xFE


class FieldFlag(enum.IntFlag):
    NOT_NULL_FLAG = 1
    PRI_KEY_FLAG = 2
    UNIQUE_KEY_FLAG = 4
    MULTIPLE_KEY_FLAG = 8
    BLOB_FLAG = 16
    UNSIGNED_FLAG = 32
    BINARY_FLAG = 128
    AUTO_INCREMENT_FLAG = 512
    NUM_FLAG = 32768


# Plain-int copies of the flags tested on every packet: IntFlag arithmetic costs microseconds.
_PROTOCOL_41: Final = int(Capability.CLIENT_PROTOCOL_41)
_SSL: Final = int(Capability.CLIENT_SSL)
_SECURE_CONNECTION: Final = int(Capability.CLIENT_SECURE_CONNECTION)
_CONNECT_WITH_DB: Final = int(Capability.CLIENT_CONNECT_WITH_DB)
_PLUGIN_AUTH: Final = int(Capability.CLIENT_PLUGIN_AUTH)
_LENENC_CLIENT_DATA: Final = int(Capability.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
_CONNECT_ATTRS: Final = int(Capability.CLIENT_CONNECT_ATTRS)
_DEPRECATE_EOF: Final = int(Capability.CLIENT_DEPRECATE_EOF)
_SESSION_TRACK: Final = int(Capability.CLIENT_SESSION_TRACK)
_QUERY_ATTRIBUTES: Final = int(Capability.CLIENT_QUERY_ATTRIBUTES)
_OPTIONAL_METADATA: Final = int(Capability.CLIENT_OPTIONAL_RESULTSET_METADATA)
_COMPRESS: Final = int(Capability.CLIENT_COMPRESS)
_SESSION_STATE_CHANGED: Final = int(Status.SERVER_SESSION_STATE_CHANGED)
_MORE_RESULTS: Final = int(Status.SERVER_MORE_RESULTS_EXISTS)

# utf8mb4_0900_ai_ci, MySQL 8.0's default collation; 63 is binary.
COLLATION_UTF8MB4_0900_AI_CI: Final = 255
COLLATION_BINARY: Final = 63
# A packet whose length field is all ones continues in the next packet (protocol limit).
MAX_PAYLOAD: Final = 0xFFFFFF
# A packet header: 3 bytes of length, then the sequence id, as one little-endian word.
_HEADER: Final = struct.Struct("<I")
# HandshakeResponse41's fixed part: capabilities, max packet size, collation, 23 bytes of filler.
_HELLO_HEAD: Final = struct.Struct("<IIB23x")
# MySQL's own default for max_allowed_packet is 64 MiB; a decoy needs far less.
DEFAULT_MAX_PACKET_SIZE: Final = 1 << 20
# USERNAME_CHAR_LENGTH (32) times the widest utf8mb4 character; longer names are not MySQL's.
MAX_USER_BYTES: Final = 128
MAX_ATTRS: Final = 128


class ProtocolError(Exception):
    """Malformed or unexpected input. Carries the reply a real server would send before closing.

    Args:
        code: MySQL error number (1043 bad handshake, 1153 packet too large, 1156 out of order).
        sqlstate: five-character SQLSTATE.
        message: the server's error text.
    """

    def __init__(self, code: int, sqlstate: str, message: str) -> None:
        super().__init__(f"{code} ({sqlstate}): {message}")
        self.code = code
        self.sqlstate = sqlstate
        self.message = message


def _bad_handshake() -> ProtocolError:
    return ProtocolError(1043, "08S01", "Bad handshake")


def _unknown_command() -> ProtocolError:
    return ProtocolError(1047, "08S01", "Unknown command")


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


class State(enum.Enum):
    GREETING = "greeting"  # nothing sent yet
    HANDSHAKE = "handshake"  # greeting sent, waiting for the HandshakeResponse
    AUTH = "auth"  # response received; the auth plugin's dialogue runs
    COMMAND = "command"  # logged in
    CLOSED = "closed"  # refused, quit or EOF

    # Members are singletons compared by identity; Enum's own __hash__ runs in Python on every
    # transition-table lookup.
    __hash__ = object.__hash__


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
    plugin: str = "caching_sha2_password"
    capabilities: int = SERVER_CAPABILITIES
    collation: int = COLLATION_UTF8MB4_0900_AI_CI
    status: int = Status.SERVER_STATUS_AUTOCOMMIT


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
class Err:
    code: int
    sqlstate: str
    message: str


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

_TRANSITIONS: Final[dict[tuple[State, type], State]] = {
    (State.GREETING, Greeting): State.HANDSHAKE,
    (State.HANDSHAKE, Err): State.CLOSED,
    (State.AUTH, AuthSwitch): State.AUTH,
    (State.AUTH, AuthMoreData): State.AUTH,
    (State.AUTH, Ok): State.COMMAND,
    (State.AUTH, Err): State.CLOSED,
    **{
        (State.COMMAND, kind): State.COMMAND
        for kind in (Ok, Err, Eof, Text, ResultSet, FieldList, PrepareOk)
    },
}


# -- integers and strings ---------------------------------------------------------------------------


def lenenc_int(n: int) -> bytes:
    if n < 0xFB:
        return bytes((n,))
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def lenenc_str(data: bytes) -> bytes:
    return lenenc_int(len(data)) + data


class _Reader:
    """Bounds-checked reads over one complete payload; short input raises ``ProtocolError``.

    The error is made only when raised: building an exception per packet cost a good share of
    parsing one."""

    __slots__ = ("data", "error", "pos")

    def __init__(self, data: bytes, error: Callable[[], ProtocolError]) -> None:
        self.data = data
        self.pos = 0
        self.error = error

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise self.error()
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def read_int(self, n: int) -> int:
        return int.from_bytes(self.read(n), "little")

    def read_lenenc_int(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise self.error()
        first = self.data[pos]
        self.pos = pos + 1
        if first < 0xFB:
            return first
        if first == 0xFC:
            return self.read_int(2)
        if first == 0xFD:
            return self.read_int(3)
        if first == 0xFE:
            return self.read_int(8)
        raise self.error()  # 0xFB (NULL) and 0xFF are not lengths

    def read_lenenc_str(self) -> bytes:
        return self.read(self.read_lenenc_int())

    def read_null_str(self) -> bytes:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise self.error()
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out

    def read_rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


# -- parsers ----------------------------------------------------------------------------------------


def parse_handshake_response(payload: bytes) -> HandshakeResponse | SSLRequest:
    """Parse a HandshakeResponse41 (or the SSLRequest that precedes TLS).

    ====== ========================== ==============================================
    offset field                      notes
    ====== ========================== ==============================================
    0      capability flags (4)       CLIENT_PROTOCOL_41 required by MySQL 8.0
    4      max packet size (4)
    8      collation (1)
    9      filler (23)                an SSLRequest ends here (32 bytes)
    32     user (NUL-terminated)
    ...    auth response              lenenc, or 1-byte length, or NUL-terminated
    ...    database (NUL-terminated)  if CLIENT_CONNECT_WITH_DB
    ...    plugin name (NUL-term.)    if CLIENT_PLUGIN_AUTH; may lack its NUL
    ...    attributes (lenenc total)  if CLIENT_CONNECT_ATTRS: lenenc key/value pairs
    ====== ========================== ==============================================

    Raises:
        ProtocolError: 1043 Bad handshake for anything short, truncated or pre-4.1.
    """
    r = _Reader(payload, _bad_handshake)
    if len(payload) < 4:
        raise r.error()
    caps = r.read_int(4)
    if not caps & _PROTOCOL_41:
        raise r.error()
    if len(payload) < _HELLO_HEAD.size:
        raise r.error()
    _caps, max_packet, collation = _HELLO_HEAD.unpack_from(payload)
    r.pos = _HELLO_HEAD.size
    if r.remaining() == 0:
        if caps & _SSL:
            return SSLRequest(caps, collation)
        raise r.error()
    user = r.read_null_str()
    if len(user) > MAX_USER_BYTES:
        raise r.error()
    if caps & _LENENC_CLIENT_DATA:
        auth = r.read_lenenc_str()
    elif caps & _SECURE_CONNECTION:
        auth = r.read(r.read_int(1))
    else:
        auth = r.read_null_str()
    database = None
    if caps & _CONNECT_WITH_DB and r.remaining():
        database = r.read_null_str()
    plugin = b""
    if caps & _PLUGIN_AUTH and r.remaining():
        # Some clients end the name at the end of the packet instead of with a NUL.
        end = payload.find(b"\0", r.pos)
        plugin = r.read_null_str() if end >= 0 else r.read_rest()
    attrs: list[tuple[str, str]] = []
    if caps & _CONNECT_ATTRS and r.remaining():
        block = _Reader(r.read_lenenc_str(), r.error)
        while block.remaining():
            key = block.read_lenenc_str()
            value = block.read_lenenc_str()
            if len(attrs) < MAX_ATTRS:
                attrs.append((_text(key), _text(value)))
    return HandshakeResponse(
        capabilities=caps,
        max_packet_size=max_packet,
        collation=collation,
        user=user,
        auth_response=auth,
        database=database,
        plugin=_text(plugin),
        attrs=tuple(attrs),
    )


# Binary value sizes by field type; types not listed are length-encoded strings, and the
# temporal types carry a one-byte length (the binary protocol, as COM_STMT_EXECUTE uses it).
_FIXED_SIZES: Final = {6: 0, 1: 1, 2: 2, 13: 2, 3: 4, 9: 4, 4: 4, 8: 8, 5: 8}
_TEMPORAL: Final = frozenset((7, 10, 11, 12))
_LENENC_TYPES: Final = frozenset((0, 15, 16, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255))


def _malformed() -> ProtocolError:
    return ProtocolError(1835, "HY000", "Malformed communication packet.")


def parse_query_with_attributes(payload: bytes) -> Command:
    """COM_QUERY when CLIENT_QUERY_ATTRIBUTES is on.

    ====== =============================== ==========================================
    offset field                           notes
    ====== =============================== ==========================================
    0      0x03                            COM_QUERY
    1      parameter count (lenenc)
    ...    parameter set count (lenenc)    always 1
    ...    NULL bitmap ((count + 7) / 8)   only when count > 0, as are the next three
    ...    new-params-bound flag (1)       always 1
    ...    type (2) + name (lenenc)        per parameter
    ...    values                          binary protocol, non-NULL parameters only
    ...    query text                      to the end of the packet
    ====== =============================== ==========================================

    Raises:
        ProtocolError: 1835 Malformed communication packet.
    """
    r = _Reader(payload, _malformed)
    r.read(1)
    count = r.read_lenenc_int()
    r.read_lenenc_int()
    attributes: list[tuple[str, bytes]] = []
    if count:
        if count > r.remaining():
            raise r.error()  # every parameter takes at least one byte
        nulls = r.read((count + 7) // 8)
        if r.read_int(1) != 1:
            raise r.error()
        params = [(r.read_int(2) & 0xFF, r.read_lenenc_str()) for _ in range(count)]
        for i, (kind, name) in enumerate(params):
            if nulls[i // 8] & (1 << (i % 8)):
                value = b""
            elif kind in _FIXED_SIZES:
                value = r.read(_FIXED_SIZES[kind])
            elif kind in _TEMPORAL:
                value = r.read(r.read_int(1))
            elif kind in _LENENC_TYPES:
                value = r.read_lenenc_str()
            else:
                raise r.error()
            if len(attributes) < MAX_ATTRS:
                attributes.append((_text(name), value))
    return Command(Com.COM_QUERY, r.read_rest(), tuple(attributes))


def parse_change_user(payload: bytes, caps: int, collation: int) -> HandshakeResponse:
    """COM_CHANGE_USER: a login inside a session, shaped by the handshake's capabilities.

    ====== ========================== ==============================================
    offset field                      notes
    ====== ========================== ==============================================
    0      0x11                       COM_CHANGE_USER
    1      user (NUL-terminated)
    ...    auth response              1-byte length, or NUL-terminated
    ...    database (NUL-terminated)
    ...    collation (2)              optional from here on
    ...    plugin name (NUL-term.)    if CLIENT_PLUGIN_AUTH
    ...    attributes (lenenc total)  if CLIENT_CONNECT_ATTRS
    ====== ========================== ==============================================

    Raises:
        ProtocolError: 1047 Unknown command, as MySQL answers a change-user it cannot read.
    """
    r = _Reader(payload, _unknown_command)
    r.read(1)
    user = r.read_null_str()
    if len(user) > MAX_USER_BYTES:
        raise r.error()
    auth = r.read(r.read_int(1)) if caps & _SECURE_CONNECTION else r.read_null_str()
    database = r.read_null_str()
    if r.remaining() >= 2:
        collation = r.read_int(2) & 0xFF or collation
    plugin = b""
    if caps & _PLUGIN_AUTH and r.remaining():
        end = payload.find(b"\0", r.pos)
        plugin = r.read_null_str() if end >= 0 else r.read_rest()
    attrs: list[tuple[str, str]] = []
    if caps & _CONNECT_ATTRS and r.remaining():
        block = _Reader(r.read_lenenc_str(), r.error)
        while block.remaining():
            key, value = block.read_lenenc_str(), block.read_lenenc_str()
            if len(attrs) < MAX_ATTRS:
                attrs.append((_text(key), _text(value)))
    return HandshakeResponse(
        capabilities=caps,
        max_packet_size=0,
        collation=collation,
        user=user,
        auth_response=auth,
        database=database or None,
        plugin=_text(plugin),
        attrs=tuple(attrs),
        change_user=True,
    )


# -- builders ---------------------------------------------------------------------------------------


def make_greeting(g: Greeting) -> bytes:
    """HandshakeV10 payload, byte for byte what MySQL 8.0 sends."""
    head, middle, tail = _greeting_parts(
        g.server_version,
        int(g.capabilities),
        g.collation,
        int(g.status),
        g.plugin,
        salt_len=len(g.salt),
    )
    return b"".join(
        (
            head,  # protocol version 10, server version
            g.connection_id.to_bytes(4, "little"),  # thread id
            g.salt[:8],  # auth-plugin-data-part-1
            middle,
            g.salt[8:],  # auth-plugin-data-part-2
            tail,
        )
    )


@functools.lru_cache(maxsize=8)
def _greeting_parts(
    version: str, caps: int, collation: int, status: int, plugin: str, *, salt_len: int
) -> tuple[bytes, bytes, bytes]:
    # The fixed parts of every greeting, built once: only the id and the salt change.
    head = b"\x0a" + version.encode() + b"\0"  # protocol version, server version
    middle = b"".join(
        (
            b"\0",  # filler
            (caps & 0xFFFF).to_bytes(2, "little"),  # capability flags, lower
            bytes((collation,)),  # character set
            status.to_bytes(2, "little"),  # status flags
            (caps >> 16).to_bytes(2, "little"),  # capability flags, upper
            bytes((salt_len + 1,)),  # auth-plugin-data length
            b"\0" * 10,  # reserved
        )
    )
    tail = b"\0" + plugin.encode() + b"\0"  # salt's NUL, auth plugin name
    return head, middle, tail


@functools.lru_cache(maxsize=256)
def make_column(c: Column, collation: int, with_default: bool = False) -> bytes:
    """ColumnDefinition41 payload."""
    numeric = c.type in (FieldType.MYSQL_TYPE_LONG, FieldType.MYSQL_TYPE_LONGLONG)
    charset = COLLATION_BINARY if numeric else collation
    if c.collation is not None:
        charset = c.collation
    out = b"".join(
        (
            lenenc_str(b"def"),  # catalog
            lenenc_str(c.schema.encode()),  # schema
            lenenc_str(c.table.encode()),  # table (alias)
            lenenc_str(c.org_table.encode()),  # org_table
            lenenc_str(c.name.encode()),  # name (alias)
            lenenc_str(c.org_name.encode()),  # org_name
            b"\x0c",  # length of the fixed fields
            charset.to_bytes(2, "little"),  # character set
            c.length.to_bytes(4, "little"),  # column length
            bytes((c.type,)),  # type
            int(c.flags).to_bytes(2, "little"),  # flags
            bytes((c.decimals,)),  # decimals
            b"\0\0",  # filler
        )
    )
    if with_default:
        out += b"\xfb" if c.default is None else lenenc_str(c.default.encode())
    return out


def make_err(code: int, sqlstate: str, message: str, protocol_41: bool = True) -> bytes:
    head = b"\xff" + code.to_bytes(2, "little")
    if protocol_41:
        head += b"#" + sqlstate.encode()[:5]
    return head + message.encode("utf-8", "backslashreplace")


_INTEGER_SIZES: Final[dict[int, int]] = {
    FieldType.MYSQL_TYPE_LONG: 4,
    FieldType.MYSQL_TYPE_LONGLONG: 8,
}


def _binary_row(columns: tuple[Column, ...], row: tuple[str | None, ...]) -> bytes:
    """Binary protocol row: 0x00, a NULL bitmap offset by 2 bits, then the non-NULL values."""
    bitmap = bytearray((len(columns) + 7 + 2) // 8)
    values = []
    for i, (column, value) in enumerate(zip(columns, row, strict=True)):
        if value is None:
            bitmap[(i + 2) // 8] |= 1 << ((i + 2) % 8)
            continue
        size = _INTEGER_SIZES.get(column.type)
        if size is not None:
            values.append(int(value).to_bytes(size, "little", signed=int(value) < 0))
        else:
            values.append(lenenc_str(value.encode("utf-8")))
    return b"\x00" + bytes(bitmap) + b"".join(values)


# -- the connection ---------------------------------------------------------------------------------


class Connection:
    """Server side of one MySQL connection.

    Args:
        max_packet_size: largest payload (continuations included) accepted from the client.
    """

    def __init__(self, *, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        self.max_packet_size = max_packet_size
        self.state = State.GREETING
        self.server_capabilities = SERVER_CAPABILITIES
        self.client_capabilities = 0
        self.deprecate_eof = self.session_track = self.query_attributes = False
        self.optional_metadata = self.compress = self.protocol_41 = False
        self.collation = COLLATION_UTF8MB4_0900_AI_CI
        # Server status flags sent in OK and EOF packets; the adapter flips autocommit etc.
        self.status = int(Status.SERVER_STATUS_AUTOCOMMIT)
        self._buf = bytearray()
        self._eof = False
        self._seq = 0  # next sequence id, in either direction
        # Compression (CLIENT_COMPRESS): raw input waiting to be inflated, and its sequence id.
        self._compressed = False
        self._raw = bytearray()
        self._cseq = 0
        self.tls_started = False
        self._more = 0

    # -- properties negotiated in the handshake ------------------------------------------------------

    def _negotiate(self, client: int) -> None:
        # Worked out once per connection; the packet paths read these booleans.
        self.client_capabilities = client
        both = self.server_capabilities & client
        self.deprecate_eof = bool(both & _DEPRECATE_EOF)
        self.session_track = bool(both & _SESSION_TRACK)
        self.query_attributes = bool(both & _QUERY_ATTRIBUTES)
        self.optional_metadata = bool(both & _OPTIONAL_METADATA)
        self.compress = bool(both & _COMPRESS)
        self.protocol_41 = bool(client & _PROTOCOL_41)

    # -- input ---------------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` marks the end of input."""
        if data:
            if not self._eof:
                if self._compressed:
                    self._raw += data
                else:
                    self._buf += data
        else:
            self._eof = True

    def take_buffered(self) -> bytes:
        """Bytes received but not parsed: after an SSLRequest, the start of the TLS handshake."""
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def _inflate(self) -> None:
        """Move every complete compressed packet from ``_raw`` into ``_buf``, decompressed.

        ====== ======================== ===============================================
        offset field                    notes
        ====== ======================== ===============================================
        0      compressed length (3)
        3      compressed sequence (1)  counts compressed packets, reset per command
        4      uncompressed length (3)  0: the payload was sent as it is
        7      payload                  zlib data, or raw; holds ordinary packets
        ====== ======================== ===============================================
        """
        raw = self._raw
        while len(raw) >= 7:
            length = raw[0] | raw[1] << 8 | raw[2] << 16
            seq = raw[3]
            plain = raw[4] | raw[5] << 8 | raw[6] << 16
            if max(length, plain) + len(self._buf) > self.max_packet_size + 4:
                raise ProtocolError(
                    1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"
                )
            expected = 0 if self.state is State.COMMAND and not self._buf else self._cseq
            if seq != expected:
                raise ProtocolError(1156, "08S01", "Got packets out of order")
            if len(raw) < 7 + length:
                return
            body = bytes(raw[7 : 7 + length])
            del raw[: 7 + length]
            self._cseq = (seq + 1) & 0xFF
            if plain:
                inflater = zlib.decompressobj()
                try:
                    body = inflater.decompress(body, plain)
                except zlib.error:
                    body = b""
                if len(body) != plain or inflater.unconsumed_tail:
                    raise ProtocolError(1157, "08S01", "Couldn't uncompress communication packet")
            self._buf += body

    def _take_packet(self) -> tuple[int, bytes] | None:
        """One logical packet (continuations joined), or None if it is not all here yet.

        Nothing is consumed until the whole packet is buffered, so a short read leaves the buffer
        as it was (the transactional read).
        """
        if self._compressed:
            self._inflate()
        buf = self._buf
        seq = self._expected_seq()
        if len(buf) >= 4:
            # The usual case, a whole packet in one piece, without the general loop below.
            length = buf[0] | buf[1] << 8 | buf[2] << 16
            end = 4 + length
            if buf[3] == seq and length < MAX_PAYLOAD and length <= self.max_packet_size:
                if len(buf) < end:
                    return None
                payload = bytes(buf[4:end])
                del buf[:end]
                self._seq = (seq + 1) & 0xFF
                return seq, payload
        pos = 0
        parts: list[bytes] = []
        total = 0
        first_seq = -1
        while True:
            if len(buf) - pos < 4:
                return None
            length = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            got_seq = buf[pos + 3]
            total += length
            if total > self.max_packet_size or got_seq != seq:
                # The error answers this packet, whatever happens to the rest of it.
                self._seq = (got_seq + 1) & 0xFF
            if total > self.max_packet_size:
                raise ProtocolError(
                    1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"
                )
            if got_seq != seq:
                raise ProtocolError(1156, "08S01", "Got packets out of order")
            if first_seq < 0:
                first_seq = got_seq
            if len(buf) - pos - 4 < length:
                return None
            parts.append(bytes(buf[pos + 4 : pos + 4 + length]))
            pos += 4 + length
            seq = (seq + 1) & 0xFF
            if length < MAX_PAYLOAD:
                break
        del buf[:pos]
        self._seq = seq
        return first_seq, b"".join(parts)

    def _expected_seq(self) -> int:
        # Each command starts a new exchange at 0; inside the handshake the count carries on.
        return 0 if self.state is State.COMMAND else self._seq

    def next_event(self) -> Event | _NeedData:
        """The next event, or ``NEED_DATA``.

        Raises:
            ProtocolError: the input is malformed; send ``Err`` from it, then close.
        """
        if self.state is State.CLOSED:
            return ConnectionClosed()
        if self.state is State.GREETING:
            # Bytes before the greeting are read as the handshake response after it, as MySQL does.
            return ConnectionClosed() if self._eof else NEED_DATA
        packet = self._take_packet()
        if packet is None:
            if self._eof:
                self.state = State.CLOSED
                return ConnectionClosed()
            return NEED_DATA
        _seq, payload = packet
        if self.state is State.HANDSHAKE:
            event = parse_handshake_response(payload)
            self._negotiate(event.capabilities)
            if event.collation:
                self.collation = event.collation
            if isinstance(event, SSLRequest):
                if self.tls_started or not self.server_capabilities & _SSL:
                    raise _bad_handshake()
                # TLS follows; the HandshakeResponse comes inside it, with the next sequence id.
                self.tls_started = True
                return event
            self.state = State.AUTH
            return event
        if self.state is State.AUTH:
            return AuthData(payload)
        if not payload:
            # An empty command packet is read as COM_SLEEP, which a server refuses.
            return Command(Com.COM_SLEEP, b"")
        if payload[0] == Com.COM_QUERY and self.query_attributes:
            return parse_query_with_attributes(payload)
        if payload[0] == Com.COM_CHANGE_USER:
            event = parse_change_user(payload, self.client_capabilities, self.collation)
            # A new login dialogue, on the salt of the greeting, continuing this exchange's ids.
            self.state = State.AUTH
            return event
        return Command(payload[0], payload[1:])

    # -- output --------------------------------------------------------------------------------------

    def greet(self, greeting: Greeting) -> bytes:
        """The HandshakeV10 packet; the first thing to send."""
        self.server_capabilities = int(greeting.capabilities)
        self.collation = greeting.collation
        self.status = int(greeting.status)
        return self._send(greeting, [make_greeting(greeting)])

    def send(self, reply: Reply, *, more_results: bool = False) -> bytes:
        """Bytes for one reply, framed with the right sequence ids.

        Args:
            reply: what to send.
            more_results: another result of the same multi-statement query follows
                (SERVER_MORE_RESULTS_EXISTS in this reply's status).

        Raises:
            RuntimeError: the reply does not fit the state (a programming error, never input).
        """
        self._more = _MORE_RESULTS if more_results else 0
        if isinstance(reply, ResultSet):
            payloads = self._result_set(reply)
        elif isinstance(reply, FieldList):
            payloads = [make_column(c, self.collation, True) for c in reply.columns]
            payloads.append(self._eof_payload())
        elif isinstance(reply, PrepareOk):
            payloads = self._prepare_ok(reply)
        else:
            payloads = [self._single(reply)]
        return self._send(reply, payloads)

    def _send(self, reply: Greeting | Reply, payloads: list[bytes]) -> bytes:
        start = self.state
        after = _TRANSITIONS.get((start, type(reply)))
        if after is None:
            raise RuntimeError(f"cannot send {type(reply).__name__} in state {start.name}")
        self.state = after
        framed = (
            self._frame(payloads[0])
            if len(payloads) == 1
            else b"".join([self._frame(payload) for payload in payloads])
        )
        wire = self._deflate(framed) if self._compressed else framed
        if start is State.AUTH and self.state is State.COMMAND and self.compress:
            # Both sides compress everything after the OK that ends authentication.
            self._compressed = True
            self._raw, self._buf = self._buf, bytearray()
        return wire

    def _deflate(self, data: bytes) -> bytes:
        if not self._compressed:
            return data
        out = bytearray()
        for i in range(0, max(len(data), 1), MAX_PAYLOAD):
            chunk = data[i : i + MAX_PAYLOAD]
            if len(chunk) < MIN_COMPRESS_LENGTH:
                body, plain = chunk, 0
            else:
                body, plain = zlib.compress(chunk), len(chunk)
            out += len(body).to_bytes(3, "little") + bytes((self._cseq,))
            out += plain.to_bytes(3, "little") + body
            self._cseq = (self._cseq + 1) & 0xFF
        return bytes(out)

    def _frame(self, payload: bytes) -> bytes:
        seq = self._seq
        if len(payload) < MAX_PAYLOAD:
            self._seq = (seq + 1) & 0xFF
            return _HEADER.pack(len(payload) | seq << 24) + payload
        out = bytearray()
        while True:
            chunk = payload[:MAX_PAYLOAD]
            payload = payload[MAX_PAYLOAD:]
            out += len(chunk).to_bytes(3, "little") + bytes((self._seq,)) + chunk
            self._seq = (self._seq + 1) & 0xFF
            if len(chunk) < MAX_PAYLOAD:
                return bytes(out)

    def fail(self, error: ProtocolError) -> bytes:
        """The ERR packet for a protocol error; the connection is then closed."""
        self.state = State.CLOSED
        return self._deflate(
            self._frame(self._single(Err(error.code, error.sqlstate, error.message)))
        )

    def _single(self, reply: Reply) -> bytes:
        if isinstance(reply, Ok):
            return self._ok_payload(reply, b"\x00")
        if isinstance(reply, Err):
            protocol_41 = not self.client_capabilities or self.protocol_41
            return make_err(reply.code, reply.sqlstate, reply.message, protocol_41)
        if isinstance(reply, Eof):
            return self._eof_payload(reply.warnings)
        if isinstance(reply, AuthSwitch):
            return b"\xfe" + reply.plugin.encode() + b"\0" + reply.data
        if isinstance(reply, AuthMoreData):
            return b"\x01" + reply.data
        if isinstance(reply, Text):
            return reply.data
        raise RuntimeError(f"unknown reply {reply!r}")  # pragma: no cover - exhaustive above

    def _ok_payload(self, ok: Ok, header: bytes) -> bytes:
        status = self.status | self._more
        if ok.session_state and self.session_track:
            status |= _SESSION_STATE_CHANGED
        out = b"".join(
            (
                header,  # 0x00 OK, or 0xFE when it ends a result set
                lenenc_int(ok.affected_rows),  # affected rows
                lenenc_int(ok.last_insert_id),  # last insert id
                int(status).to_bytes(2, "little"),  # status flags
                ok.warnings.to_bytes(2, "little"),  # warnings
            )
        )
        if self.session_track:
            if ok.info or (status & _SESSION_STATE_CHANGED):
                out += lenenc_str(ok.info)
            if status & _SESSION_STATE_CHANGED:
                out += lenenc_str(ok.session_state)
        else:
            out += ok.info
        return out

    def _eof_payload(self, warnings: int = 0) -> bytes:
        if self.deprecate_eof:
            return self._ok_payload(Ok(warnings=warnings), b"\xfe")
        status = self.status | self._more
        return b"\xfe" + warnings.to_bytes(2, "little") + status.to_bytes(2, "little")

    def _result_set(self, rs: ResultSet) -> list[bytes]:
        out = [lenenc_int(len(rs.columns))]
        if self.optional_metadata:
            out[0] += b"\x01"  # RESULTSET_METADATA_FULL: the column definitions follow
        out += [make_column(c, self.collation) for c in rs.columns]
        if not self.deprecate_eof:
            out.append(b"\xfe\0\0" + (self.status | self._more).to_bytes(2, "little"))
        if rs.binary:
            out += [_binary_row(rs.columns, row) for row in rs.rows]
        else:
            out += [
                b"".join(b"\xfb" if v is None else lenenc_str(v.encode("utf-8")) for v in row)
                for row in rs.rows
            ]
        out.append(self._eof_payload())
        return out

    def _prepare_ok(self, p: PrepareOk) -> list[bytes]:
        out = [
            b"\x00"
            + p.statement_id.to_bytes(4, "little")
            + len(p.columns).to_bytes(2, "little")
            + p.params.to_bytes(2, "little")
            + b"\x00\x00\x00"  # filler, warning count
        ]
        if p.params:
            out += [make_column(Column("?", FieldType.MYSQL_TYPE_LONGLONG), self.collation)] * (
                p.params
            )
            if not self.deprecate_eof:
                out.append(self._eof_payload())
        if p.columns:
            out += [make_column(c, self.collation) for c in p.columns]
            if not self.deprecate_eof:
                out.append(self._eof_payload())
        return out

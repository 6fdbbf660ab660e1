"""Wire constants of the MySQL client/server protocol: capability, status, command and field tables.

Names are the spec's (MySQL's ``include/mysql_com.h`` and ``field_types.h``), as in mysql-mimic's
``types.py``. The tables are ``IntFlag``/``IntEnum`` for reading and logging; the flags tested on
every packet also exist as plain ints (``CLIENT_PROTOCOL_41`` ...), because ``IntFlag`` arithmetic
builds an enum member per operation and that costs microseconds on the hot path. Each limit names
its source.
"""

from __future__ import annotations

import enum
from typing import Final


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


# What MySQL 8.0 advertises (0xdfffffff with TLS) minus what we do not implement: TLS (the adapter
# adds it when it offers TLS) and zstd compression (zlib compression is implemented).
SERVER_CAPABILITIES: Final = int(
    0xDFFFFFFF & ~Capability.CLIENT_SSL & ~Capability.CLIENT_ZSTD_COMPRESSION_ALGORITHM
)


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
    MYSQL_TYPE_DOUBLE = 0x05
    MYSQL_TYPE_NULL = 0x06
    MYSQL_TYPE_TIMESTAMP = 0x07
    MYSQL_TYPE_LONGLONG = 0x08
    MYSQL_TYPE_DATE = 0x0A
    MYSQL_TYPE_DATETIME = 0x0C
    MYSQL_TYPE_VARCHAR = 0x0F
    MYSQL_TYPE_JSON = 0xF5
    MYSQL_TYPE_NEWDECIMAL = 0xF6
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
    ENUM_FLAG = 256
    AUTO_INCREMENT_FLAG = 512
    NUM_FLAG = 32768


# Plain-int copies of the flags tested on every packet.
CLIENT_PROTOCOL_41: Final = int(Capability.CLIENT_PROTOCOL_41)
CLIENT_SSL: Final = int(Capability.CLIENT_SSL)
CLIENT_SECURE_CONNECTION: Final = int(Capability.CLIENT_SECURE_CONNECTION)
CLIENT_CONNECT_WITH_DB: Final = int(Capability.CLIENT_CONNECT_WITH_DB)
CLIENT_PLUGIN_AUTH: Final = int(Capability.CLIENT_PLUGIN_AUTH)
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: Final = int(Capability.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
CLIENT_CONNECT_ATTRS: Final = int(Capability.CLIENT_CONNECT_ATTRS)
CLIENT_DEPRECATE_EOF: Final = int(Capability.CLIENT_DEPRECATE_EOF)
CLIENT_SESSION_TRACK: Final = int(Capability.CLIENT_SESSION_TRACK)
CLIENT_QUERY_ATTRIBUTES: Final = int(Capability.CLIENT_QUERY_ATTRIBUTES)
CLIENT_OPTIONAL_RESULTSET_METADATA: Final = int(Capability.CLIENT_OPTIONAL_RESULTSET_METADATA)
CLIENT_COMPRESS: Final = int(Capability.CLIENT_COMPRESS)
CLIENT_MULTI_STATEMENTS: Final = int(Capability.CLIENT_MULTI_STATEMENTS)
SERVER_STATUS_AUTOCOMMIT: Final = int(Status.SERVER_STATUS_AUTOCOMMIT)
SERVER_STATUS_IN_TRANS: Final = int(Status.SERVER_STATUS_IN_TRANS)
SERVER_SESSION_STATE_CHANGED: Final = int(Status.SERVER_SESSION_STATE_CHANGED)
SERVER_MORE_RESULTS_EXISTS: Final = int(Status.SERVER_MORE_RESULTS_EXISTS)

# utf8mb4_0900_ai_ci, MySQL 8.0's default collation; 63 is binary.
COLLATION_UTF8MB4_0900_AI_CI: Final = 255
COLLATION_BINARY: Final = 63

# -- limits ----------------------------------------------------------------------------------------

# A packet whose length field is all ones continues in the next packet (the protocol's 3-byte
# length, "Sending More Than 16Mb" in the client/server protocol documentation).
MAX_PAYLOAD: Final = 0xFFFFFF
# MySQL's own default for max_allowed_packet is 64 MiB; a decoy needs far less.
DEFAULT_MAX_PACKET_SIZE: Final = 1 << 20
# Payloads shorter than this are sent uncompressed even when compression is on (MySQL's own
# MIN_COMPRESS_LENGTH).
MIN_COMPRESS_LENGTH: Final = 50
# USERNAME_CHAR_LENGTH (32, mysql_com.h) times the widest utf8mb4 character; longer names are not
# MySQL's.
MAX_USER_BYTES: Final = 128
# Connection and query attributes kept per packet; real clients send fewer than twenty.
MAX_ATTRS: Final = 128

# -- auth plugins: mysql_native_password and caching_sha2_password ---------------------------------

NATIVE: Final = "mysql_native_password"
CACHING_SHA2: Final = "caching_sha2_password"
# caching_sha2_password's one-byte messages, as the server and libmysqlclient define them.
REQUEST_PUBLIC_KEY: Final = b"\x02"
FAST_AUTH_SUCCESS: Final = b"\x03"
PERFORM_FULL_AUTHENTICATION: Final = b"\x04"

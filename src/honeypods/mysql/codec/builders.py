"""Builders for the server's packets: ``make_*`` functions from one reply to its payloads.

Rules this module keeps: builders return payloads (no header; ``Framer`` adds it); each line of a
packet carries its field name in a trailing comment, as mysql-mimic's ``make_handshake_v10`` does;
what the client negotiated (``Negotiated``: collation, EOF deprecation, session tracking, optional
metadata) and the server status come in as arguments, so the functions are pure and the fixed
parts can be cached.
"""

from __future__ import annotations

import functools
import struct
from typing import Final, Protocol

from honeypods.mysql.codec.constants import (
    COLLATION_BINARY,
    SERVER_SESSION_STATE_CHANGED,
    FieldType,
)
from honeypods.mysql.codec.packets import Column, Greeting, Ok, PrepareOk, ResultSet

_INTEGER_SIZES: Final[dict[int, int]] = {
    FieldType.MYSQL_TYPE_LONG: 4,
    FieldType.MYSQL_TYPE_LONGLONG: 8,
}
_TEMPORAL: Final = frozenset((FieldType.MYSQL_TYPE_DATE, FieldType.MYSQL_TYPE_DATETIME))
_PARAMETER: Final = Column("?", FieldType.MYSQL_TYPE_LONGLONG)


class Negotiated(Protocol):
    """What the handshake settled that shapes the server's packets (a ``Connection`` has it)."""

    collation: int
    deprecate_eof: bool
    session_track: bool
    optional_metadata: bool


def lenenc_int(n: int) -> bytes:
    """A length-encoded integer."""
    if n < 0xFB:
        return bytes((n,))
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def lenenc_str(data: bytes) -> bytes:
    """A length-encoded string."""
    return lenenc_int(len(data)) + data


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


def make_auth_switch(plugin: str, data: bytes) -> bytes:
    """AuthSwitchRequest payload."""
    return b"\xfe" + plugin.encode() + b"\0" + data  # header, plugin name, plugin data


def make_auth_more_data(data: bytes) -> bytes:
    """AuthMoreData payload."""
    return b"\x01" + data  # header, plugin data


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
    """ERR_Packet payload; clients before 4.1 get no SQLSTATE."""
    head = b"\xff" + code.to_bytes(2, "little")  # header, error code
    if protocol_41:
        head += b"#" + sqlstate.encode()[:5]  # SQLSTATE marker, SQLSTATE
    return head + message.encode("utf-8", "backslashreplace")  # error message


def make_ok(ok: Ok, status: int, n: Negotiated, header: bytes = b"\x00") -> bytes:
    """OK_Packet payload (header 0xFE when it ends a result set under CLIENT_DEPRECATE_EOF)."""
    session_track = n.session_track
    if ok.session_state and session_track:
        status |= SERVER_SESSION_STATE_CHANGED
    out = b"".join(
        (
            header,  # 0x00 OK, or 0xFE when it ends a result set
            lenenc_int(ok.affected_rows),  # affected rows
            lenenc_int(ok.last_insert_id),  # last insert id
            int(status).to_bytes(2, "little"),  # status flags
            ok.warnings.to_bytes(2, "little"),  # warnings
        )
    )
    if session_track:
        if ok.info or (status & SERVER_SESSION_STATE_CHANGED):
            out += lenenc_str(ok.info)  # info
        if status & SERVER_SESSION_STATE_CHANGED:
            out += lenenc_str(ok.session_state)  # session state changes
    else:
        out += ok.info  # info, to the end of the packet
    return out


def make_eof(warnings: int, status: int, n: Negotiated) -> bytes:
    """EOF_Packet payload, or the OK that replaces it under CLIENT_DEPRECATE_EOF."""
    if n.deprecate_eof:
        return make_ok(Ok(warnings=warnings), status, n, b"\xfe")
    # header, warnings, status flags
    return b"\xfe" + warnings.to_bytes(2, "little") + status.to_bytes(2, "little")


def make_result_set(rs: ResultSet, status: int, n: Negotiated) -> list[bytes]:
    """A text or binary result set: column count, definitions, [EOF], rows, end."""
    count = lenenc_int(len(rs.columns))
    if n.optional_metadata:
        count += b"\x01"  # RESULTSET_METADATA_FULL: the column definitions follow
    out = [count]
    collation = n.collation
    out += [make_column(c, collation) for c in rs.columns]
    if not n.deprecate_eof:
        out.append(b"\xfe\0\0" + status.to_bytes(2, "little"))  # EOF after the definitions
    if rs.binary:
        out += [make_binary_row(rs.columns, row) for row in rs.rows]
    else:
        out += [
            # Binary strings travel as str with their non-UTF-8 bytes as surrogates.
            b"".join(
                b"\xfb" if v is None else lenenc_str(v.encode("utf-8", "surrogateescape"))
                for v in row
            )
            for row in rs.rows
        ]
    out.append(make_eof(0, status, n))
    return out


def make_binary_row(columns: tuple[Column, ...], row: tuple[str | None, ...]) -> bytes:
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
        elif column.type == FieldType.MYSQL_TYPE_DOUBLE:
            values.append(struct.pack("<d", float(value)))
        elif column.type in _TEMPORAL:
            values.append(_binary_datetime(value))
        else:
            values.append(lenenc_str(value.encode("utf-8", "surrogateescape")))
    return b"\x00" + bytes(bitmap) + b"".join(values)


def _binary_datetime(value: str) -> bytes:
    """A DATE or DATETIME in the binary protocol: length, year (2), month, day[, h, m, s]."""
    date, _, time = value.partition(" ")
    year, month, day = (int(p) for p in date.split("-"))
    out = year.to_bytes(2, "little") + bytes((month, day))
    if time:
        out += bytes(int(p) for p in time.split(":"))
    return bytes((len(out),)) + out


def make_field_list(columns: tuple[Column, ...], status: int, n: Negotiated) -> list[bytes]:
    """COM_FIELD_LIST's answer: definitions with their defaults, then EOF."""
    out = [make_column(c, n.collation, True) for c in columns]
    out.append(make_eof(0, status, n))
    return out


def make_prepare_ok(p: PrepareOk, status: int, n: Negotiated) -> list[bytes]:
    """COM_STMT_PREPARE_OK, then the parameter and column definitions, each block with its EOF."""
    out = [
        b"\x00"  # status: OK
        + p.statement_id.to_bytes(4, "little")  # statement id
        + len(p.columns).to_bytes(2, "little")  # number of columns
        + p.params.to_bytes(2, "little")  # number of parameters
        + b"\x00\x00\x00"  # filler, warning count
    ]
    eof = None if n.deprecate_eof else make_eof(0, status, n)
    collation = n.collation
    if p.params:
        out += [make_column(_PARAMETER, collation)] * p.params
        if eof is not None:
            out.append(eof)
    if p.columns:
        out += [make_column(c, collation) for c in p.columns]
        if eof is not None:
            out.append(eof)
    return out

"""Parsers for the client's packets: ``parse_*`` functions from one payload to one event.

Rules this module keeps: each parser opens with the byte-offset table of its packet; each reads
through a ``Reader`` made with the error a real server answers that packet with (1043 for a
handshake, 1047 for a change-user, 1835 for a malformed command), so a short or inconsistent
payload raises exactly that ``ProtocolError``. Attacker text is decoded with ``backslashreplace``
and lists are capped (``MAX_ATTRS``, ``MAX_USER_BYTES``).
"""

from __future__ import annotations

import struct
from typing import Final

from honeypods.mysql.codec.constants import (
    CLIENT_CONNECT_ATTRS,
    CLIENT_CONNECT_WITH_DB,
    CLIENT_PLUGIN_AUTH,
    CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
    CLIENT_PROTOCOL_41,
    CLIENT_SECURE_CONNECTION,
    CLIENT_SSL,
    MAX_ATTRS,
    MAX_USER_BYTES,
    Com,
)
from honeypods.mysql.codec.framing import Reader
from honeypods.mysql.codec.packets import Command, HandshakeResponse, SSLRequest
from honeypods.mysql.errors import (
    ER_1043_BAD_HANDSHAKE,
    ER_1047_UNKNOWN_COMMAND,
    ER_1835_MALFORMED_PACKET,
    ProtocolError,
)

# HandshakeResponse41's fixed part: capabilities, max packet size, collation, 23 bytes of filler.
_HELLO_HEAD: Final = struct.Struct("<IIB23x")
# Binary value sizes by field type; types not listed are length-encoded strings, and the
# temporal types carry a one-byte length (the binary protocol, as COM_STMT_EXECUTE uses it).
_FIXED_SIZES: Final = {6: 0, 1: 1, 2: 2, 13: 2, 3: 4, 9: 4, 4: 4, 8: 8, 5: 8}
_TEMPORAL: Final = frozenset((7, 10, 11, 12))
_LENENC_TYPES: Final = frozenset((0, 15, 16, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255))


def _bad_handshake() -> ProtocolError:
    return ProtocolError(ER_1043_BAD_HANDSHAKE)


def _unknown_command() -> ProtocolError:
    return ProtocolError(ER_1047_UNKNOWN_COMMAND)


def _malformed() -> ProtocolError:
    return ProtocolError(ER_1835_MALFORMED_PACKET)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


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
    r = Reader(payload, _bad_handshake)
    if len(payload) < 4:
        raise r.error()
    caps = r.read_int(4)
    if not caps & CLIENT_PROTOCOL_41:
        raise ProtocolError(ER_1043_BAD_HANDSHAKE, _handshake_320(payload))
    if len(payload) < _HELLO_HEAD.size:
        raise r.error()
    _caps, max_packet, collation = _HELLO_HEAD.unpack_from(payload)
    r.pos = _HELLO_HEAD.size
    if r.remaining() == 0:
        if caps & CLIENT_SSL:
            return SSLRequest(caps, collation)
        raise r.error()
    user = r.read_null_str()
    if len(user) > MAX_USER_BYTES:
        raise r.error()
    if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
        auth = r.read_lenenc_str()
    elif caps & CLIENT_SECURE_CONNECTION:
        auth = r.read(r.read_int(1))
    else:
        auth = r.read_null_str()
    database = None
    if caps & CLIENT_CONNECT_WITH_DB and r.remaining():
        database = r.read_null_str()
    plugin, attrs = _read_plugin_and_attrs(r, caps)
    return HandshakeResponse(
        capabilities=caps,
        max_packet_size=max_packet,
        collation=collation,
        user=user,
        auth_response=auth,
        database=database,
        plugin=plugin,
        attrs=attrs,
    )


def _handshake_320(payload: bytes) -> HandshakeResponse | None:
    """What a pre-4.1 client's HandshakeResponse320 says, for the log; None if it is malformed.

    ====== ========================== ==============================================
    offset field                      notes
    ====== ========================== ==============================================
    0      capability flags (2)       without CLIENT_PROTOCOL_41
    2      max packet size (3)
    5      user (NUL-terminated)
    ...    auth response              NUL-terminated if CLIENT_CONNECT_WITH_DB, else to the end
    ...    database (NUL-terminated)  if CLIENT_CONNECT_WITH_DB
    ====== ========================== ==============================================
    """
    r = Reader(payload, _bad_handshake)
    try:
        caps = r.read_int(2)
        max_packet = r.read_int(3)
        user = r.read_null_str()
        if len(user) > MAX_USER_BYTES:
            return None
        database = None
        if caps & CLIENT_CONNECT_WITH_DB:
            auth = r.read_null_str()
            database = r.read_null_str() if r.remaining() else None
        else:
            auth = r.read(r.remaining())
    except ProtocolError:
        return None
    return HandshakeResponse(caps, max_packet, 0, user, auth, database, "mysql_old_password")


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
    r = Reader(payload, _unknown_command)
    r.read(1)
    user = r.read_null_str()
    if len(user) > MAX_USER_BYTES:
        raise r.error()
    auth = r.read(r.read_int(1)) if caps & CLIENT_SECURE_CONNECTION else r.read_null_str()
    database = r.read_null_str()
    if r.remaining() >= 2:
        collation = r.read_int(2) & 0xFF or collation
    plugin, attrs = _read_plugin_and_attrs(r, caps)
    return HandshakeResponse(
        capabilities=caps,
        max_packet_size=0,
        collation=collation,
        user=user,
        auth_response=auth,
        database=database or None,
        plugin=plugin,
        attrs=attrs,
        change_user=True,
    )


def _read_plugin_and_attrs(r: Reader, caps: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    # The tail both login packets share: the plugin name, then the connection attributes.
    plugin = b""
    if caps & CLIENT_PLUGIN_AUTH and r.remaining():
        # Some clients end the name at the end of the packet instead of with a NUL.
        end = r.data.find(b"\0", r.pos)
        plugin = r.read_null_str() if end >= 0 else r.read_rest()
    attrs: list[tuple[str, str]] = []
    if caps & CLIENT_CONNECT_ATTRS and r.remaining():
        block = Reader(r.read_lenenc_str(), r.error)
        while block.remaining():
            key = block.read_lenenc_str()
            value = block.read_lenenc_str()
            if len(attrs) < MAX_ATTRS:
                attrs.append((_text(key), _text(value)))
    return _text(plugin), tuple(attrs)


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
    r = Reader(payload, _malformed)
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

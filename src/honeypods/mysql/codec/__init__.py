"""Sans-IO codec for the server side of the MySQL client/server protocol.

No sockets, no asyncio, no clock, no logging, nothing of ``honeypods.core``: only the standard
library and ``mysql.errors`` (h11's rule). The one exception it raises is ``ProtocolError``.

Modules, in the order a packet meets them:

* ``framing``: headers, sequence ids, the size limit, compression; ``Reader`` for payloads.
* ``parsers``: the client's packets into events (``parse_*``).
* ``connection``: ``Connection`` and its ``State`` machine, the API the adapter uses.
* ``builders``: replies into the server's packets (``make_*``).
* ``packets``: the events and replies; ``constants``: the spec's flag and command tables.
"""

from honeypods.mysql.codec.connection import Connection, State
from honeypods.mysql.codec.constants import (
    SERVER_CAPABILITIES,
    Capability,
    Com,
    FieldFlag,
    FieldType,
    Status,
)
from honeypods.mysql.codec.packets import (
    NEED_DATA,
    AuthData,
    AuthMoreData,
    AuthSwitch,
    Column,
    Command,
    ConnectionClosed,
    Eof,
    Event,
    FieldList,
    Greeting,
    HandshakeResponse,
    NeedData,
    Ok,
    PrepareOk,
    Reply,
    ResultSet,
    SSLRequest,
    Text,
)
from honeypods.mysql.errors import Err, LocalProtocolError, ProtocolError

__all__ = [
    "NEED_DATA",
    "SERVER_CAPABILITIES",
    "AuthData",
    "AuthMoreData",
    "AuthSwitch",
    "Capability",
    "Column",
    "Com",
    "Command",
    "Connection",
    "ConnectionClosed",
    "Eof",
    "Err",
    "Event",
    "FieldFlag",
    "FieldList",
    "FieldType",
    "Greeting",
    "HandshakeResponse",
    "LocalProtocolError",
    "NeedData",
    "Ok",
    "PrepareOk",
    "ProtocolError",
    "Reply",
    "ResultSet",
    "SSLRequest",
    "State",
    "Status",
    "Text",
]

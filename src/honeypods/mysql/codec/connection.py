"""The server side of one MySQL connection, sans-IO: bytes in, events out; replies in, bytes out.

The API follows h11 and wsproto:

* ``Connection.greet(greeting)`` returns the HandshakeV10 bytes to send first.
* ``receive_data(data)`` buffers what the peer sent; ``b""`` means the peer closed (EOF).
* ``next_event()`` returns one event (``HandshakeResponse``, ``SSLRequest``, ``AuthData``,
  ``Command``, ``ConnectionClosed``) or ``NEED_DATA``.
* ``send(reply)`` turns one reply (``AuthSwitch``, ``AuthMoreData``, ``Ok``, ``Err``,
  ``ResultSet``, ``FieldList``, ``Eof``, ``Text``, ``PrepareOk``) into the packets to write.

States and their rules (``State``; the replies' moves are one table, ``_TRANSITIONS``):

* Rule 1. ``GREETING -> HANDSHAKE`` when the greeting is sent. In ``HANDSHAKE`` the next packet is
  parsed as a HandshakeResponse41, then the state is ``AUTH``. An SSLRequest (only if the greeting
  offered CLIENT_SSL, and only once) keeps ``HANDSHAKE``: the adapter runs TLS and feeds the
  decrypted bytes back, and ``take_buffered()`` hands it what arrived after the request.
* Rule 2. In ``AUTH`` every client packet is opaque ``AuthData`` for the auth plugin; the server
  answers with ``AuthSwitch``/``AuthMoreData`` (stay), ``Ok`` (to ``COMMAND``) or ``Err`` (to
  ``CLOSED``). What the dialogue means is the auth policy's (``mysql.auth``), not the codec's.
* Rule 3. In ``COMMAND`` every packet is a ``Command`` with sequence id 0; replies keep the state.
  A COM_CHANGE_USER is a ``HandshakeResponse`` and goes back to ``AUTH``.
* Rule 4. Sequence ids are checked: a wrong one is ``ProtocolError`` 1156, as a real server says.
* Rule 5. Any malformed input raises ``ProtocolError`` carrying the error a real server would
  answer with, and nothing else ever escapes (the framing and parsers keep this). A reply that
  does not fit the state raises ``LocalProtocolError``: a bug in the caller, never input.

zlib compression is the codec's (it frames bytes); TLS is the adapter's. No sockets, no asyncio,
no clock, no logging.
"""

from __future__ import annotations

import enum
from typing import Final

from honeypods.mysql.codec.builders import (
    make_auth_more_data,
    make_auth_switch,
    make_eof,
    make_err,
    make_field_list,
    make_greeting,
    make_ok,
    make_prepare_ok,
    make_result_set,
)
from honeypods.mysql.codec.constants import (
    CLIENT_COMPRESS,
    CLIENT_DEPRECATE_EOF,
    CLIENT_OPTIONAL_RESULTSET_METADATA,
    CLIENT_PROTOCOL_41,
    CLIENT_QUERY_ATTRIBUTES,
    CLIENT_SESSION_TRACK,
    CLIENT_SSL,
    COLLATION_UTF8MB4_0900_AI_CI,
    DEFAULT_MAX_PACKET_SIZE,
    SERVER_CAPABILITIES,
    SERVER_MORE_RESULTS_EXISTS,
    SERVER_STATUS_AUTOCOMMIT,
    Com,
)
from honeypods.mysql.codec.framing import Framer
from honeypods.mysql.codec.packets import (
    NEED_DATA,
    AuthData,
    AuthMoreData,
    AuthSwitch,
    Command,
    ConnectionClosed,
    Eof,
    Event,
    FieldList,
    Greeting,
    NeedData,
    Ok,
    PrepareOk,
    Reply,
    ResultSet,
    SSLRequest,
    Text,
)
from honeypods.mysql.codec.parsers import (
    parse_change_user,
    parse_handshake_response,
    parse_query_with_attributes,
)
from honeypods.mysql.errors import ER_1043_BAD_HANDSHAKE, Err, LocalProtocolError, ProtocolError


class State(enum.Enum):
    GREETING = "greeting"  # nothing sent yet
    HANDSHAKE = "handshake"  # greeting sent, waiting for the HandshakeResponse
    AUTH = "auth"  # response received; the auth plugin's dialogue runs
    COMMAND = "command"  # logged in
    CLOSED = "closed"  # refused, quit or EOF

    # Members are singletons compared by identity; Enum's own __hash__ runs in Python on every
    # transition-table lookup.
    __hash__ = object.__hash__


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


class Connection:
    """Server side of one MySQL connection.

    Args:
        max_packet_size: largest payload (continuations included) accepted from the client.
    """

    def __init__(self, *, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        self.state = State.GREETING
        self._framer = Framer(max_packet_size)
        self.server_capabilities = SERVER_CAPABILITIES
        self.client_capabilities = 0
        self.deprecate_eof = self.session_track = self.query_attributes = False
        self.optional_metadata = self.compress = self.protocol_41 = False
        self.collation = COLLATION_UTF8MB4_0900_AI_CI
        # Server status flags sent in OK and EOF packets; the adapter flips autocommit etc.
        self.status = SERVER_STATUS_AUTOCOMMIT
        self.tls_started = False

    @property
    def max_packet_size(self) -> int:
        return self._framer.max_packet_size

    @max_packet_size.setter
    def max_packet_size(self, value: int) -> None:
        self._framer.max_packet_size = value

    def _negotiate(self, client: int) -> None:
        # Worked out once per connection; the packet paths read these booleans.
        self.client_capabilities = client
        both = self.server_capabilities & client
        self.deprecate_eof = bool(both & CLIENT_DEPRECATE_EOF)
        self.session_track = bool(both & CLIENT_SESSION_TRACK)
        self.query_attributes = bool(both & CLIENT_QUERY_ATTRIBUTES)
        self.optional_metadata = bool(both & CLIENT_OPTIONAL_RESULTSET_METADATA)
        self.compress = bool(both & CLIENT_COMPRESS)
        self.protocol_41 = bool(client & CLIENT_PROTOCOL_41)

    # -- input ---------------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` marks the end of input."""
        self._framer.receive(data)

    def take_buffered(self) -> bytes:
        """Bytes received but not parsed: after an SSLRequest, the start of the TLS handshake."""
        return self._framer.take_buffered()

    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA``.

        Raises:
            ProtocolError: the input is malformed; send ``fail(error)``, then close.
        """
        state = self.state
        if state is State.CLOSED:
            return ConnectionClosed()
        if state is State.GREETING:
            # Bytes before the greeting are read as the handshake response after it, as MySQL does.
            return ConnectionClosed() if self._framer.eof else NEED_DATA
        # Each command starts a new exchange at 0; inside the handshake the count carries on.
        payload = self._framer.take(state is State.COMMAND)
        if payload is None:
            if self._framer.eof:
                self.state = State.CLOSED
                return ConnectionClosed()
            return NEED_DATA
        if state is State.COMMAND:
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
        if state is State.AUTH:
            return AuthData(payload)
        hello = parse_handshake_response(payload)
        self._negotiate(hello.capabilities)
        if hello.collation:
            self.collation = hello.collation
        if isinstance(hello, SSLRequest):
            if self.tls_started or not self.server_capabilities & CLIENT_SSL:
                raise ProtocolError(ER_1043_BAD_HANDSHAKE)
            # TLS follows; the HandshakeResponse comes inside it, with the next sequence id.
            self.tls_started = True
            return hello
        self.state = State.AUTH
        return hello

    # -- output --------------------------------------------------------------------------------------

    def greet(self, greeting: Greeting) -> bytes:
        """The HandshakeV10 packet; the first thing to send."""
        self._advance(greeting)
        self.server_capabilities = int(greeting.capabilities)
        self.collation = greeting.collation
        self.status = int(greeting.status)
        return self._framer.write([make_greeting(greeting)])

    def send(self, reply: Reply, *, more_results: bool = False) -> bytes:
        """Bytes for one reply, framed with the right sequence ids.

        Args:
            reply: what to send.
            more_results: another result of the same multi-statement query follows
                (SERVER_MORE_RESULTS_EXISTS in this reply's status).

        Raises:
            LocalProtocolError: the reply does not fit the state (a programming error, never
                input; it is a RuntimeError too).
        """
        start = self._advance(reply)
        status = self.status | SERVER_MORE_RESULTS_EXISTS if more_results else self.status
        if isinstance(reply, ResultSet):
            payloads = make_result_set(reply, status, self)
        elif isinstance(reply, FieldList):
            payloads = make_field_list(reply.columns, status, self)
        elif isinstance(reply, PrepareOk):
            payloads = make_prepare_ok(reply, status, self)
        else:
            payloads = [self._single(reply, status)]
        wire = self._framer.write(payloads)
        if start is State.AUTH and self.state is State.COMMAND and self.compress:
            # Both sides compress everything after the OK that ends authentication.
            self._framer.start_compression()
        return wire

    def fail(self, error: ProtocolError) -> bytes:
        """The ERR packet for a protocol error; the connection is then closed."""
        self.state = State.CLOSED
        return self._framer.write([self._err(error.reply)])

    def _advance(self, reply: Greeting | Reply) -> State:
        # The state before the move; the table says where the reply leads.
        start = self.state
        after = _TRANSITIONS.get((start, type(reply)))
        if after is None:
            raise LocalProtocolError(f"cannot send {type(reply).__name__} in state {start.name}")
        self.state = after
        return start

    def _single(self, reply: Reply, status: int) -> bytes:
        if isinstance(reply, Ok):
            return make_ok(reply, status, self)
        if isinstance(reply, Err):
            return self._err(reply)
        if isinstance(reply, Eof):
            return make_eof(reply.warnings, status, self)
        if isinstance(reply, AuthSwitch):
            return make_auth_switch(reply.plugin, reply.data)
        if isinstance(reply, AuthMoreData):
            return make_auth_more_data(reply.data)
        if isinstance(reply, Text):
            return reply.data
        raise LocalProtocolError(f"unknown reply {reply!r}")  # pragma: no cover - exhaustive

    def _err(self, err: Err) -> bytes:
        # Before the handshake response nothing is negotiated: answer as a 4.1 server.
        protocol_41 = not self.client_capabilities or self.protocol_41
        return make_err(err.code, err.sqlstate, err.message, protocol_41)
